#!/usr/bin/env bash
# Everything a lent GPU machine should measure, in one call of under 5 minutes:
#   1. the GPU-relevant tests (tests/test_device.py: prediction and training run on CUDA and in
#      bf16 when asked, never silently on the CPU or in fp32), with their skips listed;
#   2. scripts/benchmark.py --device cuda: claimcls at its defaults (bf16 weights on a GPU
#      that has bf16) and fp32 at batch sizes 64-1024, and the transformers pipeline at batch
#      32: sentences/s, peak GPU memory (torch.cuda.max_memory_allocated), label agreement;
#   3. scripts/profile_predict.py --device cuda: the per-stage split per sentence beside the
#      encoder-only rate.
#
#   scripts/gpu_check.sh [MODEL]     (or MODEL=... DATA=... SPLIT=... scripts/gpu_check.sh)
#
# Results go under $OUT (./gpu_check_out when $OUT is unset): env.txt, tests.txt,
# bench.json/.txt, profile.json/.txt. Without a model folder at MODEL (default
# models/default; a trained MiniLM model is 89 MB) it first trains configs/default.yaml for
# one minute on the GPU: speed does not depend on how well the weights are trained, but the
# agreement figures are then those of a barely trained model.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
MODEL=${1:-${MODEL:-models/default}}
DATA=${DATA:-bundled}
SPLIT=${SPLIT:+--split $SPLIT}
SIZES=${SIZES:-64,128,256,512,1024}
BACKENDS=${BACKENDS:-claimcls-default,claimcls-fp32,pipeline-bs32}
SENTENCES=${SENTENCES:-3000}

{ nvidia-smi; python -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__,
  'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-',
  'bf16', torch.cuda.is_available() and torch.cuda.is_bf16_supported())"; } >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
if ! python -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
    echo "gpu_check: no CUDA device here; this script is for a machine with a GPU" >&2
    exit 2
fi

status=0
echo "== tests" && timeout 150 python -m pytest -q -rs tests/test_device.py 2>&1 | tee "$OUT/tests.txt" || status=1

if [ ! -f "$MODEL/config.json" ]; then
    MODEL=/tmp/gpu_check_model
    echo "== no model folder given: training configs/default.yaml for 1 minute into $MODEL"
    timeout 240 python scripts/train.py --config configs/default.yaml --output "$MODEL" --train.max_minutes 1 \
        --train.tune_cue_bias "" >"$OUT/train.txt" 2>&1 || { echo "training failed, see train.txt" >&2; exit 1; }
fi

echo "== benchmark (device cuda, batch sizes $SIZES)"
timeout 240 python scripts/benchmark.py --model "$MODEL" --data "$DATA" $SPLIT --device cuda --batch-size "$SIZES" \
    --backends "$BACKENDS" --min-sentences "$SENTENCES" --output "$OUT/bench.json" 2>&1 | tee "$OUT/bench.txt" || status=1

echo "== per-stage profile (device cuda, defaults)"
timeout 90 python scripts/profile_predict.py --model "$MODEL" --data "$DATA" $SPLIT --device cuda --batch-size 256 \
    --min-sentences "$SENTENCES" --repeats 1 --output "$OUT/profile.json" 2>&1 | tee "$OUT/profile.txt" || status=1
exit $status
