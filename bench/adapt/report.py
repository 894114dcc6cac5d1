#!/usr/bin/env python3
"""Markdown tables of a bench/adapt results.json (learning_curve.py): mean and range over seeds.

    python3 bench/adapt/report.py DIR/results.json"""
import json
import sys
from statistics import mean


def cell(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    if len(vals) == 1:
        return f"{100 * vals[0]:.1f}"
    return f"{100 * mean(vals):.1f} ({100 * min(vals):.1f}-{100 * max(vals):.1f})"


def main():
    r = json.load(open(sys.argv[1]))
    print(f"Split: {r['split']['test']} test images, pool {sum(r['split']['pool'].values())} "
          f"(seed {r['split']['seed']}, 30% of each class held out).\n")
    print("| model | labels per class | seeds | C++ head fine | C++ head coarse | PyTorch probe fine | "
          "PyTorch end-to-end fine | method (lambda) | features + fit s |")
    print("|---|---|---|---|---|---|---|---|---|")
    groups = {}
    for row in r["curve"]:
        groups.setdefault((row["model"], row["shots"]), []).append(row)
    for (m, shots), rows in groups.items():
        lam = sorted({f"{x['lambda']:g}" if x.get("lambda") is not None else "-" for x in rows})
        secs = mean(x["seconds"]["features"] + x["seconds"]["fit"] for x in rows)
        print(f"| {m} | {shots} | {len(rows)} | {cell([x['cpp_fine'] for x in rows])} | "
              f"{cell([x['cpp_coarse'] for x in rows])} | {cell([x.get('probe_fine') for x in rows])} | "
              f"{cell([x.get('e2e_fine') for x in rows])} | {rows[0]['method']} ({', '.join(lam)}) | {secs:.1f} |")
    print("\n| model | images | features s | fit s | wall s |")
    print("|---|---|---|---|---|")
    for m, t in r["time_200"].items():
        print(f"| {m} | {t['images']} | {t['features']:.1f} | {t['fit']:.1f} | {t['wall_s']:.1f} |")
    for key in ("add", "add_within"):
        if not r.get(key):
            continue
        print("\n| model | new class | labels | seed | method | old classes, fine pass: before | after | "
              "routed before | after | new class recall (held out) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for a in r[key]:
            print(f"| {a['model']} | {a['new_class']} | {a['shots']} | {a['seed']} | {a['method']} | "
                  f"{100 * a['old_fine_accuracy_before']:.1f} | {100 * a['old_fine_accuracy_after']:.1f} | "
                  f"{100 * a['old_routed_accuracy_before']:.1f} | {100 * a['old_routed_accuracy_after']:.1f} | "
                  f"{100 * a['new_class_recall_fine']:.1f} |")


if __name__ == "__main__":
    main()
