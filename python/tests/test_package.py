"""Tests of the `triage` Python package (python/): it must decide exactly as `triage run` does, read
arrays as the C API's rules say, and turn every failure into the documented exception.

Needs the main build (build/triage, build/models/*.trw; TRIAGE_BUILD_DIR points elsewhere) and the
package installed (python3 -m pip install .).
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import threading

import numpy as np
import pytest

import triage

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("TRIAGE_BUILD_DIR", os.path.join(ROOT, "build"))
CLI = os.path.join(BUILD, "triage")
SHIPPED = sorted(os.path.basename(os.path.dirname(d)) for d in glob.glob(os.path.join(ROOT, "models", "*", "config.json")))


def trw(name):
    path = os.path.join(BUILD, "models", name + ".trw")
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: build the project first (cmake --build build)")
    return path


def cli_rows(model, inputs, *extra):
    out = subprocess.run([CLI, "run", model, *inputs, "--json", *extra], check=True, capture_output=True,
                         text=True).stdout
    return [r for r in map(json.loads, out.splitlines()) if "summary" not in r]


def same_as_cli(row, r, names):
    assert r.class_name == row["class"], row["path"]
    assert r.confidence == row["confidence"], row["path"]  # float32 both ways: exact
    assert r.route == row["route"], row["path"]
    assert r.review == row["review"], row["path"]
    assert r.unknown == row.get("unknown", False), row["path"]
    assert r.tokens == row["tokens"], row["path"]
    assert r.probabilities.tolist() == [row["probabilities"][n] for n in names], row["path"]
    assert names[r.class_index] == r.class_name


def test_models_are_shipped():
    assert set(SHIPPED) >= {"awc-wm811k", "adc-pcb", "adc-optical"}, SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("threads", [1, 2])
def test_decides_as_triage_run_on_every_shipped_sample(name, threads):
    path = trw(name)
    rows = cli_rows(path, [os.path.join(ROOT, "models", name, "samples")], "--threads", "1")
    assert len(rows) >= 10
    m = triage.Model(path, threads=threads, max_batch=4)
    names = m.class_names
    imgs = [triage.read_image(r["path"], channels=m.in_channels) for r in rows]
    for row, img in zip(rows, imgs):
        same_as_cli(row, m.classify(img), names)
    # classify_batch: any length (run in batches of max_batch), each result as triage run's
    batch = m.classify_batch(imgs)
    assert len(batch) == len(rows)
    for row, r in zip(rows, batch):
        same_as_cli(row, r, names)


@pytest.mark.parametrize("force", ["coarse", "fine", "fine-all"])
def test_forced_routes_as_triage_run(force):
    path = trw("adc-pcb")
    rows = cli_rows(path, [os.path.join(ROOT, "models", "adc-pcb", "samples")], "--force", force)
    m = triage.Model(path, force=force)
    for row in rows:
        same_as_cli(row, m.classify(triage.read_image(row["path"], channels=1)), m.class_names)
    assert {row["route"] for row in rows} == {"coarse" if force == "coarse" else "fine"}


def test_open_from_bytes_equals_open_from_path():
    path = trw("awc-wm811k")
    with open(path, "rb") as f:
        data = f.read()
    a, b, c = triage.Model(path), triage.Model(data), triage.Model(memoryview(bytearray(data)))
    img = triage.read_image(sorted(glob.glob(os.path.join(ROOT, "models", "awc-wm811k", "samples", "*.npy")))[0])
    ra, rb, rc = a.classify(img), b.classify(img), c.classify(img)
    assert ra.probabilities.tolist() == rb.probabilities.tolist() == rc.probabilities.tolist()
    import pathlib
    assert triage.Model(pathlib.Path(path)).info["model_name"] == "awc-wm811k"


def test_info_is_the_model_info():
    m = triage.Model(trw("adc-pcb"), threads=2, max_batch=3)
    i = m.info
    assert i["model_name"] == "adc-pcb" and i["arch"] == "cfvit" and i["weight_dtype"] == "q8"
    assert i["class_names"] == m.class_names and i["num_classes"] == len(m.class_names) == 7
    assert i["class_names"][i["good_class"]] == "none"
    assert (i["threads"], i["max_batch"], i["force"]) == (2, 3, "none")
    assert i["in_channels"] == m.in_channels == 1 and i["img_full"] == 128 and i["img_coarse"] == 64
    assert i["router_calibrated"] is True and len(i["class_review_thresholds"]) == 7
    assert triage.Model(trw("adc-optical")).info["good_class"] == -1


def test_arrays_read_in_place_or_copied_decide_the_same():
    m = triage.Model(trw("adc-optical"))
    path = sorted(glob.glob(os.path.join(ROOT, "models", "adc-optical", "samples", "*.jpg")))[0]
    img = triage.read_image(path, channels=3)
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
    ref = m.classify(img).probabilities.tolist()
    big = np.zeros((img.shape[0] + 6, img.shape[1] + 10, 3), np.uint8)
    big[3:-3, 4:-6] = img
    crop = big[3:-3, 4:-6]                                  # row stride > width: read in place
    assert not crop.flags.c_contiguous
    assert m.classify(crop).probabilities.tolist() == ref
    assert m.classify(np.asfortranarray(img)).probabilities.tolist() == ref   # copied
    flipped = img[::-1][::-1]                               # negative then positive: a plain view
    assert m.classify(flipped).probabilities.tolist() == ref
    assert m.classify(img[::-1].copy()[::-1]).probabilities.tolist() == ref   # negative row stride: copied
    ro = img.copy()
    ro.setflags(write=False)
    assert m.classify(ro).probabilities.tolist() == ref


def test_u16_input_is_the_c_api_rule():
    # u16 values scale by max_value_u16 (65535 for adc-pcb); 257 * v for u8 v gives the same input.
    m = triage.Model(trw("adc-pcb"))
    path = sorted(glob.glob(os.path.join(ROOT, "models", "adc-pcb", "samples", "*.png")))[0]
    u8 = triage.read_image(path, channels=1)
    assert u8.ndim == 2
    r8, r16 = m.classify(u8), m.classify(u8.astype(np.uint16) * 257)
    assert r8.class_name == r16.class_name
    np.testing.assert_allclose(r8.probabilities, r16.probabilities, atol=2e-3)
    assert m.classify(u8[:, :, None]).probabilities.tolist() == r8.probabilities.tolist()  # (H, W, 1)


def test_wrong_arrays_and_options_are_refused():
    m = triage.Model(trw("adc-pcb"))
    with pytest.raises(TypeError):
        m.classify(np.zeros((64, 64), np.float32))
    with pytest.raises(ValueError):
        m.classify(np.zeros((2, 64, 64, 1), np.uint8))
    with pytest.raises(ValueError):
        m.classify(np.zeros((0, 64), np.uint8))
    with pytest.raises(triage.TriageError) as e:
        m.classify(np.ones((64, 64, 3), np.uint8))        # 3 channels for a grey model
    assert e.value.status == "INVALID_ARGUMENT" and "channel" in e.value.message
    with pytest.raises(ValueError):
        triage.Model(trw("adc-pcb"), isa="sse9")
    with pytest.raises(ValueError):
        triage.Model(trw("adc-pcb"), force="sometimes")
    with pytest.raises(triage.TriageError) as e:
        triage.Model(trw("adc-pcb"), threads=0)
    assert e.value.status == "INVALID_ARGUMENT"
    with pytest.raises(TypeError):
        triage.Model(12345)


def test_bad_files_raise_the_c_api_status_and_message():
    with pytest.raises(triage.TriageError) as e:
        triage.Model(b"not a model at all, just some bytes")
    assert e.value.status == "FORMAT" and e.value.message
    with pytest.raises(triage.TriageError) as e:
        triage.Model("/nonexistent/model.trw")
    assert e.value.status == "IO"
    data = bytearray(open(trw("adc-pcb"), "rb").read())
    data[len(data) // 2] ^= 0x40                            # a flipped bit: the checksum refuses it
    with pytest.raises(triage.TriageError) as e:
        triage.Model(bytes(data))
    assert e.value.status == "FORMAT"


def key_bytes(pub_path):
    """The 32 bytes of a `triage keygen` public key file ("triage-ed25519-public <64 hex digits>")."""
    tag, hexkey = open(pub_path).read().split()
    assert tag == "triage-ed25519-public"
    return bytes.fromhex(hexkey)


def test_public_key_refuses_an_unsigned_model_and_accepts_a_signed_one(tmp_path):
    key = tmp_path / "k"
    subprocess.run([CLI, "keygen", "--out", str(key)], check=True, capture_output=True)
    signed = tmp_path / "signed.trw"
    subprocess.run([CLI, "sign", trw("adc-pcb"), "--key", str(key) + ".key", "-o", str(signed)], check=True,
                   capture_output=True)
    pk = key_bytes(str(key) + ".pub")
    assert triage.Model(str(signed), public_key=pk).info["model_name"] == "adc-pcb"
    with pytest.raises(triage.TriageError) as e:
        triage.Model(trw("adc-pcb"), public_key=pk)
    assert e.value.status == "SIGNATURE"
    with pytest.raises(ValueError):
        triage.Model(str(signed), public_key=b"short")


def test_decode_image_equals_read_image_and_applies_the_channel_rule():
    path = sorted(glob.glob(os.path.join(ROOT, "models", "adc-optical", "samples", "*.jpg")))[0]
    data = open(path, "rb").read()
    a, b = triage.decode_image(data), triage.read_image(path)
    assert a.shape == b.shape and (a == b).all() and a.ndim == 3
    grey = triage.decode_image(bytearray(data), channels=1)
    assert grey.ndim == 2 and grey.shape == a.shape[:2]
    a64 = a.astype(np.int64)
    y = (299 * a64[..., 0] + 587 * a64[..., 1] + 114 * a64[..., 2] + 500) // 1000  # Rec. 601, README
    assert (grey == y).all()
    with pytest.raises(triage.ImageError):
        triage.decode_image(data[: len(data) // 3])        # truncated JPEG: refused, not filled in
    with pytest.raises(triage.ImageError):
        triage.decode_image(b"hello")
    with pytest.raises(triage.ImageError):
        triage.read_image("/nonexistent.png")


def test_features_are_the_head_input():
    m = triage.Model(trw("adc-pcb"))
    img = triage.read_image(sorted(glob.glob(os.path.join(ROOT, "models", "adc-pcb", "samples", "*.png")))[0], channels=1)
    r = m.classify(img)
    f = m.features(0, "coarse")
    assert f.dtype == np.float32 and f.shape == (m.info["embed_dim"],) and np.isfinite(f).all() and f.std() > 0
    if r.route == "coarse":
        with pytest.raises(triage.TriageError):
            m.features(0, "fine")


def test_one_model_from_many_threads_decides_as_from_one():
    m = triage.Model(trw("adc-pcb"), threads=2)
    paths = sorted(glob.glob(os.path.join(ROOT, "models", "adc-pcb", "samples", "*.png")))
    imgs = [triage.read_image(p, channels=1) for p in paths]
    ref = [m.classify(i).probabilities.tolist() for i in imgs]
    got, errors = {}, []

    def work(t):
        try:
            for k in range(3):
                for j, i in enumerate(imgs):
                    got[(t, k, j)] = m.classify(i).probabilities.tolist()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert all(v == ref[j] for (_, _, j), v in got.items()) and len(got) == 4 * 3 * len(imgs)


def test_the_gil_is_released_while_classifying():
    # A Python thread keeps counting while another thread classifies: with the GIL held for the whole
    # classify call, the counter could only advance between calls (the switch interval is raised so
    # Python would not preempt the classifying thread inside a call on its own).
    import sys
    m = triage.Model(trw("adc-optical"), force="fine-all")
    img = triage.read_image(sorted(glob.glob(os.path.join(ROOT, "models", "adc-optical", "samples", "*.jpg")))[0], channels=3)
    old = sys.getswitchinterval()
    sys.setswitchinterval(5.0)
    try:
        stop, count = threading.Event(), [0]

        def spin():
            while not stop.is_set():
                count[0] += 1

        t = threading.Thread(target=spin)
        t.start()
        try:
            for _ in range(3):
                m.classify(img)   # each call releases the GIL: spin runs during it
        finally:
            stop.set()
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert count[0] > 1000


def test_closed_model_and_context_manager():
    with triage.Model(trw("adc-pcb")) as m:
        img = np.full((128, 128), 128, np.uint8)
        m.classify(img)
    with pytest.raises(triage.TriageError) as e:
        m.classify(img)
    assert e.value.status == "INVALID_ARGUMENT" and "closed" in e.value.message


def test_version_and_stub_match_the_module():
    assert triage.version() == triage.__version__
    stub = open(os.path.join(ROOT, "python", "triage", "__init__.pyi")).read()
    for name in ("class Model", "class Result", "def decode_image", "def read_image", "class TriageError",
                 "def classify_batch", "def features"):
        assert name in stub
    for attr in ("class_index", "class_name", "confidence", "probabilities", "route", "review", "tokens",
                 "coarse_us", "fine_us"):
        assert hasattr(triage.Result, attr) and attr in stub
