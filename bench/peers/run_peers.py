#!/usr/bin/env python3
"""Peers benchmark: the shipped models in triage and in the engines a user would deploy instead.

    sh bench/peers/setup.sh                          # once: .venv-peers with onnxruntime, openvino, nncf, ...
    .venv-peers/bin/python bench/peers/run_peers.py  # full run: writes bench/peers/results-<date>.json,
                                                     # bench/peers/latency-<date>.png, appends to bench/RESULTS.md
    .venv-peers/bin/python bench/peers/run_peers.py --quick   # self-check in about a minute (writes under out/peers/quick)

What runs (see bench/peers/README.md for the details and the caveats):
  engines  triage-q8 (the shipped .trw), triage-f32, ort (ONNX Runtime CPU, f32), ort-int8-dyn
           (onnxruntime.quantization dynamic int8), ort-int8-qdq (static QDQ int8, calibrated on the
           samples), ov (OpenVINO CPU, f32), ov-int8 (NNCF post-training int8), torch (PyTorch eager,
           tools/train/model.py), torch-jit (TorchScript, traced + frozen), torch-compile (inductor)
  passes   coarse (every image exits after the coarse pass), fine (coarse + fine pass with K = topk for
           every image), fine-all (coarse + fine with every patch re-split), routed (coarse, the
           router's rule, fine for the escalated images only) on an 85%-good mix of the samples
  settings threads 1 and 2 (pinned the same way in every engine), batch 1 and 8
Each engine runs in its own process (peers: a worker of this script; triage: `triage bench`), one at a
time, the engine order rotated every round so machine drift hits all of them alike.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TRAIN = os.path.join(ROOT, "tools", "train")

ENGINES = {
    # name: (kind, variant, description)
    "triage-q8": ("triage", "q8", "triage, shipped q8 .trw (int8 weights, int8 activations per token)"),
    "triage-f32": ("triage", "f32", "triage, f32 .trw"),
    "ort": ("ort", "f32", "ONNX Runtime CPU EP, f32, default session options (graph opt. all)"),
    "ort-int8-dyn": ("ort", "int8-dyn", "ONNX Runtime, quantize_dynamic (int8 weights, dynamic u8 activations)"),
    "ort-int8-qdq": ("ort", "int8-qdq", "ONNX Runtime, quantize_static QDQ (per-channel s8 weights, u8 act.), calibrated on the samples"),
    "ov": ("ov", "f32", "OpenVINO CPU, f32 (inference precision f32), latency hint, 1 stream"),
    "ov-int8": ("ov", "int8", "OpenVINO CPU, NNCF post-training int8 (transformer preset), calibrated on the samples"),
    "torch": ("torch", "eager", "PyTorch eager, tools/train/model.py (inference_mode)"),
    "torch-jit": ("torch", "jit", "PyTorch TorchScript: traced, frozen, optimize_for_inference"),
    "torch-compile": ("torch", "compile", "PyTorch torch.compile (inductor, default automatic-dynamic shapes), opt-in"),
}
DEFAULT_ENGINES = [e for e in ENGINES if e != "torch-compile"]  # torch-compile: opt-in (compile time, see README)
PASSES = ["coarse", "fine", "fine-all", "routed"]
MODELS = ["awc-wm811k", "adc-pcb", "adc-optical"]
DEFAULT_THREADS = [1, 2]
DEFAULT_BATCH = [1, 8]
GOOD_FRACTION = 0.85
MIX_LEN = 80  # images in one cycle of the routed mix (68 good + 12 defective)


def log(msg: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    print(f"run_peers.py: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def fine_all_module(m):
    """The fine pass with every coarse patch re-split (K = Gc): model.py's fine pass with sel = 0..Gc-1 and
    no kept tokens, written without the empty `keep` gather (which the ONNX exporter turns into an invalid
    Reshape). Checked against tools/train/export_onnx.py's FinePass(m, Gc) in eager mode at preparation."""
    import torch
    import torch.nn as nn

    class FineAllPass(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m
            G, Wc, Wf = m.Gc, m.Wc, m.Wf
            j = torch.arange(G)
            cy, cx = j // Wc, j % Wc
            ab = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
            self.register_buffer("pidx", 1 + (2 * cy[:, None] + ab[:, 0]) * Wf + (2 * cx[:, None] + ab[:, 1]))

        def forward(self, img_full, rank_scores, z, x0):
            m = self.m
            B, C = img_full.shape[0], img_full.shape[1]
            G, D, s = m.Gc, m.D, 2 * m.P
            reg = m.regions(img_full).reshape(B * G, C, s, s)
            f = m.stem_fn(reg).reshape(B, G, D, 4).transpose(2, 3)            # [B, G, 4, D]
            ft = f + m.pos_fine[0][self.pidx] + m.reuse(z)[:, :, None, :]
            cls = (m.cls_token + m.pos_fine[:, :1]).expand(B, -1, -1)
            x = torch.cat([cls, ft.reshape(B, 4 * G, D)], 1)
            x, _, _ = m.run_blocks(x, False)
            return m.head(m.norm(x[:, 0]))

    return FineAllPass(m).eval()


# ------------------------------------------------------------------------------------------------
# Shared numerics: preprocessing (numpy, docs/model-family.md) and the router's rules (runtime/router.cpp)


def _axis_weights(n: int, S: int):
    d = np.arange(S, dtype=np.float32)
    s = (d + np.float32(0.5)) * (np.float32(n) / np.float32(S)) - np.float32(0.5)
    s = np.maximum(s, np.float32(0))
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    t = (s - i0.astype(np.float32)).astype(np.float32)
    return i0, i1, t


def preprocess_np(raw: np.ndarray, max_value: float, mean: float, std: float, S: int) -> np.ndarray:
    """raw HxW (or HxWxC) u8/u16 -> [C, S, S] f32: value map, bilinear (half-pixel, no antialias), normalise."""
    a = np.asarray(raw)
    if a.ndim == 2:
        a = a[:, :, None]
    x = a.astype(np.float32) / np.float32(max_value)
    H, W = x.shape[:2]
    y0, y1, ty = _axis_weights(H, S)
    x0, x1, tx = _axis_weights(W, S)
    tx = tx[None, :, None]
    top = x[y0][:, x0] * (1 - tx) + x[y0][:, x1] * tx
    bot = x[y1][:, x0] * (1 - tx) + x[y1][:, x1] * tx
    ty = ty[:, None, None]
    out = (1 - ty) * top + ty * bot
    out = (out - np.float32(mean)) / np.float32(std)
    return np.ascontiguousarray(out.transpose(2, 0, 1).astype(np.float32))


def softmax_np(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float32) - logits.max(axis=1, keepdims=True).astype(np.float32)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def top_defect(p: np.ndarray, good: int) -> np.ndarray:
    """good < 0: a model without a good class (every class a defect class): the plain argmax."""
    q = p.copy()
    if good >= 0:
        q[:, good] = -np.inf
    return np.argmax(q, axis=1)  # first maximum: the smallest index on ties, as router.cpp


def decide_final(p: np.ndarray, good: int, th: dict) -> np.ndarray:
    d = top_defect(p, good)
    if good < 0:
        return d
    return np.where(p[:, good].astype(np.float64) >= th["fine_good"], good, d)


def decide_coarse(p: np.ndarray, good: int, th: dict):
    """-> (exit mask, decided class where exit)."""
    d = top_defect(p, good)
    pd = p[np.arange(p.shape[0]), d].astype(np.float64)
    ex_def = pd >= th["coarse_defect"]
    if good < 0:  # no good exit
        return ex_def, d
    ex_good = ~ex_def & (p[:, good].astype(np.float64) >= th["coarse_good"])
    cls = np.where(ex_def, d, good)
    return ex_def | ex_good, cls


# ------------------------------------------------------------------------------------------------
# Worker: one peer engine in its own process, JSON lines on stdin/stdout


class PeerEngine:
    """coarse(xc) -> (logits, scores, z, x0); fine(xf, scores, z, x0, all_) -> logits; take(t, idx)."""

    def prepare(self, pass_: str, batch: int) -> None:
        pass

    def activate(self) -> None:
        """Called before every request (the thread count is per instance except in torch)."""

    @staticmethod
    def to_np(t):
        return t

    @staticmethod
    def take(t, idx):
        return np.take(t, idx, axis=0)

    def wrap(self, a: np.ndarray):
        return a


class OrtEngine(PeerEngine):
    def __init__(self, prep: dict, variant: str, threads: int):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        f = prep["onnx"][variant]
        mk = lambda p: ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])  # noqa: E731
        self.sc, self.sf, self.sfa = mk(f["coarse"]), mk(f["fine"]), mk(f["fine_all"])
        self.names = {id(x): {i.name for i in x.get_inputs()} for x in (self.sf, self.sfa)}

    def coarse(self, xc):
        return self.sc.run(None, {"img_coarse": xc})

    def fine(self, xf, scores, z, x0, all_=False):
        s = self.sfa if all_ else self.sf
        feeds = {"img_full": xf, "rank_scores": scores, "z": z, "x0": x0}
        return s.run(None, {k: v for k, v in feeds.items() if k in self.names[id(s)]})[0]


