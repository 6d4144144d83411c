#!/usr/bin/env bash
# Dr. GRPO's MATH-500 setting for base models: greedy, 3000 new tokens, on both prompts of their
# Table 1 (21.2 r1_zero and 61.8 question_only for Qwen2.5-Math-1.5B).
# Needs a GPU, vllm and the hub. Usage: dr_grpo_greedy.sh [--dry-run] [MODEL]
# (--dry-run prints the lm_eval command instead of running it).
set -euo pipefail
dry_run=false
if [[ ${1:-} == --dry-run ]]; then dry_run=true; shift; fi
model=${1:-Qwen/Qwen2.5-Math-1.5B}
command=(
  lm_eval --model vllm
  --model_args "pretrained=$model,dtype=bfloat16,max_model_len=4096"
  --tasks math500_r1zero,math500_question_only
  --gen_kwargs do_sample=false,temperature=0,max_gen_toks=3000
  --include_path "$(lm-eval-math500 tasks-dir)"
  --output_path results --log_samples
)
if $dry_run; then printf '%q ' "${command[@]}"; echo; else "${command[@]}"; fi
