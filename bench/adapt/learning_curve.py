#!/usr/bin/env python3
"""bench/adapt: `triage adapt` on real SEM images (../shared/data/sem, 9 classes, never shipped).

    python3 bench/adapt/learning_curve.py --triage build/triage --model adc-pcb=build/models/adc-pcb.q8.trw \
        --model adc-optical=build/models/adc-optical.q8.trw [--seeds 0 1 2] [--shots 5 10 20 all] \
        [--e2e adc-pcb] [--e2e-steps 300] [--add-val tools/train/runs/calib/adc-pcb/val.csv] --out DIR

1. A fixed image-wise split (stratified, seed 2026): 30% of each class is the test set, the rest the pool.
2. Learning curve: for each seed and shots (images per class, or all), a class-balanced draw from the
   pool; `triage adapt MODEL --classes replace --good clean --holdout test` (the C++ head on the model's
   own features; held-out accuracy of the stored head, fine and coarse pass); beside it the PyTorch
   linear probe on the same features and lambda (tools/train/linear_probe.py: checks the C++ fit), and
   for the --e2e models the same backbone fine-tuned end to end in PyTorch on the same images
   (tools/train/finetune_e2e.py).
3. Time: adaptation of 200 images (22 per class + 2), features + fit, 2 threads.
4. New defect type (--add-val: the base model's own validation CSV): `--classes add` of one SEM class
   (particle) with 10 and 20 labels, beside --add-old-per (10) images of each old class drawn from
   --add-old (the base's calibration CSV: images the fab already has labels for); old-class accuracy on
   the validation CSV before and after (`triage eval`, forced fine pass and routed, both files
   uncalibrated: the same decision rule), and the new class's held-out recall.
Writes DIR/results.json (atomically) and prints a markdown table."""
import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time

SEM = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "sem")
HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_DIR = os.path.join(HERE, "..", "..", "tools", "train")