class OvEngine(PeerEngine):
    def __init__(self, prep: dict, variant: str, threads: int):
        import openvino as ov
        self.ov = ov
        self.core = ov.Core()
        self.cfg = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                    "INFERENCE_PRECISION_HINT": "f32"}
        f = prep["ov"][variant]
        self.models = {k: self.core.read_model(f[k]) for k in ("coarse", "fine", "fine_all")}
        self.inputs = {k: {i.get_any_name() for i in m.inputs} for k, m in self.models.items()}
        self.compiled = {}  # (graph, batch) -> infer request (static shapes, compiled outside timing)

    def _req(self, graph: str, b: int):
        key = (graph, b)
        r = self.compiled.get(key)
        if r is None:
            m = self.models[graph].clone()
            m.reshape({inp.get_any_name(): [b] + list(inp.get_partial_shape().to_shape()[1:])
                       if inp.get_partial_shape().is_static else
                       [b] + [d.get_length() for d in list(inp.get_partial_shape())[1:]]
                       for inp in m.inputs})
            r = self.core.compile_model(m, "CPU", self.cfg).create_infer_request()
            self.compiled[key] = r
        return r

    def prepare(self, pass_: str, batch: int) -> None:
        self._req("coarse", batch)
        if pass_ == "fine":
            self._req("fine", batch)
        elif pass_ == "fine-all":
            self._req("fine_all", batch)
        elif pass_ == "routed":
            for b in range(1, batch + 1):
                self._req("fine", b)

    def coarse(self, xc):
        r = self._req("coarse", xc.shape[0])
        r.infer({"img_coarse": xc}, share_inputs=True)
        return [r.get_output_tensor(i).data.copy() for i in range(4)]

    def fine(self, xf, scores, z, x0, all_=False):
        r = self._req("fine_all" if all_ else "fine", xf.shape[0])
        names = self.inputs["fine_all" if all_ else "fine"]
        feeds = {"img_full": xf, "rank_scores": scores, "z": z, "x0": x0}
        r.infer({k: v for k, v in feeds.items() if k in names}, share_inputs=True)
        return r.get_output_tensor(0).data.copy()


class TorchEngine(PeerEngine):
    def __init__(self, prep: dict, variant: str, threads: int):
        import torch
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        sys.path.insert(0, TRAIN)
        from export_goldens import load_model
        from export_onnx import CoarsePass, FinePass
        self.torch = torch
        self.threads = threads
        m, _ = load_model(prep["snapshot_dir"])
        self.m = m
        self.variant = variant
        self.cp = CoarsePass(m).eval()
        self.fp = FinePass(m, m.K).eval()
        self.fpa = fine_all_module(m)
        self.Sc, self.Sf, self.C = m.Sc, m.Sf, m.cfg["in_chans"]
        self.cache = {}
        if variant == "compile":
            self.ccp = torch.compile(self.cp)
            self.cfp = torch.compile(self.fp)
            self.cfpa = torch.compile(self.fpa)

    def wrap(self, a):
        return self.torch.from_numpy(a)

    def activate(self) -> None:
        self.torch.set_num_threads(self.threads)

    @staticmethod
    def to_np(t):
        return t.numpy()

    @staticmethod
    def take(t, idx):
        import torch
        return torch.index_select(t, 0, torch.from_numpy(idx))

    def _jit(self, mod, args, key):
        torch = self.torch
        f = self.cache.get(key)
        if f is None:
            with torch.inference_mode(False), torch.no_grad():
                tr = torch.jit.trace(mod, args, check_trace=False)
                f = torch.jit.optimize_for_inference(torch.jit.freeze(tr.eval()))
            self.cache[key] = f
        return f

    def prepare(self, pass_: str, batch: int) -> None:
        # TorchScript: trace each graph once at batch 2 (batch is a traced dimension), compile: warm every shape
        torch = self.torch
        if self.variant == "eager":
            return
        sizes = range(1, batch + 1) if pass_ == "routed" else [batch]
        with torch.no_grad():
            for b in sorted(set([batch]) | set(sizes)):
                xc = torch.randn(b, self.C, self.Sc, self.Sc)
                xf = torch.randn(b, self.C, self.Sf, self.Sf)
                co = self.coarse(xc)
                if pass_ in ("fine", "routed"):
                    self.fine(xf, *co[1:])
                if pass_ == "fine-all":
                    self.fine(xf, *co[1:], all_=True)

    def coarse(self, xc):
        torch = self.torch
        with torch.no_grad():
            if self.variant == "eager":
                return self.cp(xc)
            if self.variant == "jit":
                return self._jit(self.cp, (xc,), "coarse")(xc)
            return self.ccp(xc)

    def fine(self, xf, scores, z, x0, all_=False):
        torch = self.torch
        with torch.no_grad():
            mod = self.fpa if all_ else self.fp
            if self.variant == "eager":
                return mod(xf, scores, z, x0)
            if self.variant == "jit":
                return self._jit(mod, (xf, scores, z, x0), "fine_all" if all_ else "fine")(xf, scores, z, x0)
            return (self.cfpa if all_ else self.cfp)(xf, scores, z, x0)


def worker_main(a) -> int:
    """One peer engine for the whole run: requests name the model (its prep.json) and the thread count;
    engine instances (sessions, compiled models) are kept per (model, threads)."""
    kind, variant, _ = ENGINES[a.worker]
    cls = {"ort": OrtEngine, "ov": OvEngine, "torch": TorchEngine}[kind]
    engines, data = {}, {}
    out = sys.stdout
    print(json.dumps({"ready": True, "pid": os.getpid()}), file=out, flush=True)
    perf = time.perf_counter
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "quit":
            break
        try:
            pj, threads = req["prep_json"], req["threads"]
            if pj not in data:
                with open(pj) as f:
                    prep = json.load(f)
                z = np.load(prep["inputs_npz"])
                data[pj] = (prep, z["full"], z["coarse"])
            prep, full, coarse = data[pj]
            key = (pj, threads)
            if key not in engines:
                engines[key] = cls(prep, variant, threads)
            eng = engines[key]
            eng.activate()
            res = run_peer_config(eng, req, full, coarse, prep["good"], prep["thresholds"], perf)
        except Exception as e:  # noqa: BLE001 (reported to the coordinator, which fails loudly)
            import traceback
            res = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
        print(json.dumps(res), file=out, flush=True)
    return 0


