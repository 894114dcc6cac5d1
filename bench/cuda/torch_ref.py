#!/usr/bin/env python3
"""PyTorch timings of the same models (tools/train/model.py) for tools/gpu-check.sh.

For each model dir (config.json + model.safetensors) and batch size B: the routed forward in eager mode
(preprocess both resolutions on the GPU, coarse pass, the router's coarse rule with the converter's
default thresholds unless given, fine pass on the escalated images only), in f32 and with bf16 autocast;
and with CUDA graphs, which need static shapes: the coarse pass alone, and coarse + fine over every
image (the routed forward's worst case). Times are CUDA-event medians (and p99) over --runs after a
warm-up, in microseconds per batch. Prints one line per measurement; --csv appends rows
`torch,<model>,<mode>,<B>,<median_us>,<p99_us>`.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "train"))
import model as M  # noqa: E402


def load(model_dir):
    from safetensors.torch import load_file

    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    net = M.build_from_config(cfg)
    sd = load_file(os.path.join(model_dir, "model.safetensors"))
    missing, unexpected = net.load_state_dict(sd, strict=False)
    if missing or unexpected:
        print(f"  {model_dir}: {len(missing)} missing / {len(unexpected)} unexpected tensors", flush=True)
    return cfg, net.eval().cuda()


def subset(co, idx):
    return M.CoarseOut(co.logits[idx], co.scores[idx], co.z[idx], co.x0[idx], co.embed[idx], co.block0[idx])


def time_cuda(fn, runs, warm=5):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(runs):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1000.0)
    ts.sort()
    return ts[len(ts) // 2], ts[min(len(ts) - 1, int(0.99 * len(ts)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", action="append", required=True)
    ap.add_argument("--batches", default="1,8,64")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--coarse-defect", type=float, default=0.9)
    ap.add_argument("--coarse-good", type=float, default=2.0)
    ap.add_argument("--csv")
    a = ap.parse_args()
    batches = [int(b) for b in a.batches.split(",")]
    out = open(a.csv, "a") if a.csv else None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}", flush=True)
    for d in a.model_dir:
        cfg, net = load(d)
        name = cfg.get("model_name", os.path.basename(d.rstrip("/")))
        arch, inp = cfg["arch"], cfg["input"]
        Sf, Sc, K = arch["img_full"], arch["img_coarse"], arch["topk"]
        good = cfg["labels"].index(cfg["good_label"])
        C = arch.get("in_chans", 1)
        for B in batches:
            g = torch.Generator(device="cuda").manual_seed(B)
            raw = torch.randint(0, 256, (B, C, Sf, Sf), device="cuda", generator=g, dtype=torch.uint8)

            def prep():
                x = raw.float() / float(inp["max_value_u8"])
                full = (x - inp["mean"]) / inp["std"]
                coarse = F.interpolate(x, size=(Sc, Sc), mode="bilinear", align_corners=False, antialias=False)
                return full, (coarse - inp["mean"]) / inp["std"]

            def routed():
                full, coarse = prep()
                co = net.coarse(coarse)
                p = co.logits.float().softmax(-1)
                pd = p.clone()
                pd[:, good] = -1
                exit_ = (pd.max(-1).values >= a.coarse_defect) | (p[:, good] >= a.coarse_good)
                idx = (~exit_).nonzero().flatten()  # a device-to-host sync, as routing needs
                if idx.numel():
                    net.fine(full[idx], subset(co, idx), K)
                return co.logits

            def static_all():
                full, coarse = prep()
                co = net.coarse(coarse)
                return net.fine(full, co, K)

            def static_coarse():
                _, coarse = prep()
                return net.coarse(coarse).logits

            rows = []
            with torch.no_grad():
                rows.append(("eager f32 routed", time_cuda(routed, a.runs)))
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    rows.append(("eager bf16 routed", time_cuda(routed, a.runs)))
                for label, fn in (("graph f32 coarse", static_coarse), ("graph f32 coarse+fine(all)", static_all)):
                    try:
                        # Factory calls inside model.py (torch.arange, ...) must create device tensors
                        # for the capture to be legal.
                        torch.set_default_device("cuda")
                        s = torch.cuda.Stream()
                        s.wait_stream(torch.cuda.current_stream())
                        with torch.cuda.stream(s):
                            for _ in range(3):
                                fn()
                        torch.cuda.current_stream().wait_stream(s)
                        graph = torch.cuda.CUDAGraph()
                        with torch.cuda.graph(graph):
                            fn()
                        rows.append((label, time_cuda(graph.replay, a.runs)))
                    except Exception as e:  # report, do not fail the whole check
                        print(f"  {name} B={B} {label}: capture failed: {type(e).__name__}: {str(e)[:160]}", flush=True)
                    finally:
                        torch.set_default_device("cpu")
            for label, (med, p99) in rows:
                print(f"  torch {name:12s} {label:28s} B={B:<3d} p50 {med:9.1f} us  p99 {p99:9.1f} us  "
                      f"{B / (med * 1e-6):9.0f} img/s", flush=True)
                if out:
                    out.write(f"torch,{name},{label},{B},{med:.2f},{p99:.2f}\n")
    if out:
        out.close()


if __name__ == "__main__":
    main()
