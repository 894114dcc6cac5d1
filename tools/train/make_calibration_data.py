"""Router calibration data (for `triage calibrate` / `triage eval`), generated offline, never committed.

  python3 tools/train/make_calibration_data.py adc [--out DIR] [--n 6400] [--seed 401] [--workers 1]
  python3 tools/train/make_calibration_data.py adc-test [--out DIR] [--n 1000]
  python3 tools/train/make_calibration_data.py awc [--out DIR]
  python3 tools/train/make_calibration_data.py pcb [--out DIR]
  python3 tools/train/make_calibration_data.py optical [--out DIR]

adc: a held-out SEM calibration set from the generator (synth_sem.py), target domain (the tool the
  shipped adc-sem model is fine-tuned for), seed 401: no training, validation or test stream uses it
  (train 101/102/201/202, test 301/302). The class mix is fixed, not sampled: every block of 8 images
  is 2 good + one of each of the 6 defect classes (25% good, 75% defective), because the escape bound
  needs many defective images while the over-reject and escalation rates need some good ones. Images
  alternate 16-bit (even index) and 8-bit (odd) PNG, like models/adc-sem/samples. Writes DIR/*.png and
  DIR/labels.csv (path,label,hard). Resumable: existing PNGs are kept (an image depends only on
  (seed, index, label)); labels.csv is written last, atomically.
adc default DIR: tools/train/runs/calib/adc-sem (git-ignored).

adc-test: the first --n (default 1000) images of the held-out test stream test_tgt (seed 301, target
  domain, 85% good / 15% defective: the mix the router targets are stated for) as PNGs (16-bit even,
  8-bit odd) + labels.csv, from tools/train/runs/sem/test_tgt_*.npy; for `triage eval`, never for
  calibration. Default DIR: tools/train/runs/calib/adc-sem-test.

awc: calib.csv (the calibration lots) and val.csv (the validation lots) of the 3-way lot split of
  train_awc_staged.split3 over /work/shared/data/wm811k, paths relative to the CSVs. Neither set was
  trained on; the calibration lots were not even monitored; models/awc-wm811k/samples come from val.
awc default DIR: tools/train/runs/calib/awc-wm811k.

pcb: calib.csv and val.csv over the DeepPCB sites of data_deeppcb.split_by_pair (by board image).
pcb default DIR: tools/train/runs/calib/adc-pcb.
optical: calib.csv and val.csv over the optical images of data_optical.split (by defect_id); default DIR
tools/train/runs/calib/adc-optical.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import png  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BLOCK = ["good", "good", "particle", "bridge", "open", "scratch", "residue", "missing_contact"]


def write_text_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def adc_name(seed: int, i: int) -> str:
    return f"cal{seed}_{i:05d}_{'u16' if i % 2 == 0 else 'u8'}.png"


def adc_render(args):
    """Renders image i (if its PNG is not there yet); returns (name, label, hard)."""
    import synth_sem as G
    seed, i, out = args
    label = BLOCK[i % len(BLOCK)]
    name = adc_name(seed, i)
    path = os.path.join(out, name)
    img16, meta = G._render_one(seed, i, label, "target")  # noqa: SLF001 (the generator's per-image entry)
    if not os.path.exists(path):
        img = img16 if i % 2 == 0 else G.to_u8(img16)
        tmp = path + ".tmp"
        png.write(tmp, img)
        os.replace(tmp, path)
    return name, label, int(meta["hard"])


def adc(out: str, n: int, seed: int, workers: int) -> None:
    if seed in (101, 102, 201, 202, 301, 302):
        sys.exit(f"seed {seed} is a training/test stream; calibration needs a held-out seed")
    os.makedirs(out, exist_ok=True)
    jobs = [(seed, i, out) for i in range(n)]
    t0 = time.time()
    rows = []
    if workers > 1:
        from multiprocessing import Pool
        with Pool(workers) as pool:
            it = pool.imap(adc_render, jobs, chunksize=16)
            for k, r in enumerate(it):
                rows.append(r)
                if (k + 1) % 200 == 0:
                    print(f"{k + 1}/{n} ({(k + 1) / (time.time() - t0):.1f} img/s)", flush=True)
    else:
        for k, job in enumerate(jobs):
            rows.append(adc_render(job))
            if (k + 1) % 200 == 0:
                print(f"{k + 1}/{n} ({(k + 1) / (time.time() - t0):.1f} img/s)", flush=True)
    text = "path,label,hard\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    write_text_atomic(os.path.join(out, "labels.csv"), text)
    good = sum(r[1] == "good" for r in rows)
    print(f"{n} images ({good} good, {n - good} defective) in {time.time() - t0:.0f}s -> {out}/labels.csv")


def adc_test(out: str, n: int) -> None:
    import numpy as np
    import synth_sem as G
    data = os.path.join(ROOT, "tools", "train", "runs", "sem")
    x = np.load(os.path.join(data, "test_tgt_x.npy"), mmap_mode="r")[:n]
    y = np.load(os.path.join(data, "test_tgt_y.npy"))[:n]
    os.makedirs(out, exist_ok=True)
    rows = []
    for i in range(len(y)):
        name = f"test301_{i:05d}_{'u16' if i % 2 == 0 else 'u8'}.png"
        img = np.asarray(x[i]) if i % 2 == 0 else G.to_u8(np.asarray(x[i]))
        tmp = os.path.join(out, name + ".tmp")
        png.write(tmp, img)
        os.replace(tmp, os.path.join(out, name))
        rows.append(f"{name},{G.LABELS[int(y[i])]}\n")
    write_text_atomic(os.path.join(out, "labels.csv"), "path,label\n" + "".join(rows))
    print(f"{len(y)} images ({int((y == 0).sum())} good) -> {out}/labels.csv")


def write_split_csvs(out: str, splits, data_dir: str, good: str, group: str, noun: str) -> None:
    """splits: (file name, rows) pairs; each CSV gets path (relative to out), label and the group column."""
    os.makedirs(out, exist_ok=True)
    for name, rows in splits:
        rows = sorted(rows, key=lambda r: r["path"])
        lines = [f"path,label,{group}"]
        for r in rows:
            rel = os.path.relpath(os.path.join(data_dir, r["path"]), out)
            if "," in rel or '"' in rel:
                sys.exit(f"unexpected character in path {rel!r}")
            lines.append(f"{rel},{r['label']},{r[group]}")
        write_text_atomic(os.path.join(out, name), "\n".join(lines) + "\n")
        mix = ""
        if good is not None:
            bad = sum(r["label"] != good for r in rows)
            mix = f" ({bad} defective, {len(rows) - bad} {good})"
        print(f"{name}: {len(rows)} {noun}{mix} from {len({r[group] for r in rows})} {group}s -> {out}/{name}")


def awc(out: str) -> None:
    """Two CSVs from the 3-way lot split of train_awc_staged.split3: calib.csv (the calibration lots,
    never trained on nor monitored: what `triage calibrate` reads) and val.csv (the validation lots:
    what `triage eval` reports on)."""
    import data_wm811k as W
    from train_awc_staged import split3
    _, calib, val = split3(W.load_index())
    write_split_csvs(out, (("calib.csv", calib), ("val.csv", val)), W.DATA_DIR, W.GOOD, "lot", "maps")


def pcb(out: str) -> None:
    """calib.csv and val.csv over the DeepPCB sites of data_deeppcb.split_by_pair (board images never
    trained on; the calibration boards not even monitored)."""
    import data_deeppcb as D
    _, calib, val = D.split_by_pair(D.load_index())
    write_split_csvs(out, (("calib.csv", calib), ("val.csv", val)), D.DATA_DIR, D.GOOD, "pair", "sites")


def optical(out: str) -> None:
    """calib.csv and val.csv over the optical review images of data_optical.split (by defect_id: every
    view of one defect on one side). No good class: every image is a defect."""
    import data_optical as O
    _, calib, val = O.split(O.load_index())
    write_split_csvs(out, (("calib.csv", calib), ("val.csv", val)), O.DATA_DIR, None, "defect_id", "images")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", choices=["adc", "adc-test", "awc", "pcb", "optical"])
    ap.add_argument("--out", default=None)
    ap.add_argument("--n", type=int, default=6400, help="adc: images (multiple of 8 keeps the mix exact); adc-test: "
                    "images of the test stream (at most 2000)")
    ap.add_argument("--seed", type=int, default=401)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    if a.which == "adc":
        adc(a.out or os.path.join(ROOT, "tools/train/runs/calib/adc-sem"), a.n, a.seed, a.workers)
    elif a.which == "adc-test":
        adc_test(a.out or os.path.join(ROOT, "tools/train/runs/calib/adc-sem-test"), min(a.n, 2000))
    elif a.which == "pcb":
        pcb(a.out or os.path.join(ROOT, "tools/train/runs/calib/adc-pcb"))
    elif a.which == "optical":
        optical(a.out or os.path.join(ROOT, "tools/train/runs/calib/adc-optical"))
    else:
        awc(a.out or os.path.join(ROOT, "tools/train/runs/calib/awc-wm811k"))


if __name__ == "__main__":
    main()