def run_peer_config(eng: PeerEngine, req: dict, full, coarse, good, th, perf) -> dict:
    pass_, B = req["pass"], req["batch"]
    cycle = np.asarray(req["cycle"], dtype=np.int64)
    iters, warmup = req["iters"], req["warmup"]
    L = len(cycle)
    period = L // math.gcd(L, B)  # iterations after which the batches repeat
    nb = min(period, max(iters, warmup))
    batches = []
    for it in range(nb):
        idx = cycle[(it * B + np.arange(B)) % L]
        xf = np.ascontiguousarray(full[idx])
        xc = np.ascontiguousarray(coarse[idx])
        batches.append((eng.wrap(xf), eng.wrap(xc), idx))
    eng.prepare(pass_, B)

    def one(xf, xc):
        if pass_ == "coarse":
            logits = eng.to_np(eng.coarse(xc)[0])
            return decide_final(softmax_np(logits), good, th), 0
        co = eng.coarse(xc)
        if pass_ in ("fine", "fine-all"):
            logits = eng.to_np(eng.fine(xf, co[1], co[2], co[3], all_=pass_ == "fine-all"))
            return decide_final(softmax_np(logits), good, th), B
        p = softmax_np(eng.to_np(co[0]))
        ex, cls = decide_coarse(p, good, th)
        esc = np.flatnonzero(~ex)
        if esc.size:
            if esc.size == B:
                fl = eng.fine(xf, co[1], co[2], co[3])
            else:
                fl = eng.fine(eng.take(xf, esc), eng.take(co[1], esc), eng.take(co[2], esc), eng.take(co[3], esc))
            cls = cls.copy()
            cls[esc] = decide_final(softmax_np(eng.to_np(fl)), good, th)
        return cls, int(esc.size)

    for it in range(warmup):
        xf, xc, _ = batches[it % nb]
        one(xf, xc)
    lat = []
    decided = {}
    inconsistent = 0
    escalated = 0
    for it in range(iters):
        xf, xc, idx = batches[it % nb]
        t0 = perf()
        cls, e = one(xf, xc)
        t1 = perf()
        lat.append((t1 - t0) * 1e3)
        escalated += e
        for i, c in zip(idx.tolist(), cls.tolist()):
            prev = decided.setdefault(i, c)
            inconsistent += prev != c
    return {"latency_ms": lat, "decided": {str(k): int(v) for k, v in decided.items()},
            "escalated": escalated, "images": iters * B, "inconsistent": inconsistent}


