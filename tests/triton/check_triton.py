#!/usr/bin/env python3
"""Classifies every shipped sample through a running Triton server (tools/serve-triton.sh) over HTTP and
gRPC, as encoded file bytes (IMAGE) and as raw pixels (PIXELS_U8/U16), and checks each result equals
`triage run MODEL.trw SAMPLES --json` exactly: class, confidence, route, review and every probability
(the engine is deterministic, also across batch sizes and thread counts). Requests are sent concurrently
so that the dynamic batcher really forms batches of several images. Also checks that malformed requests
get an error response and leave the server healthy. Used by tests/triton/test_triton.sh.

    check_triton.py --http-port P --grpc-port Q --cli build/triage NAME=MODEL.trw=SAMPLES_DIR...

Exit status 0 when every result is identical and every error check holds; prints one summary line.
"""
import argparse
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import triage
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp

OUTPUTS = ("CLASS_INDEX", "CLASS_NAME", "CONFIDENCE", "PROBABILITIES", "ROUTE", "REVIEW", "UNKNOWN")
CONCURRENCY = 8


def reference(cli, trw, samples):
    """`triage run --json` (default: 1 thread, one image at a time): one dict per image, in its order."""
    out = subprocess.run([cli, "run", trw, samples, "--json"], check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [r for r in rows if "summary" not in r]


def from_triton(result, class_names):
    """A Triton result (InferResult, HTTP or gRPC) for one image -> the fields `triage run --json` prints."""
    arr = {name: result.as_numpy(name) for name in OUTPUTS}
    probs = arr["PROBABILITIES"].reshape(-1)
    return {
        "class_index": int(arr["CLASS_INDEX"].reshape(-1)[0]),
        "class": arr["CLASS_NAME"].reshape(-1)[0].decode(),
        # float32 -> Python float is exact; the CLI prints the same float32 widened to double, round-trip.
        "confidence": float(arr["CONFIDENCE"].reshape(-1)[0]),
        "route": arr["ROUTE"].reshape(-1)[0].decode(),
        "review": bool(arr["REVIEW"].reshape(-1)[0]),
        "unknown": bool(arr["UNKNOWN"].reshape(-1)[0]),
        "probabilities": {name: float(p) for name, p in zip(class_names, probs)},
        "num_probabilities": probs.size,
    }


def differences(got, ref, class_names):
    diffs = []
    ref = dict(ref, unknown=ref.get("unknown", False))  # triage run prints unknown for a model with OOD thresholds
    for key in ("class", "confidence", "route", "review", "unknown", "probabilities"):
        if got[key] != ref[key]:
            diffs.append(f"{key}: triton {got[key]!r} vs triage run {ref[key]!r}")
    if got["num_probabilities"] != len(class_names):
        diffs.append(f"{got['num_probabilities']} probabilities for {len(class_names)} classes")
    if class_names[got["class_index"]] != got["class"]:
        diffs.append(f"CLASS_INDEX {got['class_index']} is not {got['class']!r}")
    return diffs


def make_inputs(mod, kind, path, channels):
    """The request's one input: IMAGE (the file's bytes) or PIXELS_U8/U16 (triage.read_image's pixels)."""
    if kind == "bytes":
        with open(path, "rb") as f:
            data = np.array([[f.read()]], dtype=np.object_)
        name, dtype = "IMAGE", "BYTES"
    else:
        pixels = triage.read_image(path, channels=channels)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        data = pixels[None]  # the batch dimension: one image
        name, dtype = ("PIXELS_U8", "UINT8") if pixels.dtype == np.uint8 else ("PIXELS_U16", "UINT16")
    tensor = mod.InferInput(name, list(data.shape), dtype)
    tensor.set_data_from_numpy(data)
    return [tensor]


def infer(client, model, inputs):
    """One request; an error response is returned (as the exception), not raised."""
    try:
        return client.infer(model, inputs)
    except Exception as e:  # tritonclient raises InferenceServerException
        return e


def expect_error(client, mod, model, inputs, what, failures):
    try:
        client.infer(model, inputs)
    except Exception as e:  # tritonclient raises InferenceServerException
        return str(e)
    failures.append(f"{what}: no error response")
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--grpc-port", type=int, required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("models", nargs="+", help="NAME=MODEL.trw=SAMPLES_DIR")
    args = ap.parse_args()

    # One client per thread (tritonclient's clients are not meant to be shared between threads).
    local = threading.local()

    def connect(proto):
        if proto == "http":
            return thttp.InferenceServerClient(f"127.0.0.1:{args.http_port}", connection_timeout=120,
                                               network_timeout=120)
        return tgrpc.InferenceServerClient(f"127.0.0.1:{args.grpc_port}")

    def thread_client(proto):
        if not hasattr(local, proto):
            setattr(local, proto, connect(proto))
        return getattr(local, proto)

    clients = {"http": (thttp, connect("http")), "grpc": (tgrpc, connect("grpc"))}
    counts = {(proto, kind): [0, 0] for proto in clients for kind in ("bytes", "pixels")}  # [identical, total]
    failures = []

    for spec in args.models:
        name, trw, samples = spec.split("=", 2)
        with triage.Model(trw) as model:
            class_names, channels = model.class_names, model.in_channels
        refs = reference(args.cli, trw, samples)
        if not refs:
            failures.append(f"{name}: triage run classified no sample in {samples}")
        for proto, (mod, _) in clients.items():
            for kind in ("bytes", "pixels"):
                requests = [make_inputs(mod, kind, ref["path"], channels) for ref in refs]

                # Concurrent requests: the dynamic batcher gathers them into multi-image batches.
                with ThreadPoolExecutor(CONCURRENCY) as pool:
                    results = list(pool.map(lambda inputs, proto=proto: infer(thread_client(proto), name, inputs),
                                            requests))
                for ref, result in zip(refs, results):
                    counts[(proto, kind)][1] += 1
                    if isinstance(result, Exception):
                        failures.append(f"{name} {proto} {kind} {ref['path']}: error response: {result}")
                        continue
                    diffs = differences(from_triton(result, class_names), ref, class_names)
                    if diffs:
                        failures.append(f"{name} {proto} {kind} {ref['path']}: " + "; ".join(diffs))
                    else:
                        counts[(proto, kind)][0] += 1

        # How the dynamic batcher grouped the requests (images per execute() call).
        mod, client = clients["http"]
        stats = client.get_inference_statistics(name)["model_stats"][0]
        executions, inferences = int(stats["execution_count"]), int(stats["inference_count"])
        print(f"  {name}: {len(refs)} samples x 4 ways: {inferences} images in {executions} executions "
              f"(mean batch {inferences / max(executions, 1):.2f})")

        if not refs:
            continue
        # Malformed requests: an error response with a clear message, never a crash.
        sample = refs[0]["path"]
        two = make_inputs(mod, "bytes", sample, channels) + make_inputs(mod, "pixels", sample, channels)
        msg = expect_error(client, mod, name, two, f"{name}: IMAGE and PIXELS in one request", failures)
        if msg is not None and "exactly one of IMAGE" not in msg:
            failures.append(f"{name}: two inputs: unclear message {msg!r}")
        junk = mod.InferInput("IMAGE", [1, 1], "BYTES")
        junk.set_data_from_numpy(np.array([[b"not an image"]], dtype=np.object_))
        msg = expect_error(client, mod, name, [junk], f"{name}: undecodable IMAGE", failures)
        if msg is not None and "IMAGE[0]" not in msg:
            failures.append(f"{name}: undecodable IMAGE: unclear message {msg!r}")
        wrong = mod.InferInput("PIXELS_U8", [1, 16, 16, channels + 1], "UINT8")
        wrong.set_data_from_numpy(np.zeros((1, 16, 16, channels + 1), np.uint8))
        msg = expect_error(client, mod, name, [wrong], f"{name}: PIXELS_U8 with {channels + 1} channels", failures)
        if msg is not None and "channels" not in msg:
            failures.append(f"{name}: wrong channels: unclear message {msg!r}")
        expect_error(client, mod, name, [], f"{name}: no input", failures)

        # A refused request inside a dynamic batch fails alone: every sample again, concurrently, with a
        # wrong-channel request after each; the samples' results must still be identical.
        mixed = []
        for ref in refs:
            mixed += [make_inputs(mod, "bytes", ref["path"], channels), [wrong]]
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            results = list(pool.map(lambda inputs: infer(thread_client("http"), name, inputs), mixed))
        for k, ref in enumerate(refs):
            good, bad = results[2 * k], results[2 * k + 1]
            if isinstance(good, Exception):
                failures.append(f"{name} mixed batch {ref['path']}: error response: {good}")
            elif differences(from_triton(good, class_names), ref, class_names):
                failures.append(f"{name} mixed batch {ref['path']}: result differs")
            if not isinstance(bad, Exception):
                failures.append(f"{name} mixed batch: the wrong-channel request got a result")

    if not clients["http"][1].is_server_live():
        failures.append("the server is not live after the checks")
    for failure in failures:
        print("FAIL:", failure)
    c = counts
    print(f"triton: {c['http', 'bytes'][0]}/{c['http', 'bytes'][1]} results identical (http), "
          f"{c['grpc', 'bytes'][0]}/{c['grpc', 'bytes'][1]} (grpc), raw pixels "
          f"{c['http', 'pixels'][0]}/{c['http', 'pixels'][1]} (http), "
          f"{c['grpc', 'pixels'][0]}/{c['grpc', 'pixels'][1]} (grpc)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
