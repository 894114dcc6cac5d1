"""Markdown tables from the training reports (used to write models/*/README.md).
  python3 tools/train/report_md.py tools/train/runs/awc_cont_synth/report.json
  python3 tools/train/report_md.py tools/train/runs/adc/test_report.json
"""
import json
import sys


def table(name, rep):
    out = [f"**{name}**", "", "| pass | accuracy | escapes (defect->good) | over-rejects (good->defect) | " +
           " | ".join(rep[next(k for k in ('fine', 'coarse') if k in rep)]["recall"]) + " |"]
    first = rep[next(k for k in ('fine', 'coarse') if k in rep)]
    out.append("|" + "---|" * (4 + len(first["recall"])))
    for k in ("coarse", "fine", "fine_all"):
        if k not in rep:
            continue
        r = rep[k]
        rec = " | ".join("-" if v is None else f"{v:.3f}" for v in r["recall"].values())
        out.append(f"| {k} | {r['accuracy']:.4f} ({r['n']}) | {r['escapes']}/{r['n_defect']} | "
                   f"{r['over_rejects']}/{r['n_good']} | {rec} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    for p in sys.argv[1:]:
        r = json.load(open(p))
        if "fine" in r:
            print(table(p, r))
        for k, v in r.items():
            if isinstance(v, dict) and "fine" in v:
                print(table(f"{p}: {k}", v))
            if k == "eval":
                for d, vv in v.items():
                    print(table(f"{p}: {d}", vv))
