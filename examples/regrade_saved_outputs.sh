#!/usr/bin/env bash
# Re-grade generations made elsewhere (here: CS336 results.jsonl of Qwen2.5-Math-1.5B on MATH-500),
# then write the per-sample file of the original evaluation scripts. Runs offline on the shared data
# folder: ../shared/data, or the folder LM_EVAL_MATH500_SHARED_DATA names.
set -euo pipefail
shared=${LM_EVAL_MATH500_SHARED_DATA:-../shared/data}
saved=$shared/published_runs/qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl
lm-eval-math500 run --model replay --model_args "path=$saved,keep_stop=True" \
  --tasks math500_r1zero --metadata "{\"data_dir\": \"$shared\"}" \
  --output_path results/replay --log_samples
# The replay model files its results under the saved file's name.
samples=$(ls -t "results/replay/$(basename "$saved" .jsonl)"/samples_math500_r1zero_*.jsonl | head -n 1)
lm-eval-math500 export "$samples" --filter cs336 -o results/replay/math500_r1zero.jsonl
echo "per-sample verdicts: results/replay/math500_r1zero.jsonl"