class PeerProcess:
    """Coordinator side of one worker process (one per engine, for the whole run)."""

    def __init__(self, python: str, engine: str, max_threads: int):
        env = dict(os.environ)
        env["OMP_NUM_THREADS"] = str(max_threads)
        env["MKL_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        self.engine = engine
        self.p = subprocess.Popen([python, os.path.abspath(__file__), "--worker", engine], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, env=env, text=True, cwd=ROOT)
        self.ready = False

    def wait_ready(self) -> None:
        if not self.ready:
            if not self.p.stdout.readline():
                die(f"peer {self.engine} failed to start (see its error above)")
            self.ready = True

    def run(self, req: dict) -> dict:
        self.wait_ready()
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            die(f"peer {self.engine} died during {req['pass']} batch {req['batch']}")
        res = json.loads(line)
        if "error" in res:
            print(res.get("trace", ""), file=sys.stderr)
            die(f"peer {self.engine} failed on pass {req['pass']} batch {req['batch']}: {res['error']}")
        return res

    def close(self) -> None:
        try:
            self.p.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.p.stdin.flush()
            self.p.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.p.kill()


class TriageProcess:
    """triage bench, one process per (config, round): model open and image decoding outside the timing."""

    def __init__(self, binary: str, variant: str):
        self.binary, self.variant = binary, variant
        self.preps = {}

    def run(self, req: dict) -> dict:
        if req["prep_json"] not in self.preps:
            with open(req["prep_json"]) as f:
                self.preps[req["prep_json"]] = json.load(f)
        prep = self.preps[req["prep_json"]]
        lst = prep["lists"][req["cycle_name"]]
        cmd = [self.binary, "bench", prep["trw"][self.variant], "--inputs", "@" + lst, "--pass", req["pass"], "--threads",
               str(req["threads"]), "--batch", str(req["batch"]), "--iters", str(req["iters"]), "--warmup",
               str(req["warmup"]), "--json"]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            die(f"triage bench failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.strip()}")
        j = json.loads(r.stdout)
        pos = {p: i for i, p in enumerate(prep["paths"])}
        decided = {str(pos[d["path"]]): d["class_index"] for d in j["inputs"]}
        return {"latency_ms": j["latency_ms"], "decided": decided,
                "escalated": round(j["summary"]["escalation_rate"] * j["summary"]["images"]),
                "images": j["summary"]["images"], "inconsistent": j["summary"]["inconsistent_inputs"],
                "isa": j["isa"]}

    def close(self) -> None:
        pass


# ------------------------------------------------------------------------------------------------
# Preparation (coordinator): checkpoint snapshot, .trw files, inputs, ONNX export, quantised models


def sha256_file(p: str) -> str:
    with open(p, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def inspect_trw(binary: str, trw: str) -> dict:
    r = subprocess.run([binary, "inspect", trw, "--json"], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        die(f"triage inspect {trw} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)["metadata"]


def load_raw(path: str) -> np.ndarray:
    """HxW, or CxHxW for colour (JPEG through Pillow's libjpeg-turbo, as tools/train/export_goldens.py)."""
    if path.endswith(".npy"):
        return np.load(path)
    if path.endswith((".jpg", ".jpeg")):
        from PIL import Image
        with Image.open(path) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB")).transpose(2, 0, 1))
    sys.path.insert(0, TRAIN)
    import png  # tools/train/png.py
    return png.read(path)


def make_mix(labels: list, good_label: str, n: int = MIX_LEN, good_frac: float = GOOD_FRACTION) -> list:
    """A deterministic cycle of n sample indices, good_frac of them good: goods repeated round-robin,
    defects one per class first (every class present), then the rest in file order; interleaved so
    every batch of 8 sees about the same mix. A model without a good class (good_label None): the
    samples in file order, repeated to n."""
    if good_label is None:
        return [k % len(labels) for k in range(n)]
    goods = [i for i, l in enumerate(labels) if l == good_label]
    defects = [i for i, l in enumerate(labels) if l != good_label]
    n_good = round(n * good_frac)
    n_def = n - n_good
    first, seen = [], set()
    for i in defects:
        if labels[i] not in seen:
            seen.add(labels[i])
            first.append(i)
    order = first + [i for i in defects if i not in first]
    dsel = [order[k % len(order)] for k in range(n_def)]
    gsel = [goods[k % len(goods)] for k in range(n_good)]
    out, gi, di = [], 0, 0
    for k in range(n):  # spread the defects evenly over the cycle
        if di < n_def and (k + 1) * n_def // n > di:
            out.append(dsel[di]); di += 1
        else:
            out.append(gsel[gi]); gi += 1
    return out


def prepare_model(name: str, a, work: str) -> dict:
    mdir = os.path.join(ROOT, "models", name)
    if not os.path.isfile(os.path.join(mdir, "model.safetensors")):
        die(f"model {name}: {mdir}/model.safetensors not found")
    src_sha = sha256_file(os.path.join(mdir, "model.safetensors"))
    snap = os.path.join(work, name, src_sha[:12])
    os.makedirs(snap, exist_ok=True)
    for f in ("model.safetensors", "config.json"):
        if not os.path.exists(os.path.join(snap, f)):
            shutil.copy2(os.path.join(mdir, f), os.path.join(snap, f + ".tmp"))
            os.replace(os.path.join(snap, f + ".tmp"), os.path.join(snap, f))
    if sha256_file(os.path.join(snap, "model.safetensors")) != src_sha:
        die(f"model {name}: the checkpoint changed while it was copied; run again")
    with open(os.path.join(snap, "config.json")) as f:
        cfg = json.load(f)

    # .trw files: the build's when converted from this very checkpoint, else a conversion of the snapshot
    trw = {}
    for dtype in ("q8", "f32"):
        override = a.trw.get(f"{name}.{dtype}")
        if override:
            trw[dtype] = os.path.abspath(override)
            continue
        # the shipped model is <name>.trw (q8, router thresholds from models/<name>/router.json); then <name>.<dtype>.trw
        cands = ([f"{name}.trw"] if dtype == "q8" else []) + [f"{name}.{dtype}.trw"]
        found = None
        for c in cands:
            built = os.path.join(ROOT, a.build, "models", c)
            if os.path.exists(built):
                md_ = inspect_trw(a.triage, built)
                if md_.get("source.sha256") == src_sha and md_.get("converter.dtype") == dtype:
                    found = built
                    break
        if found:
            trw[dtype] = found
            continue
        router = os.path.join(mdir, "router.json")  # calibrated thresholds, applied by convert only if they match
        rtag = sha256_file(router)[:8] if os.path.exists(router) else "uncal"
        out = os.path.join(snap, f"{name}.{dtype}.router-{rtag}.trw")
        if not os.path.exists(out):
            log(f"{name}: {built} is missing or from another checkpoint: converting the snapshot ({dtype})")
            cmd = [a.triage, "convert", os.path.join(snap, "model.safetensors"), "-o", out, "--dtype", dtype, "--quiet"]
            if os.path.exists(router):
                cmd += ["--router", router]
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if r.returncode != 0:
                die(f"triage convert failed: {r.stderr.strip()}")
        trw[dtype] = out
    meta = {d: inspect_trw(a.triage, p) for d, p in trw.items()}
    trw_router = {d: {k: m_.get(f"router.{k}") for k in ("calibrated", "coarse_good_threshold", "coarse_defect_threshold",
                                                         "fine_good_threshold")} for d, m_ in meta.items()}
    md = meta["q8"]
    labels_cls = md["labels"]
    good = labels_cls.index(md["good_label"]) if md.get("good_label") else -1
    th = {"coarse_good": md["router.coarse_good_threshold"], "coarse_defect": md["router.coarse_defect_threshold"],
          "fine_good": md["router.fine_good_threshold"], "review": md["router.review_threshold"],
          "calibrated": bool(md["router.calibrated"]), "source": trw["q8"]}

    # samples, labels, numpy preprocessing (checked against the reference preprocess())
    with open(os.path.join(mdir, "samples", "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    paths = [os.path.relpath(os.path.join(mdir, "samples", r["path"]), ROOT) for r in rows]
    labels = [r["label"] for r in rows]
    inp, arch = cfg["input"], cfg["arch"]
    fulls, coarses = [], []
    raws = [load_raw(os.path.join(ROOT, p)) for p in paths]
    for raw in raws:
        mv = inp["max_value_u16"] if raw.dtype == np.uint16 else inp["max_value_u8"]
        hwc = raw.transpose(1, 2, 0) if raw.ndim == 3 else raw
        fulls.append(preprocess_np(hwc, mv, inp["mean"], inp["std"], arch["img_full"]))
        coarses.append(preprocess_np(hwc, mv, inp["mean"], inp["std"], arch["img_coarse"]))
    full, coarse = np.stack(fulls), np.stack(coarses)
    inputs_sha = hashlib.sha256(full.tobytes() + coarse.tobytes()).hexdigest()
    pcheck = os.path.join(snap, f"preprocess-check-{inputs_sha[:12]}.json")
    if os.path.exists(pcheck):
        with open(pcheck) as f:
            pdiff = json.load(f)["max_abs_diff"]
    else:
        sys.path.insert(0, TRAIN)
        from model import preprocess_pair
        pdiff = 0.0
        for raw, f_, c_ in zip(raws, fulls, coarses):
            rf, rc = preprocess_pair(raw, inp, arch)
            pdiff = max(pdiff, float(np.abs(rf[0].numpy() - f_).max()), float(np.abs(rc[0].numpy() - c_).max()))
        with open(pcheck, "w") as f:
            json.dump({"max_abs_diff": pdiff}, f)
    if pdiff > 1e-5:
        die(f"{name}: numpy preprocessing differs from tools/train/model.py preprocess() by {pdiff}")
    inputs_npz = os.path.join(snap, "inputs.npz")
    np.savez(inputs_npz, full=full, coarse=coarse)

    mix = make_mix(labels, md["good_label"] or None)
    lists = {}
    for cname, cyc in (("plain", list(range(len(paths)))), ("mix", mix)):
        lp = os.path.join(snap, f"cycle-{cname}.txt")
        with open(lp, "w") as f:
            f.write("".join(paths[i] + "\n" for i in cyc))
        lists[cname] = lp

    prep = {"name": name, "snapshot_dir": snap, "source_sha256": src_sha, "trw": trw, "trw_router": trw_router,
            "trw_sha256": {d: sha256_file(p) for d, p in trw.items()}, "config": cfg,
            "labels": labels, "label_idx": [labels_cls.index(l) for l in labels], "classes": labels_cls,
            "paths": paths, "good": good, "thresholds": th, "inputs_npz": inputs_npz,
            "cycles": {"plain": list(range(len(paths))), "mix": mix}, "lists": lists,
            "preprocess_max_diff_vs_reference": pdiff}
    prep.update(export_peers(prep, a, full, coarse))
    pj = os.path.join(snap, "prep.json")
    with open(pj, "w") as f:
        json.dump(prep, f, indent=1)
    prep["prep_json"] = pj
    return prep


def export_peers(prep: dict, a, full: np.ndarray, coarse: np.ndarray) -> dict:
    """ONNX export of the passes (tools/train/export_onnx.py's modules, batch axis dynamic) and the
    quantised variants. Cached in the snapshot folder (keyed by the checkpoint hash)."""
    snap = prep["snapshot_dir"]
    name = prep["name"]
    need = set(a.engines)
    f32 = {"coarse": os.path.join(snap, f"{name}.coarse.onnx"), "fine": os.path.join(snap, f"{name}.fine.onnx"),
           "fine_all": os.path.join(snap, f"{name}.fine_all.onnx")}
    echeck = os.path.join(snap, "export-check.json")
    if all(os.path.exists(p) for p in f32.values()) and os.path.exists(echeck):
        with open(echeck) as f:
            checks = json.load(f)
        import onnxruntime as ort
    else:
        checks = export_f32(prep, full, coarse, f32)
        with open(echeck, "w") as f:
            json.dump(checks, f)
    return quantise_peers(prep, a, full, coarse, f32, checks, need)


def export_f32(prep: dict, full: np.ndarray, coarse: np.ndarray, f32: dict) -> dict:
    import torch
    sys.path.insert(0, TRAIN)
    from export_goldens import load_model
    from export_onnx import CoarsePass, FinePass
    snap, name = prep["snapshot_dir"], prep["name"]
    m, cfg = load_model(snap)
    torch.set_num_threads(2)
    cp, fp, fpa = CoarsePass(m).eval(), FinePass(m, m.K).eval(), fine_all_module(m)
    fpa_ref = FinePass(m, m.Gc).eval()
    xc = torch.from_numpy(coarse[:2].copy())
    xf = torch.from_numpy(full[:2].copy())
    kw = dict(opset_version=17, do_constant_folding=True, dynamo=False)
    with torch.no_grad():
        co = cp(xc)
        if not os.path.exists(f32["coarse"]):
            log(f"{name}: exporting ONNX (coarse, fine K={m.K}, fine-all K={m.Gc}; batch axis dynamic)")
            torch.onnx.export(cp, (xc,), f32["coarse"] + ".tmp", input_names=["img_coarse"],
                              output_names=["coarse_logits", "rank_scores", "z", "x0"],
                              dynamic_axes={"img_coarse": {0: "B"}, "coarse_logits": {0: "B"}, "rank_scores": {0: "B"},
                                            "z": {0: "B"}, "x0": {0: "B"}}, **kw)
            os.replace(f32["coarse"] + ".tmp", f32["coarse"])
        for key, mod in (("fine", fp), ("fine_all", fpa)):
            if not os.path.exists(f32[key]):
                torch.onnx.export(mod, (xf, co[1], co[2], co[3]), f32[key] + ".tmp",
                                  input_names=["img_full", "rank_scores", "z", "x0"], output_names=["fine_logits"],
                                  dynamic_axes={"img_full": {0: "B"}, "rank_scores": {0: "B"}, "z": {0: "B"},
                                                "x0": {0: "B"}, "fine_logits": {0: "B"}}, **kw)
                os.replace(f32[key] + ".tmp", f32[key])
        # check the exported graphs at two batch sizes against the reference
        import onnxruntime as ort
        checks = {}
        for b in (1, 3):
            idx = np.arange(b) % full.shape[0]
            xcb, xfb = torch.from_numpy(coarse[idx].copy()), torch.from_numpy(full[idx].copy())
            c = cp(xcb)
            ref_c, ref_f, ref_a = c[0].numpy(), fp(xfb, *c[1:]).numpy(), fpa_ref(xfb, *c[1:]).numpy()
            sc = ort.InferenceSession(f32["coarse"], providers=["CPUExecutionProvider"])
            o = sc.run(None, {"img_coarse": xcb.numpy()})
            feeds = {"img_full": xfb.numpy(), "rank_scores": o[1], "z": o[2], "x0": o[3]}
            sf = ort.InferenceSession(f32["fine"], providers=["CPUExecutionProvider"])
            sa = ort.InferenceSession(f32["fine_all"], providers=["CPUExecutionProvider"])
            of = sf.run(None, {i.name: feeds[i.name] for i in sf.get_inputs()})[0]
            oa = sa.run(None, {i.name: feeds[i.name] for i in sa.get_inputs()})[0]
            checks[f"batch{b}"] = max(float(np.abs(o[0] - ref_c).max()), float(np.abs(of - ref_f).max()),
                                      float(np.abs(oa - ref_a).max()))
        if max(checks.values()) > 1e-3:
            die(f"{name}: ONNX export disagrees with model.py: {checks}")
    return checks


def quantise_peers(prep: dict, a, full, coarse, f32: dict, checks: dict, need: set) -> dict:
    import onnxruntime as ort
    snap, name = prep["snapshot_dir"], prep["name"]
    out = {"onnx": {"f32": f32}, "onnx_check_max_abs_logit_diff": checks, "ov": {}}

    # calibration feeds: the samples themselves (20 images per model; states so in the results)
    cal_c = [{"img_coarse": coarse[i:i + 1]} for i in range(coarse.shape[0])]
    sc = ort.InferenceSession(f32["coarse"], providers=["CPUExecutionProvider"])
    cal_f = []
    for i in range(full.shape[0]):
        o = sc.run(None, cal_c[i])
        cal_f.append({"img_full": full[i:i + 1], "rank_scores": o[1], "z": o[2], "x0": o[3]})

    def cal_for(k: str) -> list:
        import onnx
        names = {i.name for i in onnx.load(f32[k]).graph.input}
        return [{n: v for n, v in d.items() if n in names} for d in (cal_c if k == "coarse" else cal_f)]

    if need & {"ort-int8-dyn", "ort-int8-qdq"}:
        from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                              quantize_static)
        from onnxruntime.quantization.shape_inference import quant_pre_process

        class Reader(CalibrationDataReader):
            def __init__(self, feeds):
                self.it = iter(feeds)

            def get_next(self):
                return next(self.it, None)

        pre = {}
        for k, p in f32.items():
            pp = p.replace(".onnx", ".pre.onnx")
            if not os.path.exists(pp):
                quant_pre_process(p, pp, skip_symbolic_shape=False)
            pre[k] = pp
        if "ort-int8-dyn" in need:
            dq = {k: p.replace(".onnx", ".int8dyn.onnx") for k, p in f32.items()}
            for k in f32:
                if not os.path.exists(dq[k]):
                    log(f"{name}: ORT quantize_dynamic {k}")
                    quantize_dynamic(pre[k], dq[k] + ".tmp.onnx", weight_type=QuantType.QInt8,
                                     op_types_to_quantize=["MatMul", "Gemm"])
                    os.replace(dq[k] + ".tmp.onnx", dq[k])
            out["onnx"]["int8-dyn"] = dq
        if "ort-int8-qdq" in need:
            sq = {k: p.replace(".onnx", ".int8qdq.onnx") for k, p in f32.items()}
            for k in f32:
                if not os.path.exists(sq[k]):
                    log(f"{name}: ORT quantize_static QDQ {k} (calibration: {len(cal_c)} samples)")
                    quantize_static(pre[k], sq[k] + ".tmp.onnx", Reader(cal_for(k)),
                                    quant_format=QuantFormat.QDQ, per_channel=True,
                                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                                    op_types_to_quantize=["MatMul", "Gemm", "Conv"])
                    os.replace(sq[k] + ".tmp.onnx", sq[k])
            out["onnx"]["int8-qdq"] = sq
    if need & {"ov", "ov-int8"}:
        import openvino as ov
        core = ov.Core()
        ovf = {k: p.replace(".onnx", ".ov.xml") for k, p in f32.items()}
        for k, p in f32.items():
            if not os.path.exists(ovf[k]):
                ov.save_model(ov.convert_model(p), ovf[k], compress_to_fp16=False)
        out["ov"]["f32"] = ovf
        if "ov-int8" in need:
            import nncf
            oq = {k: p.replace(".onnx", ".ov-int8.xml") for k, p in f32.items()}
            for k in f32:
                if not os.path.exists(oq[k]):
                    log(f"{name}: NNCF int8 {k} (calibration: {len(cal_c)} samples)")
                    model = core.read_model(ovf[k])
                    data = cal_for(k)
                    q = nncf.quantize(model, nncf.Dataset(data), model_type=nncf.ModelType.TRANSFORMER,
                                      subset_size=len(data))
                    ov.save_model(q, oq[k], compress_to_fp16=False)
            out["ov"]["int8"] = oq
    return out


# ------------------------------------------------------------------------------------------------
# Statistics, machine, report


def pct(sorted_v: list, p: float) -> float:
    """Nearest rank (as `triage bench`): the value at index ceil(p/100 n) - 1 of the sorted samples."""
    if not sorted_v:
        return float("nan")
    r = math.ceil(p / 100.0 * len(sorted_v))
    return sorted_v[min(len(sorted_v) - 1, max(r, 1) - 1)]


def summarise(lat: list, images: int) -> dict:
    s = sorted(lat)
    tot = sum(lat)
    return {"median_ms": pct(s, 50), "p90_ms": pct(s, 90), "p99_ms": pct(s, 99), "max_ms": s[-1], "min_ms": s[0],
            "mean_ms": tot / len(s), "n": len(s), "images": images,
            "images_per_s": images / (tot / 1e3) if tot > 0 else float("nan"),
            "ms_per_image": tot / images if images else float("nan")}


def sh(cmd: list) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout
    except OSError:
        return ""


def machine_state() -> dict:
    la = os.getloadavg()
    train = [l for l in sh(["pgrep", "-af", "train_"]).splitlines() if "pgrep" not in l and "run_peers" not in l]
    return {"loadavg": [round(x, 2) for x in la], "train_processes": len(train), "time": dt.datetime.now().isoformat(timespec="seconds")}


def machine_info() -> dict:
    info = {}
    for line in sh(["lscpu"]).splitlines():
        k, _, v = line.partition(":")
        info[k.strip()] = v.strip()
    flags = set(info.get("Flags", "").split())
    return {"cpu_model": info.get("Model name", "?"), "vendor": info.get("Vendor ID", "?"),
            "cpus": os.cpu_count(), "hypervisor": info.get("Hypervisor vendor", "none"),
            "avx2": "avx2" in flags, "fma": "fma" in flags, "avx512f": "avx512f" in flags,
            "avx512_vnni": "avx512_vnni" in flags, "amx": "amx_tile" in flags, "kernel": os.uname().release}


def versions() -> dict:
    from importlib import metadata
    out = {}
    for m in ("numpy", "torch", "onnx", "onnxruntime", "openvino", "nncf", "matplotlib"):
        try:
            out[m] = metadata.version(m)
        except metadata.PackageNotFoundError:
            out[m] = None
    return out


REQUIRED = {  # engine -> modules it needs in the peers' python
    "ort": ["onnx", "onnxruntime"], "ort-int8-dyn": ["onnx", "onnxruntime.quantization"],
    "ort-int8-qdq": ["onnx", "onnxruntime.quantization"], "ov": ["onnx", "openvino"],
    "ov-int8": ["onnx", "openvino", "nncf"], "torch": ["torch"], "torch-jit": ["torch"],
    "torch-compile": ["torch", "torch._inductor"],
}


def check_peers(engines: list, a) -> None:
    import importlib.util
    missing = []
    for e in engines:
        if e not in ENGINES:
            die(f"unknown engine '{e}' (known: {', '.join(ENGINES)})")
        mods = REQUIRED.get(e, [])
        if any(ENGINES[x][0] != "triage" for x in engines):
            mods = mods + ["onnx", "onnxruntime", "torch"]  # the export and its check need these
        for m in mods:
            top = m.split(".")[0]
            if importlib.util.find_spec(top) is None:
                missing.append(f"{e}: python module '{top}' not installed")
    if not a.no_plot and importlib.util.find_spec("matplotlib") is None:
        missing.append("plot: matplotlib not installed")
    if "torch-compile" in engines and not shutil.which(os.environ.get("CXX", "g++")):
        missing.append("torch-compile: no C++ compiler for inductor (g++)")
    if missing:
        die("peer(s) missing in " + sys.executable + ":\n  " + "\n  ".join(sorted(set(missing))) +
            "\nInstall them with `sh bench/peers/setup.sh` and run with .venv-peers/bin/python, or leave the"
            " engine out with --engines (the results then say which engines ran).")
    if not os.access(a.triage, os.X_OK):
        die(f"triage binary {a.triage} not found: cmake --build build --target triage_cli")
    if subprocess.run([a.triage, "bench", "--help"], capture_output=True).returncode != 0:
        die(f"{a.triage} has no `bench` subcommand: rebuild it (cmake --build build --target triage_cli)")


def iters_for(t_call_ms: float, period: int, seconds: float, max_images: int, batch: int) -> int:
    k = max(1, round(seconds * 1e3 / max(t_call_ms * period, 1e-3)))
    k = max(1, min(k, max_images // max(period * batch, 1)))
    return k * period


def run_all(a) -> dict:
    models = a.models
    engines = a.engines
    started = machine_state()
    minfo = machine_info()
    log(f"machine: {minfo['cpu_model']}, {minfo['cpus']} CPUs, load {started['loadavg']}, "
        f"train processes {started['train_processes']}")
    res_rows = []
    preps = {}
    t_start = time.time()
    procs = {}  # one process per peer engine for the whole run (started now: imports overlap the preparation)
    for e in engines:
        kind, variant, _ = ENGINES[e]
        procs[e] = TriageProcess(a.triage, variant) if kind == "triage" else PeerProcess(a.python, e, max(a.threads))
    for name in models:
        log(f"{name}: preparing (snapshot, .trw, inputs, ONNX export, quantised peers)")
        preps[name] = prepare_model(name, a, a.work)
    for name in models:
        prep = preps[name]
        for threads in a.threads:
            configs = [(p, b) for b in a.batch for p in a.passes]
            est = {}
            acc = {}
            for r in range(a.rounds + 1):
                for (p, b) in configs:
                    cname = "mix" if p == "routed" else "plain"
                    cycle = prep["cycles"][cname]
                    L = len(cycle)
                    period = L // math.gcd(L, b)
                    order = engines[r % len(engines):] + engines[:r % len(engines)]
                    if r % 2 == 0:
                        order = order[::-1]
                    for e in order:
                        if r == 0:  # warm-up round: compile / first-touch everything, estimate the call time
                            iters, warmup = min(2 if a.quick else 3, period), 1
                        elif a.quick:  # self-check: a handful of calls (partial cycles: the mix is approximate)
                            iters, warmup = min(period, 6), 1
                        else:
                            t = est[(p, b, e)]
                            iters = iters_for(t, period, a.seconds, a.max_images, b)
                            warmup = max(1, min(period, math.ceil(a.warmup_seconds * 1e3 / max(t, 1e-3))))
                        req = {"op": "run", "pass": p, "batch": b, "cycle": cycle, "cycle_name": cname,
                               "iters": iters, "warmup": warmup, "prep_json": prep["prep_json"], "threads": threads}
                        t0 = time.time()
                        out = procs[e].run(req)
                        if a.verbose:
                            log(f"  {name} t{threads} b{b} {p:8s} {e:13s} round {r}: {iters} x median "
                                f"{np.median(out['latency_ms']):.2f} ms ({time.time() - t0:.1f} s wall)")
                        if r == 0:
                            est[(p, b, e)] = float(np.median(out["latency_ms"]))
                            continue
                        k = (p, b, e)
                        d = acc.setdefault(k, {"lat": [], "images": 0, "escalated": 0, "inconsistent": 0,
                                                "decided": {}, "rounds": [], "isa": out.get("isa")})
                        d["lat"] += out["latency_ms"]
                        d["images"] += out["images"]
                        d["escalated"] += out["escalated"]
                        d["inconsistent"] += out["inconsistent"]
                        for i, c in out["decided"].items():
                            if d["decided"].setdefault(i, c) != c:
                                d["inconsistent"] += 1
                        d["rounds"].append({"round": r, "median_ms": float(np.median(out["latency_ms"])),
                                            "n": len(out["latency_ms"]), "wall_s": round(time.time() - t0, 3)})
                log(f"{name} threads {threads}: round {r}/{a.rounds} done ({time.time() - t_start:.0f} s, "
                    f"load {os.getloadavg()[0]:.2f})")
            for (p, b, e), d in acc.items():
                cname = "mix" if p == "routed" else "plain"
                cycle = prep["cycles"][cname]
                lab = prep["label_idx"]
                covered = [i for i in cycle if str(i) in d["decided"]]  # all of them unless --quick
                correct = sum(1 for i in covered if d["decided"][str(i)] == lab[i])
                row = {"model": name, "threads": threads, "batch": b, "pass": p, "engine": e,
                       **summarise(d["lat"], d["images"]),
                       "accuracy": correct / max(len(covered), 1), "coverage": len(covered) / len(cycle),
                       "escalation_rate": d["escalated"] / d["images"],
                       "inconsistent": d["inconsistent"], "decided": d["decided"], "latency_ms": d["lat"],
                       "rounds": d["rounds"], "cycle": cname}
                if d.get("isa"):
                    row["isa"] = d["isa"]
                res_rows.append(row)
    for pr in procs.values():
        pr.close()
    finished = machine_state()
    # agreement with PyTorch eager (f32 reference) and ratios to triage
    by = {(r["model"], r["threads"], r["batch"], r["pass"], r["engine"]): r for r in res_rows}
    for r in res_rows:
        key = (r["model"], r["threads"], r["batch"], r["pass"])
        ref = by.get(key + ("torch",))
        prep = preps[r["model"]]
        cycle = prep["cycles"][r["cycle"]]
        if ref:
            both = [i for i in cycle if str(i) in r["decided"] and str(i) in ref["decided"]]
            r["agree_torch"] = sum(1 for i in both if r["decided"][str(i)] == ref["decided"][str(i)]) / max(len(both), 1)
        for t in ("triage-q8", "triage-f32"):
            tr = by.get(key + (t,))
            if tr:
                r[f"{t}_speedup"] = r["median_ms"] / tr["median_ms"]
                r[f"{t}_throughput_ratio"] = tr["images_per_s"] / r["images_per_s"]
    return {"started": started, "finished": finished, "machine": minfo, "rows": res_rows, "preps": preps,
            "wall_s": round(time.time() - t_start, 1)}


def targets(rows: list) -> list:
    by = {(r["model"], r["threads"], r["batch"], r["pass"], r["engine"]): r for r in rows}
    out = []
    for m in sorted({r["model"] for r in rows}):
        tq = by.get((m, 2, 1, "fine", "triage-q8"))
        for peer, goal in (("ort", 3.0), ("ov", 1.2)):
            pr = by.get((m, 2, 1, "fine", peer))
            if tq and pr:
                ratio = pr["median_ms"] / tq["median_ms"]
                out.append({"model": m, "target": f"fine pass, 2 threads, batch 1: triage-q8 >= {goal}x {peer}",
                            "measured": ratio, "goal": goal, "met": ratio >= goal,
                            "detail": f"triage-q8 {tq['median_ms']:.2f} ms vs {peer} {pr['median_ms']:.2f} ms (medians)"})
        for b in (1, 8):
            tr = by.get((m, 2, b, "routed", "triage-q8"))
            tf = by.get((m, 2, b, "fine", "triage-q8"))
            if tr and tf:
                ratio = tf["ms_per_image"] / tr["ms_per_image"]
                out.append({"model": m, "target": f"routed >= 4x cheaper than fine-only (triage-q8, 2 threads, batch {b}, mean per image)",
                            "measured": ratio, "goal": 4.0, "met": ratio >= 4.0,
                            "detail": f"fine {tf['ms_per_image']:.2f} ms/image vs routed {tr['ms_per_image']:.2f} ms/image, "
                                      f"escalation {100 * tr['escalation_rate']:.0f}% on the routed mix"})
    return out


def fmt(x, nd=2):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{nd}f}"


def markdown(run: dict, a, cmdline: str, json_rel: str, png_rel: str) -> str:
    m, s, f = run["machine"], run["started"], run["finished"]
    v = run["versions"]
    isa = sorted({r.get("isa") for r in run["rows"] if r.get("isa")})
    L = []
    default = {"models": MODELS, "engines": DEFAULT_ENGINES, "passes": PASSES, "threads": DEFAULT_THREADS,
               "batch": DEFAULT_BATCH}
    kind = "quick self-check" if a.quick else (
        "full" if all(sorted(getattr(a, k)) == sorted(v) for k, v in default.items()) else "subset")
    L.append(f"### Peers run {run.get('tag', run['date'])} ({kind})")
    L.append("")
    L.append(f"- Command: `{cmdline}` ({run['wall_s']:.0f} s)")
    L.append(f"- Machine: {m['cpu_model']} ({m['vendor']}), {m['cpus']} vCPUs, {m['hypervisor']} guest; "
             f"AVX2+FMA {'yes' if m['avx2'] and m['fma'] else 'no'}, AVX-512 {'yes' if m['avx512f'] else 'NO'}, "
             f"VNNI {'yes' if m['avx512_vnni'] else 'no'}, AMX {'yes' if m['amx'] else 'no'}; triage ran ISA {', '.join(isa) or '?'}. "
             "docs/ANCHORS.md was measured on an Intel Xeon with AVX-512/VNNI/AMX: its peaks do not apply here.")
    L.append(f"- Load average (1/5/15 min) at start {s['loadavg']}, at end {f['loadavg']}; training processes "
             f"running: {s['train_processes']} at start, {f['train_processes']} at end"
             + (" (NOT a quiet machine: absolute numbers are inflated and noisy; the ratios are the"
                " useful part, engines alternate in rounds)" if max(s['loadavg'][0], f['loadavg'][0]) >= 1.5
                or s['train_processes'] or f['train_processes'] else " (quiet)") + ".")
    tb = run.get("triage_binary", {})
    L.append(f"- Versions: triage {run['triage_version']} (binary sha256 {tb.get('sha256', '?')[:12]}, built from the shared working tree, HEAD "
             f"{tb.get('git_head', '?')}), onnxruntime {v.get('onnxruntime')}, openvino {v.get('openvino')}, "
             f"nncf {v.get('nncf')}, torch {v.get('torch')}, numpy {v.get('numpy')}.")
    L.append(f"- Settings: threads {a.threads} (ORT intra_op = N, inter_op = 1, sequential; OpenVINO "
             "INFERENCE_NUM_THREADS = N, 1 stream, latency hint; torch.set_num_threads(N), interop 1; triage "
             f"--threads N), batch {a.batch}, {a.rounds} timed rounds of about {a.seconds} s per engine and setting "
             "after an untimed warm-up round (and a warm-up inside every round), engine order rotated every round.")
    L.append("- Timed region: triage: the `triage_classify(_batch)` call, which INCLUDES its fused resize + "
             "normalise from the raw u8/u16 image. Peers: the passes plus the router rule in numpy; their "
             "preprocessing (numpy, the engine's exact bilinear + normalise, checked against model.py to "
             "<= 1e-5) is done once, OUTSIDE the timed region. Image decoding is outside for everyone.")
    for name, p in run["preps"].items():
        th = p["thresholds"]
        mix = p["cycles"]["mix"]
        ng = sum(1 for i in mix if p["labels"][i] == p["config"]["good_label"])
        L.append(f"- {name}: checkpoint sha256 {p['source_sha256'][:12]}, .trw {', '.join(os.path.relpath(x, ROOT) for x in p['trw'].values())}; "
                 f"router {'calibrated' if th['calibrated'] else 'UNCALIBRATED (coarse good exit disabled)'}: "
                 f"coarse_good {th['coarse_good']}, coarse_defect {th['coarse_defect']}, fine_good {th['fine_good']}. "
                 f"Passes coarse/fine/fine-all on the {len(p['paths'])} samples once each; routed on a {len(mix)}-image "
                 f"cycle, {ng} good ({100 * ng / len(mix):.0f}%), listed in the JSON. ONNX export max |logit diff| vs "
                 f"model.py {max(p['onnx_check_max_abs_logit_diff'].values()):.1e}.")
    L.append(f"- Data: [{os.path.basename(json_rel)}]({os.path.relpath(json_rel, os.path.dirname(a.results_md))}) "
             f"(every latency, every decision), plot [{os.path.basename(png_rel)}]({os.path.relpath(png_rel, os.path.dirname(a.results_md))}).")
    L.append("- Columns: latency per call (one image at batch 1, eight at batch 8) in ms; acc = accuracy on the "
             "same images (the cycle: samples, or the routed mix); agree = decisions equal to PyTorch eager f32; "
             "esc = escalation rate; q8 x = this engine's median / triage-q8's median (> 1: triage faster).")
    L.append("")
    tg = run["targets"]
    if tg:
        L.append("Targets:")
        L.append("")
        for t in tg:
            L.append(f"- {t['model']}: {t['target']}: **{t['measured']:.2f}x**, {'MET' if t['met'] else 'NOT MET'} ({t['detail']})")
        L.append("")
    L.append("| model | pass | thr | batch | engine | median | p90 | p99 | max | img/s | acc | agree | esc | q8 x | n |")
    L.append("|---|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    eo = {e: i for i, e in enumerate(ENGINES)}
    po = {p: i for i, p in enumerate(PASSES)}
    rows = sorted(run["rows"], key=lambda r: (MODELS.index(r["model"]) if r["model"] in MODELS else 9, r["model"],
                                               po[r["pass"]], r["threads"], r["batch"], eo[r["engine"]]))
    for r in rows:
        eng = f"**{r['engine']}**" if r["engine"] == "triage-q8" else r["engine"]
        pr = run["preps"][r["model"]]
        if (r["pass"] == "routed" and r["engine"] == "triage-f32"
                and pr["trw_router"]["f32"] != pr["trw_router"]["q8"]):
            eng += " (own router: uncalibrated)" if not pr["trw_router"]["f32"]["calibrated"] else " (own router)"
        L.append(f"| {r['model']} | {r['pass']} | {r['threads']} | {r['batch']} | {eng} | {fmt(r['median_ms'])} | "
                 f"{fmt(r['p90_ms'])} | {fmt(r['p99_ms'])} | {fmt(r['max_ms'])} | {fmt(r['images_per_s'], 1)} | "
                 f"{100 * r['accuracy']:.0f}% | {fmt(100 * r['agree_torch'], 0) + '%' if 'agree_torch' in r else '-'} | "
                 f"{100 * r['escalation_rate']:.0f}% | {fmt(r.get('triage-q8_speedup'))} | {r['n']} |")
    L.append("")
    return "\n".join(L) + "\n"


def append_section(md_path: str, text: str) -> None:
    """Adds text at the end of the '## Peers' section of md_path (creating the section at the end of the
    file when it is not there); the rest of the file is left as it is."""
    old = open(md_path).read() if os.path.exists(md_path) else "# Benchmark results\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.rstrip() == "## Peers"), None)
    if start is None:
        new = old + ("" if old.endswith("\n") else "\n") + "\n## Peers\n\n" \
              "Written by `bench/peers/run_peers.py` (see bench/peers/README.md); newest run last.\n\n" + text
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        head = "".join(lines[:end])
        if not head.endswith("\n\n"):
            head += "\n" if head.endswith("\n") else "\n\n"
        new = head + text + ("\n" + "".join(lines[end:]) if end < len(lines) else "")
    tmp = md_path + ".tmp-peers"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, md_path)


def plot(run: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    rows = run["rows"]
    groups = sorted({(r["model"], r["threads"], r["batch"]) for r in rows},
                    key=lambda g: (MODELS.index(g[0]) if g[0] in MODELS else 9, g[1], g[2]))
    passes = [p for p in PASSES if any(r["pass"] == p for r in rows)]
    engines = [e for e in ENGINES if any(r["engine"] == e for r in rows)]
    fig, axes = plt.subplots(len(groups), len(passes), figsize=(5.2 * len(passes), 0.42 * len(engines) * len(groups) + 1.5),
                             squeeze=False)
    colors = {e: plt.cm.tab10(i % 10) for i, e in enumerate(engines)}
    for gi, (m, t, b) in enumerate(groups):
        for pi, p in enumerate(passes):
            ax = axes[gi][pi]
            data, labels, cols = [], [], []
            for e in engines:
                r = next((x for x in rows if (x["model"], x["threads"], x["batch"], x["pass"], x["engine"]) == (m, t, b, p, e)), None)
                if r:
                    data.append(r["latency_ms"])
                    labels.append(f"{e}  {r['median_ms']:.2f}")
                    cols.append(colors[e])
            if not data:
                ax.axis("off")
                continue
            try:
                bp = ax.boxplot(data, orientation="horizontal", whis=(1, 99), showfliers=False, patch_artist=True,
                                widths=0.6)
            except TypeError:  # matplotlib < 3.10
                bp = ax.boxplot(data, vert=False, whis=(1, 99), showfliers=False, patch_artist=True, widths=0.6)
            for patch, c in zip(bp["boxes"], cols):
                patch.set_facecolor(c)
                patch.set_alpha(0.55)
            for i, d in enumerate(data):
                ax.plot([max(d)], [i + 1], "x", color="k", ms=4)
            ax.set_yticks(range(1, len(labels) + 1))
            ax.set_yticklabels(labels, fontsize=7)
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.grid(True, axis="x", which="both", alpha=0.3)
            ax.invert_yaxis()
            ax.set_title(f"{m} {p}, {t} thr, batch {b}", fontsize=9)
            ax.tick_params(axis="x", labelsize=7)
            if gi == len(groups) - 1:
                ax.set_xlabel("ms per call (box: p25-p75, whiskers p1-p99, x: max; label: median)", fontsize=7)
    fig.suptitle(f"triage vs peers, latency per call, {run['machine']['cpu_model']} {run['machine']['cpus']} vCPUs, "
                 f"load {run['started']['loadavg'][0]}-{run['finished']['loadavg'][0]}, {run['date']}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=72)
    plt.close(fig)


def output_paths(out_dir: str, date: str) -> tuple[str, str, str]:
    """(tag, results json, latency png) for a run on `date`: the first of <date>, <date>-2, <date>-3 ...
    whose files do not exist yet, so a second run on one day never replaces the first run's data."""
    n = 1
    while True:
        tag = date if n == 1 else f"{date}-{n}"
        jpath = os.path.join(out_dir, f"results-{tag}.json")
        ppath = os.path.join(out_dir, f"latency-{tag}.png")
        if not os.path.exists(jpath) and not os.path.exists(ppath):
            return tag, jpath, ppath
        n += 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--engines", default=None, help="comma list; default all: " + ",".join(DEFAULT_ENGINES))
    ap.add_argument("--passes", default=",".join(PASSES))
    ap.add_argument("--threads", default=",".join(map(str, DEFAULT_THREADS)))
    ap.add_argument("--batch", default=",".join(map(str, DEFAULT_BATCH)))
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds (after one untimed warm-up round)")
    ap.add_argument("--seconds", type=float, default=1.0, help="target timed seconds per engine, setting and round")
    ap.add_argument("--warmup-seconds", type=float, default=0.2, help="warm-up inside each round")
    ap.add_argument("--max-images", type=int, default=1000, help="cap on images per engine, setting and round")
    ap.add_argument("--quick", action="store_true", help="self-check: 2 threads, 1 round, a handful of iterations; writes under out/peers/quick, leaves bench/RESULTS.md alone")
    ap.add_argument("--triage", default=os.path.join(ROOT, "build", "triage"))
    ap.add_argument("--build", default="build", help="build folder holding models/<name>.<dtype>.trw")
    ap.add_argument("--trw", action="append", default=[], metavar="NAME.DTYPE=PATH",
                    help="use this .trw for a model (e.g. adc-pcb.q8=build/models/adc-pcb.q8.trw)")
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "peers"), help="exports, quantised models (git-ignored)")
    ap.add_argument("--out-dir", default=None, help="results folder (default bench/peers, quick: out/peers/quick)")
    ap.add_argument("--results-md", default=None, help="markdown file whose '## Peers' section gets the table "
                    "(default bench/RESULTS.md; quick: none)")
    ap.add_argument("--no-append", action="store_true", help="do not touch the results markdown")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--verbose", "-v", action="store_true", help="log every timed request")
    ap.add_argument("--date", default=dt.date.today().isoformat())
    ap.add_argument("--python", default=sys.executable, help="python that runs the peer workers")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--prep", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker_main(a)
    a.models = [x for x in a.models.split(",") if x]
    a.passes = [x for x in a.passes.split(",") if x]
    for p in a.passes:
        if p not in PASSES:
            die(f"unknown pass '{p}' ({', '.join(PASSES)})")
    a.threads = [int(x) for x in a.threads.split(",") if x]
    a.batch = [int(x) for x in a.batch.split(",") if x]
    if a.engines is None:
        a.engines = list(DEFAULT_ENGINES)
    else:
        a.engines = [x for x in a.engines.split(",") if x]
    if a.quick:
        if "--threads" not in " ".join(sys.argv):
            a.threads = [2]
        a.rounds, a.seconds, a.warmup_seconds, a.max_images = 1, 0.01, 0.01, 64
    a.trw = dict(x.split("=", 1) for x in a.trw)
    a.triage = os.path.abspath(a.triage)
    out_dir = a.out_dir or (os.path.join(ROOT, "out", "peers", "quick") if a.quick else HERE)
    if a.results_md is None:
        a.results_md = os.path.join(out_dir, "RESULTS-quick.md") if a.quick else os.path.join(ROOT, "bench", "RESULTS.md")
    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(a.work, exist_ok=True)
    check_peers(a.engines, a)
    # a private copy of the binary: other people rebuild build/triage while a run goes on
    tsha = sha256_file(a.triage)
    tcopy = os.path.join(a.work, "bin", f"triage-{tsha[:12]}")
    if not os.path.exists(tcopy):
        os.makedirs(os.path.dirname(tcopy), exist_ok=True)
        shutil.copy2(a.triage, tcopy + ".tmp")
        os.replace(tcopy + ".tmp", tcopy)
    a.triage_source, a.triage = a.triage, tcopy
    cmdline = "python " + os.path.relpath(os.path.abspath(__file__), ROOT) + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")

    run = run_all(a)
    run["date"] = a.date
    run["versions"] = versions()
    run["triage_version"] = sh([a.triage, "--version"]).strip().replace("triage ", "")
    run["triage_binary"] = {"source": os.path.relpath(a.triage_source, ROOT), "sha256": tsha,
                            "git_head": sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()}
    run["targets"] = targets(run["rows"])
    run["settings"] = {k: getattr(a, k) for k in ("models", "engines", "passes", "threads", "batch", "rounds",
                                                   "seconds", "warmup_seconds", "max_images", "quick")}
    run["command"] = cmdline
    run["engines"] = {e: ENGINES[e][2] for e in a.engines}
    run["notes"] = {
        "timed_region_triage": "triage_classify / triage_classify_batch call, including fused resize + normalise",
        "timed_region_peers": "coarse (+ fine) passes and the router rule; preprocessing done once in numpy outside",
        "calibration_data": "int8 peers (ORT QDQ, NNCF) are calibrated on the same 20 samples they are measured on "
                            "(optimistic for their accuracy); triage q8 needs no activation calibration",
        "percentiles": "nearest rank over all timed calls of all rounds",
    }
    for p in run["preps"].values():
        p["mix_listing"] = [{"path": p["paths"][i], "label": p["labels"][i]} for i in p["cycles"]["mix"]]
    tag, jpath, ppath = output_paths(out_dir, a.date)
    run["tag"] = tag
    for r in run["rows"]:
        r["latency_ms"] = [round(x, 4) for x in r["latency_ms"]]
    with open(jpath + ".tmp", "w") as f:
        json.dump(run, f, separators=(",", ":"), default=float)
    os.replace(jpath + ".tmp", jpath)
    if not a.no_plot:
        plot(run, ppath + ".tmp.png")
        os.replace(ppath + ".tmp.png", ppath)
    md = markdown(run, a, cmdline, jpath, ppath)
    if not a.no_append:
        append_section(a.results_md, md)
    print(md)
    log(f"wrote {os.path.relpath(jpath, ROOT)}" + ("" if a.no_plot else f", {os.path.relpath(ppath, ROOT)}") +
        ("" if a.no_append else f"; appended to {os.path.relpath(a.results_md, ROOT)}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
