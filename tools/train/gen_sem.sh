set -e
# Pre-generates the adc-sem data sets into tools/train/runs/sem/ (about 15k images, ~1.5 GB).
G="python3 tools/train/synth_sem.py"
$G --n 5000 --seed 101 --domain source --defect-frac 0.6 --out tools/train/runs/sem/src_train
$G --n 3000 --seed 102 --domain source --defect-frac 0.3 --out tools/train/runs/sem/src_unlab
$G --n 3000 --seed 201 --domain target --defect-frac 0.5 --out tools/train/runs/sem/tgt_train
$G --n 700 --seed 202 --domain target --defect-frac 0.5 --out tools/train/runs/sem/tgt_val
$G --n 2000 --seed 301 --domain target --defect-frac 0.15 --out tools/train/runs/sem/test_tgt
$G --n 1000 --seed 302 --domain source --defect-frac 0.15 --out tools/train/runs/sem/test_src
