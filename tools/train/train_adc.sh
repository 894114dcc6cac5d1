#!/usr/bin/env bash
# Reproduces models/adc-sem end to end: data (if missing), teacher, student, fine-tune, test.
# Budgets are wall minutes per stage (env), as recorded in models/adc-sem/README.md; the step counts
# each stage reached are in tools/train/runs/adc/<stage>_report.json (replay exactly with --steps).
set -euo pipefail
cd "$(dirname "$0")/../.."
T="python3 tools/train/train_adc.py"
th=${THREADS:-2}
[ -f tools/train/runs/sem/test_src_y.npy ] || bash tools/train/gen_sem.sh
[ -f tools/train/runs/sem/src_train_loc.npy ] || python3 tools/train/sem_locs.py tools/train/runs/sem/src_train \
    --n 5000 --seed 101 --domain source --defect-frac 0.6   # sets generated before the generator saved them
$T crops    --minutes "${CROPS_MIN:-7}"     --lr 1e-3 --bs 64 --threads "$th"
$T teacher  --minutes "${TEACHER_MIN:-7}"   --lr 5e-4 --bs 32 --threads "$th"
$T student  --minutes "${STUDENT_MIN:-20}"  --lr 5e-4 --bs 32 --k-train 16 --w-soft 0.5 --threads "$th"
$T finetune --minutes "${FINETUNE_MIN:-18}" --lr 4e-4 --bs 32 --k-train 16 --threads "$th" --out models/adc-sem
# Stage 3b: the fine-tune continued from its own result with a fresh schedule (shipped run: 1,382 steps,
# 1 thread beside another training job; FINETUNE2_MIN=0 skips it).
if [ "${FINETUNE2_MIN:-62}" != 0 ]; then
  $T finetune --init models/adc-sem --runs tools/train/runs/adc_ft2 --minutes "${FINETUNE2_MIN:-62}" --lr 3e-4 \
      --bs 32 --k-train 16 --threads "$th" --seed 5 --out models/adc-sem
fi
$T test --out models/adc-sem --threads "$th" --test-tgt-n 1000 --test-n 300
