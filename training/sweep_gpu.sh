#!/usr/bin/env bash
# Trains a few variants of the recipe side by side on one GPU (the model is tiny), for choosing
# the bundled model on VALIDATION only (the official test split is not even copied there).
# Each variant's final.pt (best weights + recipe + history) lands in $OUT, with one merged
# summary.json (validation + shifted-validation figures) and one merged log: 8 files at most.
#   OUT=runs/sweep EXTRA="--epochs-head 1 --epochs-finetune 1 --max-steps 2" training/sweep_gpu.sh
set -u
DATA=${DATA:-.devdata/cxr}
WEIGHTS=${WEIGHTS:-.devdata/mobilenet_v3_small_imagenet_from_tflite.pth}
OUT=${OUT:-runs/sweep}
EXTRA=${EXTRA:-}
WORK=${WORK:-/tmp/sweep}
PY=${PY:-python3}
mkdir -p "$OUT" "$WORK"
export OMP_NUM_THREADS=2 PYTHONUNBUFFERED=1

variant() {
  local name=$1; shift
  # shellcheck disable=SC2086
  $PY -m training train --time-budget "${BUDGET:-330}" --data "$DATA" --init-weights "$WEIGHTS" --work-dir "$WORK/$name" \
      --no-progress "$@" $EXTRA >"$WORK/$name.log" 2>&1
  echo "$name exit $?" >>"$WORK/$name.log"
  cp "$WORK/$name/final.pt" "$OUT/$name.pt" 2>/dev/null
}

if [ "${SET:-1}" = 1 ]; then
  variant ref --augment reference &
  variant frame --augment framing --epochs-finetune 30 &
  variant frame_pin --augment framing --per-image-norm --epochs-finetune 30 &
  variant frame_pin_lr --augment framing --per-image-norm --lr-finetune 1e-4 \
          --label-smoothing 0.1 --epochs-finetune 30 &
  variant frame_lr --augment framing --lr-finetune 1e-4 --label-smoothing 0.1 \
          --epochs-finetune 30 &
  variant frame_pin_lr3 --augment framing --per-image-norm --lr-finetune 3e-5 \
          --weight-decay 1e-4 --epochs-finetune 30 &
else
  LR="--lr-finetune 1e-4 --label-smoothing 0.1 --epochs-finetune 30"
  # shellcheck disable=SC2086
  {
  variant s2_frame_lr_seed1 --augment framing $LR --seed 1 &
  variant s2_frame_pin_lr_seed1 --augment framing --per-image-norm $LR --seed 1 &
  variant s2_strong_lr --augment framing_strong $LR &
  variant s2_strong_pin_lr --augment framing_strong --per-image-norm $LR &
  variant s2_frame_lr3e4 --augment framing --lr-finetune 3e-4 --label-smoothing 0.1 \
          --epochs-finetune 30 &
  variant s2_frame_lr_p8 --augment framing $LR --patience 8 --epochs-finetune 40 &
  }
fi
wait

for f in "$WORK"/*.log; do echo "=== $f"; cat "$f"; done >"$OUT/sweep.log"
$PY - "$WORK" "$OUT/summary.json" <<'PYEOF'
import json, pathlib, sys
work, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
merged = {p.parent.name: json.loads(p.read_text()) for p in sorted(work.glob("*/summary.json"))}
out.write_text(json.dumps(merged, indent=1))
for name, s in merged.items():
    v, sh = s["validation"], s["validation_shifted"]
    print(f"{name:<15} val acc {v['accuracy']:.4f} auc {v['roc_auc']:.4f} | shifted acc "
          f"{sh['accuracy']:.4f} auc {sh['roc_auc']:.4f} spec {sh['specificity']:.4f} | "
          f"epochs {s['epochs_run']} {s['wall_time_s']:.0f}s")
PYEOF
