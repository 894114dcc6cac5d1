#!/usr/bin/env python3
"""Load test: one triage model served by Triton (HTTP and gRPC, loopback) against the same model called
directly through the Python package (triage.Model.classify, i.e. the C API) in the same run. For each
concurrency level (default 1, 4, 16) and each way, sends up to --requests single-image requests from that
many client threads (stopping early at --time-cap seconds) and prints a markdown table: throughput,
p50 / p99 latency. docs/serving-triton.md.

    bench/serve/load_test.py [MODEL.trw] [SAMPLES_DIR] [--requests N] [--time-cap S]
                             [--concurrency 1,4,16] [--threads N] [--max-batch N] [--instances N]
                             [--max-queue-delay-us N] [--ways direct,http,grpc]
                             [--server HOST:HTTP_PORT:GRPC_PORT --name NAME]

Defaults: build/models/adc-pcb.trw and models/adc-pcb/samples. Without --server it writes a model
repository (tools/triton/triton_repo.py) in a temp dir, starts tools/serve-triton.sh on free loopback
ports and stops it at the end; with --server it uses that running server's model NAME.

Every way does the same work per request: decode the encoded file (PNG/JPEG/NPY...) and classify one
image. A request's latency is measured in the client thread, around the call: for Triton it includes the
client library, the loopback transport, the dynamic batcher's queue and the Python backend; for `direct`
the queueing on the Model (its calls are serialised, as with one Triton instance).
"""
import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import triage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def sample_files(folder):
    exts = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pgm", ".npy", ".sinf", ".xml")
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(exts))
    if not files:
        sys.exit(f"load_test: no image in {folder}")
    return files


