#!/usr/bin/env python3
"""Markdown tables from bench_kernels output: JSON files (--benchmark_out=x.json
--benchmark_out_format=json) and/or console logs (*.txt, e.g. of a run cut short). Several files
merge, later ones winning. Uses the median aggregate when repetitions were run, else the run."""
import json
import re
import sys


def load(path):
    d = json.load(open(path))
    rows = {}
    for b in d["benchmarks"]:
        name = b.get("run_name", b["name"])
        agg = b.get("aggregate_name")
        if agg not in (None, "median"):
            continue
        if agg is None and name in rows:
            continue
        rows[name] = b
    return d["context"], rows


def load_text(path):
    ctx, rows = {}, {}
    for line in open(path):
        m = re.match(r"isa=(\S+) peaks \(GOPS\): fma_avx2 ([\d.]+) madd_avx2 ([\d.]+) fma_avx512 ([\d.]+) "
                     r"vnni ([\d.]+) amx ([\d.]+)", line)
        if m:
            ctx = {"isa": m.group(1), "peak_fma_avx2_gflops": m.group(2), "peak_madd_avx2_gops": m.group(3),
                   "peak_fma_avx512_gflops": m.group(4), "peak_vnni_gops": m.group(5), "peak_amx_gops": m.group(6)}
            continue
        m = re.match(r"(\S+?)(_median|_mean|_stddev|_cv)?\s+([\d.]+) ns\s+([\d.]+) ns\s+\d+\s*(.*)", line)
        if not m or m.group(2) in ("_mean", "_stddev", "_cv"):
            continue
        if m.group(2) is None and m.group(1) in rows:
            continue
        b = {"real_time": float(m.group(3)), "cpu_time": float(m.group(4)), "time_unit": "ns"}
        for kv in re.findall(r"(\w+)=([\d.]+)", m.group(5)):
            b[kv[0]] = float(kv[1])
        rows[m.group(1)] = b
    return ctx, rows


def value(rows, name, key="GFLOPS"):
    b = rows.get(name)
    return b[key] if b and key in b else None


def fmt(v, p=1):
    return "-" if v is None else f"{v:.{p}f}"


def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"


def gemm_table(rows, shapes, f32_isa, q8_isa, f32_peak, q8_peak):
    """One markdown table: our f32 and q8 GEMMs at the given ISAs against oneDNN, per shape."""
    print(f"| GEMM shape | f32 {f32_isa} GFLOPS | % {f32_peak} peak | oneDNN f32 | ours/oneDNN | q8 {q8_isa} GOPS | "
          f"% {q8_peak} peak | oneDNN u8s8s32 | ours/oneDNN |")
    print("|---|---|---|---|---|---|---|---|---|")

    for s in shapes:
        f, fp = value(rows, f"gemm_f32/{f32_isa}/{s}"), value(rows, f"gemm_f32/{f32_isa}/{s}", "pct_peak")
        q, qp = value(rows, f"gemm_q8/{q8_isa}/{s}"), value(rows, f"gemm_q8/{q8_isa}/{s}", "pct_peak")
        df, dq = value(rows, f"dnnl_f32/{s}"), value(rows, f"dnnl_u8s8s32/{s}")
        print(f"| {s} | {fmt(f)} | {fmt(fp, 0)}% | {fmt(df)} | {ratio(f, df)} | {fmt(q)} | {fmt(qp, 0)}% | {fmt(dq)} | {ratio(q, dq)} |")
    print()


def amx_table(rows, shapes):
    """The q8 GEMM on AMX beside our VNNI tile and oneDNN's u8s8s32 (which uses AMX where it exists)."""
    print("| GEMM shape | q8 vnni GOPS | q8 amx GOPS | % amx peak | amx/vnni | oneDNN u8s8s32 | amx/oneDNN |")
    print("|---|---|---|---|---|---|---|")

    for s in shapes:
        v, a = value(rows, f"gemm_q8/vnni/{s}"), value(rows, f"gemm_q8/amx/{s}")
        ap, d = value(rows, f"gemm_q8/amx/{s}", "pct_peak"), value(rows, f"dnnl_u8s8s32/{s}")
        print(f"| {s} | {fmt(v)} | {fmt(a)} | {fmt(ap, 0)}% | {ratio(a, v)} | {fmt(d)} | {ratio(a, d)} |")
    print()


def main(paths):
    ctx, rows = {}, {}
    for path in paths:
        c, r = load(path) if path.endswith(".json") else load_text(path)
        ctx.update(c)
        rows.update(r)
    print(f"Peaks measured in this run (GOPS): fma_avx2 {float(ctx['peak_fma_avx2_gflops']):.1f}, "
          f"madd_avx2 {float(ctx['peak_madd_avx2_gops']):.1f}, fma_avx512 {float(ctx['peak_fma_avx512_gflops']):.1f}, "
          f"vnni {float(ctx['peak_vnni_gops']):.1f}, amx {float(ctx['peak_amx_gops']):.1f}; isa {ctx['isa']}\n")
    shapes = []
    for n in rows:
        m = re.match(r"gemm_f32/avx2/(.*)", n)
        if m:
            shapes.append(m.group(1))
    gemm_table(rows, shapes, "avx2", "avx2", "fma", "madd")
    wide = [s for s in shapes if f"gemm_f32/avx512/{s}" in rows or f"gemm_q8/vnni/{s}" in rows]
    if wide:  # only on a CPU with AVX-512 (the rows register themselves there)
        gemm_table(rows, wide, "avx512", "vnni", "fma512", "vnni")
    amx = [s for s in shapes if f"gemm_q8/amx/{s}" in rows]
    if amx:  # only on a CPU with AMX-INT8 and the OS permission
        amx_table(rows, amx)
    print("| kernel | time (us) | GFLOPS | % peak |")
    print("|---|---|---|---|")
    for n, b in rows.items():
        if n.startswith(("gemm_", "dnnl_")) and "/scalar/" not in n:
            continue
        t = b["real_time"] if b["time_unit"] == "ns" else b["real_time"] * 1000
        cpu = b["cpu_time"] / 1000.0 if b["time_unit"] == "ns" else b["cpu_time"]
        pct = f"{b['pct_peak']:.0f}%" if "pct_peak" in b else "-"
        print(f"| {n} | {cpu:.1f} | {b.get('GFLOPS', 0):.2f} | {pct} |")


if __name__ == "__main__":
    main(sys.argv[1:])
