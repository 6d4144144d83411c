#!/usr/bin/env bash
# Re-grade generations made elsewhere (CS336's results.jsonl of Qwen2.5-Math-1.5B on MATH-500, as
# published in donglinkang2021/cs336-assignment5-alignment @1474a43), then write the per-sample
# file of the original evaluation scripts into results/replay/ of the folder it is run from.
# Usage: regrade_saved_outputs.sh [FILE]
# Without FILE it takes the copy in the shared data folder the project's tests read (the folder
# LM_EVAL_MATH500_SHARED_DATA names, else shared/data beside the checkout), and the datasets from
# there too when LM_EVAL_MATH500_DATA_DIR names none; otherwise they come from the hub.
set -euo pipefail
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${LM_EVAL_MATH500_SHARED_DATA:-$checkout/../shared/data}
saved=${1:-$shared/published_runs/qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl}
if [[ -z ${LM_EVAL_MATH500_DATA_DIR:-} && -f $shared/math500/test.jsonl ]]; then
  export LM_EVAL_MATH500_DATA_DIR=$shared
fi
lm-eval-math500 run --model replay --model_args "path=$saved,keep_stop=True" \
  --tasks math500_r1zero --output_path results/replay --log_samples
# The replay model files its results under the saved file's name.
samples=$(ls -t "results/replay/$(basename "$saved" .jsonl)"/samples_math500_r1zero_*.jsonl | head -n 1)
lm-eval-math500 export "$samples" --filter cs336 -o results/replay/math500_r1zero.jsonl
echo "per-sample verdicts: results/replay/math500_r1zero.jsonl"