def percentile(sorted_values, q):
    """Nearest-rank percentile (q in [0, 100]) of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(np.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def run_level(make_call, payloads, concurrency, requests, time_cap):
    """`concurrency` threads, each with its own call = make_call(), send requests i = 0, 1, ... (payload
    i % len) until `requests` are sent or `time_cap` seconds passed. Returns (latencies_s, wall_s, errors)."""
    lock = threading.Lock()
    state = {"next": 0, "errors": 0, "first_error": None}
    latencies = []
    start_barrier = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker():
        call = make_call()
        start_barrier.wait()
        mine = []
        while True:
            with lock:
                i = state["next"]
                if i >= requests or time.perf_counter() >= deadline[0]:
                    break
                state["next"] += 1
            t0 = time.perf_counter()
            try:
                call(payloads[i % len(payloads)])
            except Exception as e:  # counted and reported, not timed
                with lock:
                    state["errors"] += 1
                    state["first_error"] = state["first_error"] or repr(e)
                continue
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    deadline[0] = t0 + time_cap
    start_barrier.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if state["first_error"]:
        print(f"load_test: {state['errors']} errors, first: {state['first_error']}", file=sys.stderr)
    return sorted(latencies), wall, state["errors"]


def start_server(args, repo, work):
    http_port, grpc_port = free_ports(2)
    log = open(os.path.join(work, "server.log"), "w")
    proc = subprocess.Popen([os.path.join(ROOT, "tools", "serve-triton.sh"), repo, "--http-port", str(http_port),
                             "--grpc-port", str(grpc_port), "--python", sys.executable],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        with open(log.name) as f:
            if any(line.startswith("serve-triton: ready") for line in f):
                return proc, http_port, grpc_port
        time.sleep(0.2)
    stop_server(proc)
    with open(log.name) as f:
        sys.exit("load_test: the server did not become ready:\n" + "".join(f.readlines()[-40:]))


def stop_server(proc):
    if proc.poll() is None:
        proc.terminate()  # serve-triton.sh stops tritonserver and removes its work dir
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, "build", "models", "adc-pcb.trw"))
    ap.add_argument("samples", nargs="?", default=os.path.join(ROOT, "models", "adc-pcb", "samples"))
    ap.add_argument("--requests", type=int, default=2000, help="requests per way and level (default 2000)")
    ap.add_argument("--time-cap", type=float, default=15.0, help="seconds per way and level at most (default 15)")
    ap.add_argument("--concurrency", default="1,4,16", help="client threads per level (default 1,4,16)")
    ap.add_argument("--ways", default="direct,http,grpc")
    ap.add_argument("--threads", type=int, default=1, help="engine threads (direct and per Triton instance)")
    ap.add_argument("--max-batch", type=int, default=8, help="Triton max_batch_size and the engine's max_batch")
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--max-queue-delay-us", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=10, help="untimed requests per way first (default 10)")
    ap.add_argument("--server", help="HOST:HTTP_PORT:GRPC_PORT of a running server (with --name)")
    ap.add_argument("--name", help="the model's name on --server (default: the .trw's name)")
    args = ap.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    ways = args.ways.split(",")
    if any(c < 1 for c in levels) or args.requests < 1 or args.time_cap <= 0:
        sys.exit("load_test: --concurrency, --requests and --time-cap must be positive")
    if set(ways) - {"direct", "http", "grpc"}:
        sys.exit("load_test: --ways takes direct, http, grpc")

    files = sample_files(args.samples)
    payloads = []
    for path in files:
        with open(path, "rb") as f:
            payloads.append(f.read())
    name = args.name or os.path.basename(args.model).removesuffix(".trw")
    model = triage.Model(args.model, threads=args.threads, max_batch=args.max_batch)
    channels = model.in_channels

    def direct():
        return lambda data: model.classify(triage.decode_image(data, channels=channels))

    proc, work = None, None
    try:
        if {"http", "grpc"} & set(ways):
            import tritonclient.grpc as tgrpc
            import tritonclient.http as thttp
            if args.server:
                host, http_port, grpc_port = args.server.rsplit(":", 2)
            else:
                work = tempfile.mkdtemp(prefix="triage-load-test.")
                repo = os.path.join(work, "repo")
                subprocess.run([sys.executable, os.path.join(ROOT, "tools", "triton", "triton_repo.py"), args.model,
                                repo, "--name", name, "--threads", str(args.threads), "--max-batch",
                                str(args.max_batch), "--instances", str(args.instances), "--max-queue-delay-us",
                                str(args.max_queue_delay_us)], check=True, stdout=subprocess.DEVNULL)
                proc, http_port, grpc_port = start_server(args, repo, work)
                host = "127.0.0.1"

            def triton(mod, url):
                def make():
                    client = mod.InferenceServerClient(url)

                    def call(data):
                        tensor = mod.InferInput("IMAGE", [1, 1], "BYTES")
                        tensor.set_data_from_numpy(np.array([[data]], dtype=np.object_))
                        result = client.infer(name, [tensor])
                        result.as_numpy("CLASS_INDEX")  # the answer arrived and parses
                    return call
                return make

            http = triton(thttp, f"{host}:{http_port}")
            grpc = triton(tgrpc, f"{host}:{grpc_port}")
        makers = {"direct": direct}
        if "http" in ways:
            makers["http"] = http
        if "grpc" in ways:
            makers["grpc"] = grpc

        rows = []
        for way in ways:
            run_level(makers[way], payloads, 1, args.warmup, args.time_cap)  # warm-up, untimed
            for c in levels:
                lat, wall, errors = run_level(makers[way], payloads, c, args.requests, args.time_cap)
                rows.append((way, c, len(lat), errors, len(lat) / wall if wall > 0 else 0.0,
                             percentile(lat, 50) * 1e3, percentile(lat, 99) * 1e3, wall))
    finally:
        if proc is not None:
            stop_server(proc)
        if work is not None:
            subprocess.run(["rm", "-rf", work])

    info = model.info
    served = (f"Triton: the server at {args.server}" if args.server else
              f"Triton: {args.instances} instance(s), dynamic batching, queue delay {args.max_queue_delay_us} us")
    print(f"\nModel `{name}` ({info['weight_dtype']}, isa {info['isa']}, engine threads {args.threads}, "
          f"max_batch {args.max_batch}; {served}), {len(files)} sample files cycled, IMAGE = encoded file bytes. "
          f"{cpu_name()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
          f"triage {triage.version()}. Up to {args.requests} requests per row, {args.time_cap:g} s cap.\n")
    print("| way | concurrency | requests | errors | throughput (img/s) | p50 (ms) | p99 (ms) | wall (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for way, c, n, errors, tput, p50, p99, wall in rows:
        label = {"direct": "direct (triage.Model.classify)", "http": "Triton HTTP", "grpc": "Triton gRPC"}[way]
        print(f"| {label} | {c} | {n} | {errors} | {tput:.1f} | {p50:.2f} | {p99:.2f} | {wall:.2f} |")
    return 1 if any(r[3] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
