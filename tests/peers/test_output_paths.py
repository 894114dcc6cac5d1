"""bench/peers/run_peers.py must never replace an earlier run's results (a second run on one day wrote
over the first one's JSON and plot once). Checks output_paths: <date>, then <date>-2, <date>-3, ...,
and that a name is taken when either of its two files exists."""
import os
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
try:
    import run_peers  # noqa: E402  (needs numpy)
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)


def touch(path):
    with open(path, "w") as f:
        f.write("x")


def main():
    with tempfile.TemporaryDirectory() as d:
        tag, j, p = run_peers.output_paths(d, "2026-11-27")
        assert (tag, os.path.basename(j), os.path.basename(p)) == (
            "2026-11-27", "results-2026-11-27.json", "latency-2026-11-27.png"), (tag, j, p)
        touch(j)
        tag2, j2, p2 = run_peers.output_paths(d, "2026-11-27")
        assert tag2 == "2026-11-27-2" and j2.endswith("results-2026-11-27-2.json") and p2.endswith("latency-2026-11-27-2.png")
        touch(p2)  # only the plot of run 2 exists: the name is still taken
        tag3, _, _ = run_peers.output_paths(d, "2026-11-27")
        assert tag3 == "2026-11-27-3", tag3
        assert run_peers.output_paths(d, "2026-11-28")[0] == "2026-11-28"
        assert sorted(os.listdir(d)) == ["latency-2026-11-27-2.png", "results-2026-11-27.json"]  # nothing written
    print("passed")


if __name__ == "__main__":
    main()