def write_csv(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label"])
        w.writerows(rows)
    os.replace(tmp, path)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p.stdout


def split(sem):
    with open(os.path.join(sem, "labels.csv"), newline="") as f:
        rows = [(os.path.abspath(os.path.join(sem, r["path"])), r["label"]) for r in csv.DictReader(f)]
    rows = sorted(set(rows))  # labels.csv lists 6 images twice (same label): count each image once
    by = {}
    for p, l in rows:
        by.setdefault(l, []).append(p)
    rng = random.Random(2026)
    test, pool = [], {}
    for l in sorted(by):
        ps = sorted(by[l])
        rng.shuffle(ps)
        k = round(0.3 * len(ps))
        test += [(p, l) for p in ps[:k]]
        pool[l] = ps[k:]
    return test, pool


def draw(pool, shots, seed, exclude=()):
    rng = random.Random(seed)
    out = []
    for l in sorted(pool):
        if l in exclude:
            continue
        ps = list(pool[l])
        rng.shuffle(ps)
        out += [(p, l) for p in (ps if shots == "all" else ps[:int(shots)])]
    return out


def adapt(triage, model, train_csv, test_csv, out, extra=()):
    rep = json.loads(run([triage, "adapt", model, "--data", train_csv, "--holdout", test_csv, "-o", out, "--json",
                          "--threads", "2"] + list(extra)))
    return rep


def read_labelled(path):
    base_dir = os.path.dirname(os.path.abspath(path))
    with open(path, newline="") as f:
        return [(os.path.abspath(os.path.join(base_dir, r["path"])), r["label"]) for r in csv.DictReader(f)]


def add_within(args, results):
    """5. A new defect type from the base's own domain: class X withheld from a --classes replace fit on the
    base's calibration images (the 'before' model), then added back with --classes add from 10 / 20 of its
    images and --add-old-per images of each old class; old-class accuracy on the validation images of the
    other classes before and after, and X's recall on its validation images."""
    X = args.add_within
    base = os.path.join(HERE, "..", "..", "models", args.add_model)
    uncal = os.path.join(args.out, f"{args.add_model}.uncalibrated.trw")
    run([args.triage, "convert", base, "--dtype", "q8", "-o", uncal])
    calib, val = read_labelled(args.add_old), read_labelled(args.add_val)
    c_old = [r for r in calib if r[1] != X]
    v_old, v_new = [r for r in val if r[1] != X], [r for r in val if r[1] == X]
    paths = {}
    for name, rows in (("calib_wo", c_old), ("val_wo", v_old), ("val_new", v_new)):
        paths[name] = os.path.join(args.out, f"within.{name}.csv")
        write_csv(paths[name], rows)
    before_model = os.path.join(args.out, f"within.without_{X}.trw")
    run([args.triage, "adapt", uncal, "--data", paths["calib_wo"], "--classes", "replace", "--good", "none", "-o",
         before_model, "--threads", "2"])
    before = json.loads(run([args.triage, "eval", before_model, "--data", paths["val_wo"], "--json", "--threads", "2"]))
    by = {}
    for p, l in calib:
        by.setdefault(l, []).append(p)
    rows = []
    for shots in ["10", "20"]:
        for seed in args.seeds:
            tr = draw({X: by[X]}, shots, seed) + draw({l: v for l, v in by.items() if l != X}, str(args.add_old_per), 1000 + seed)
            tr_csv = os.path.join(args.out, f"within.s{seed}.n{shots}.csv")
            write_csv(tr_csv, tr)
            out = os.path.join(args.out, f"within.s{seed}.n{shots}.trw")
            rep = adapt(args.triage, before_model, tr_csv, paths["val_new"], out, ["--classes", "add"])
            after = json.loads(run([args.triage, "eval", out, "--data", paths["val_wo"], "--json", "--threads", "2"]))
            row = {"model": args.add_model, "new_class": X, "shots": shots, "seed": seed, "old_images_in_data": len(tr) - int(shots),
                   "old_fine_accuracy_before": before["fine_accuracy"], "old_fine_accuracy_after": after["fine_accuracy"],
                   "old_routed_accuracy_before": before["accuracy"], "old_routed_accuracy_after": after["accuracy"],
                   "new_class_recall_fine": rep["holdout_accuracy"]["fine"], "method": rep["fit"]["method"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--triage", required=True)
    ap.add_argument("--model", action="append", required=True, help="name=path.trw")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--shots", nargs="+", default=["5", "10", "20", "all"])
    ap.add_argument("--e2e", nargs="*", default=[])
    ap.add_argument("--e2e-steps", type=int, default=300)
    ap.add_argument("--e2e-shots", nargs="+", default=["5", "10", "20"])
    ap.add_argument("--add-val", default=None)
    ap.add_argument("--add-model", default="adc-pcb")
    ap.add_argument("--add-old", default=None, help="the base model's labelled images (e.g. its calibration CSV): "
                    "--add-old-per images of each old class join the new class's labels")
    ap.add_argument("--add-old-per", type=int, default=10)
    ap.add_argument("--only-add", action="store_true", help="skip the learning curve and the timing")
    ap.add_argument("--skip-sem-add", action="store_true", help="skip step 4 (the SEM class added)")
    ap.add_argument("--add-within", default=None, help="also: a class of the base's own data withheld (a 'replace' "
                    "fit on --add-old without it), then added back with --classes add")
    ap.add_argument("--sem", default=SEM)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    test, pool = split(args.sem)
    test_csv = os.path.join(args.out, "test.csv")
    write_csv(test_csv, test)
    results = {"split": {"test": len(test), "pool": {l: len(v) for l, v in pool.items()}, "seed": 2026},
               "curve": [], "time_200": {}, "add": []}
    models = dict(m.split("=", 1) for m in args.model)
    for name, path in ({} if args.only_add else models).items():
        tf = os.path.join(args.out, f"{name}.test_features.csv")
        run([args.triage, "adapt", path, "--data", test_csv, "--classes", "replace", "--good", "clean", "-o",
             os.path.join(args.out, f"{name}.testfit.trw"), "--features-csv", tf, "--threads", "2"])
        for seed in args.seeds:
            for shots in args.shots:
                if shots == "all" and seed != args.seeds[0]:
                    continue  # the whole pool is the same draw for every seed
                tag = f"{name}.s{seed}.n{shots}"
                tr_csv = os.path.join(args.out, tag + ".train.csv")
                write_csv(tr_csv, draw(pool, shots, seed))
                trf = os.path.join(args.out, tag + ".train_features.csv")
                rep = adapt(args.triage, path, tr_csv, test_csv, os.path.join(args.out, tag + ".trw"),
                            ["--classes", "replace", "--good", "clean", "--features-csv", trf])
                row = {"model": name, "seed": seed, "shots": shots, "method": rep["fit"]["method"],
                       "lambda": rep["fit"].get("lambda"), "cpp_fine": rep["holdout_accuracy"]["fine"],
                       "cpp_coarse": rep["holdout_accuracy"]["coarse"], "seconds": rep["seconds"]}
                if rep["fit"]["method"] == "logreg":
                    pr = json.loads(run([sys.executable, os.path.join(TRAIN_DIR, "linear_probe.py"), "--train", trf,
                                         "--test", tf, "--lambda", str(rep["fit"]["lambda"])]))
                    row["probe_fine"], row["probe_coarse"] = pr["accuracy_fine"], pr["accuracy_coarse"]
                if name in args.e2e and shots in args.e2e_shots:
                    e = json.loads(run([sys.executable, os.path.join(TRAIN_DIR, "finetune_e2e.py"), "--model",
                                        os.path.join(HERE, "..", "..", "models", name), "--train", tr_csv, "--test",
                                        test_csv, "--steps", str(args.e2e_steps), "--seed", str(seed)]))
                    row["e2e_fine"], row["e2e_coarse"], row["e2e_seconds"] = e["accuracy_fine"], e["accuracy_coarse"], e["seconds"]
                results["curve"].append(row)
                print(json.dumps(row), flush=True)
        # 200 images: 22 per class + 2 more (the first two classes get 23)
        d200 = draw(pool, "23", 0)[:200]
        c200 = os.path.join(args.out, f"{name}.200.csv")
        write_csv(c200, d200)
        t0 = time.time()
        rep = json.loads(run([args.triage, "adapt", path, "--data", c200, "--classes", "replace", "--good", "clean",
                              "-o", os.path.join(args.out, f"{name}.200.trw"), "--json", "--threads", "2"]))
        results["time_200"][name] = {"images": len(d200), "wall_s": time.time() - t0, **rep["seconds"]}
        print(name, "200 images:", results["time_200"][name], flush=True)
    if args.add_val and args.add_model in models and not args.skip_sem_add:
        # The base converted without its router (fine_good 0.5, as the adapted file): the same decision
        # rule before and after; accuracy of the forced fine pass (eval's fine_accuracy).
        path = os.path.join(args.out, f"{args.add_model}.uncalibrated.trw")
        run([args.triage, "convert", os.path.join(HERE, "..", "..", "models", args.add_model), "--dtype", "q8", "-o", path])
        before = json.loads(run([args.triage, "eval", path, "--data", args.add_val, "--json", "--threads", "2"]))
        new_test = [(p, l) for p, l in test if l == "particle"]
        nt_csv = os.path.join(args.out, "add.particle_test.csv")
        write_csv(nt_csv, new_test)
        old_rows = []
        with open(args.add_old, newline="") as f:
            base_dir = os.path.dirname(os.path.abspath(args.add_old))
            for r in csv.DictReader(f):
                old_rows.append((os.path.abspath(os.path.join(base_dir, r["path"])), r["label"]))
        old_by = {}
        for p, l in old_rows:
            old_by.setdefault(l, []).append(p)
        for shots in ["10", "20"]:
            for seed in args.seeds:
                tr = [(p, l) for p, l in draw(pool, shots, seed) if l == "particle"]
                tr += draw(old_by, str(args.add_old_per), 1000 + seed)
                tr_csv = os.path.join(args.out, f"add.s{seed}.n{shots}.csv")
                write_csv(tr_csv, tr)
                out = os.path.join(args.out, f"add.s{seed}.n{shots}.trw")
                rep = adapt(args.triage, path, tr_csv, nt_csv, out, ["--classes", "add"])
                after = json.loads(run([args.triage, "eval", out, "--data", args.add_val, "--json", "--threads", "2"]))
                row = {"model": args.add_model, "new_class": "particle", "shots": shots, "seed": seed,
                       "old_images_in_data": len(tr) - int(shots),
                       "old_fine_accuracy_before": before["fine_accuracy"], "old_fine_accuracy_after": after["fine_accuracy"],
                       "old_routed_accuracy_before": before["accuracy"], "old_routed_accuracy_after": after["accuracy"],
                       "new_class_recall_fine": rep["holdout_accuracy"]["fine"], "method": rep["fit"]["method"]}
                results["add"].append(row)
                print(json.dumps(row), flush=True)
    if args.add_val and args.add_within:
        results["add_within"] = add_within(args, results)
    tmp = os.path.join(args.out, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, os.path.join(args.out, "results.json"))


if __name__ == "__main__":
    main()
