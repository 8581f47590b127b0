#!/usr/bin/env bash
# One training cycle inside a fixed wall-clock budget, for a rented GPU machine that the portable dataset copy
# (tools/portable_dataset.py; DATA names its folder, default data_portable/) travels to. The device counts a folder
# by its disk blocks, which many small files inflate: carry it as one .tgz and unpack it there first. The warm-up
# epochs' learning rate does not depend on the total, so 2 epochs are run and timed first; the run then resumes with
# as many cosine epochs as the measured epoch time allows, so the schedule anneals before the budget ends. Results
# land in OUT (last.pt split into 15 MB parts so that it can come back).
# Each process's first epoch on a GPU is slow (an H200, 6,900 images an epoch, 14 workers: 88-111 s against
# 19-25 s for the others), so the timing run and the resume pay it twice. Where an earlier run measured the
# epoch time, EPOCHS=N skips the timing run: one process, N epochs.
# usage: [DATA=data_portable] [EPOCHS=N] tools/gpu_cycle.sh CONFIG BUDGET_SECONDS WORKERS OUT [extra train flags...]
set -u
start=$(date +%s)
config=$1 budget=$2 workers=$3 out=$4
shift 4
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
run_dir=runs/gpu_cycle
common=(--config "$config" --data-root "${DATA:-data_portable}" --train-list train.txt --val-list val.txt
        --test-list "" --num-workers "$workers" --out-dir "$run_dir" --no-progress "$@")
resume=()  # continue the timing run's epochs; with EPOCHS there is none, and the run starts afresh
if [ -n "${EPOCHS:-}" ]; then
    epochs=$EPOCHS
else
    python3 -m portraitnet.cli.main train "${common[@]}" --epochs 2 || exit 1
    resume=(--resume)
    epochs=$(python3 - "$start" "$budget" "$run_dir/log.jsonl" <<'PY'
import json, sys, time
start, budget, log = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
last = json.loads(open(log).read().splitlines()[-1])
# Epoch 2 ran faster than later epochs did (2.9 s against 3.6 s with heavy augmentation), and the resumed process
# spends ~20 s starting its workers: leave room for both.
per_epoch = last["seconds"] * 1.3 + 0.3
print(max(3, 2 + int((start + budget - time.time() - 40) / per_epoch)))
PY
    )
fi
echo "cycle of $epochs epochs"
timeout $((start + budget - $(date +%s))) python3 -m portraitnet.cli.main train "${common[@]}" "${resume[@]}" --epochs "$epochs"
echo "train exit $? after $(( $(date +%s) - start )) s"
mkdir -p "$out"
cp "$run_dir"/best.pt "$run_dir"/log.jsonl "$run_dir"/curves.png "$out"/ 2>/dev/null
split -b 15M "$run_dir"/last.pt "$out"/last.pt.part-
ls -la "$out"
