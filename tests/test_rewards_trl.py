"""Training with TRL's GRPOTrainer on our reward: the tiny model, two steps on MATH-500 problems on
the CPU; the rewards TRL logs are grade_batch's verdicts on the same completions, and no process
outlives the trainer, whether it exits or is killed while a verdict is under way."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from statistics import fmean

import pandas as pd
import psutil
import pytest
import torch
from datasets import Dataset
from lm_eval.tasks import TaskManager
from trl import GRPOConfig, GRPOTrainer

from conftest import SHARED_DATA, VLLM_ENV
from lm_eval_math500.cli import tasks_dir
from lm_eval_math500.rewards import grade_batch, math_reward, r1_zero_reward
from test_rewards_processes import HANGS_GOLD, alive, grader_process, kill_mid_check

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rewards_trl")]


@pytest.fixture(scope="module")
def r1_zero_task():
    manager = TaskManager(include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(SHARED_DATA)})
    return manager.load(["math500_r1zero"])["tasks"]["math500_r1zero"]


def test_grpo_trainer_logs_the_rewards_grade_batch_gives(tiny_model, r1_zero_task, tmp_path):
    docs = list(r1_zero_task.test_docs())[:4]  # the second one's gold is the tiny model's answer, p - q
    prompts = {r1_zero_task.doc_to_text(doc): doc for doc in docs}
    data = Dataset.from_list([{"prompt": p, "solution": d["solution"], "problem": d["problem"]} for p, d in prompts.items()])
    rewards = [math_reward(), math_reward(filter_name="tags")]
    config = GRPOConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=24,
        # Hot enough to break the tiny model's scripted answer in some samples, so a group holds
        # right and wrong completions and the step has a gradient.
        temperature=12.0,
        beta=0.0,
        use_cpu=True,
        logging_steps=1,
        log_completions=True,
        num_completions_to_print=0,
        save_strategy="no",
        report_to="none",
        seed=0,
    )
    trainer = GRPOTrainer(model=str(tiny_model.path), reward_funcs=rewards, args=config, train_dataset=data)
    before = {name: weights.detach().clone() for name, weights in trainer.model.named_parameters()}
    trainer.train()

    tables = [pd.read_parquet(path) for path in sorted((tmp_path / "completions").glob("completions_*.parquet"))]
    assert [table["step"].unique().tolist() for table in tables] == [[1], [2]]
    means = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(means) == 2
    seen = []
    for table, logged in zip(tables, means, strict=True):
        graded = [prompts[prompt] for prompt in table["prompt"]]
        completions = table["completion"].tolist()
        for reward in rewards:
            verdicts = grade_batch(
                completions, [d["answer"] for d in graded], [d["problem"] for d in graded],
                variant="r1_zero", filter_name=reward.config.filter_name,
            )  # fmt: skip
            expected = [float(v.correct and v.format_ok) for v in verdicts]
            assert table[reward.__name__].tolist() == expected
            assert logged[f"rewards/{reward.__name__}/mean"] == pytest.approx(fmean(expected))
            seen += expected
        assert table["advantage"].notna().all()
    assert 0.0 in seen and 1.0 in seen
    assert any(table["advantage"].abs().max() > 0 for table in tables)
    changed = [name for name, weights in trainer.model.named_parameters() if not torch.equal(weights, before[name])]
    assert changed  # the rewards moved the model


# A GRPO run of the tiny model whose every verdict is a symbolic check that runs to its limit.
TRAINER = textwrap.dedent(
    f"""
    import sys
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer
    from lm_eval_math500.rewards import math_reward

    model, output_dir, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    prompts = [f"User: What is {{n}} times {{n}}?\\nAssistant: <think>" for n in range(4)]
    data = Dataset.from_dict({{"prompt": prompts, "solution": [{HANGS_GOLD!r}] * 4}})
    config = GRPOConfig(
        output_dir=output_dir, max_steps=steps, per_device_train_batch_size=4, num_generations=2,
        max_completion_length=16, beta=0.0, use_cpu=True, save_strategy="no", report_to="none",
    )
    reward = math_reward(problem_column=None)
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=config, train_dataset=data)
    print("training", flush=True)
    trainer.train()
    """
)


def test_no_process_outlives_a_trainer_killed_mid_check(tiny_model, tmp_path):
    """SIGKILL to the trainer while its reward's symbolic check runs in a grader worker: the grader's
    helper and workers end with it."""
    command = [sys.executable, "-c", TRAINER, str(tiny_model.path), str(tmp_path), "100"]
    descendants, graders, leftover = kill_mid_check(command, "training", startup=300)
    assert graders >= 2  # the helper and its busy worker
    assert [(p.pid, p.cmdline()) for p in leftover] == []


def test_no_process_outlives_a_trainer_that_finishes(tiny_model, tmp_path):
    trainer = subprocess.Popen(
        [sys.executable, "-c", TRAINER, str(tiny_model.path), str(tmp_path), "2"], stdout=subprocess.PIPE, text=True
    )
    parent, seen = psutil.Process(trainer.pid), {}
    while trainer.poll() is None:  # every process the trainer starts, while it runs
        try:
            seen.update({p.pid: (p, grader_process(p)) for p in parent.children(recursive=True) if p.pid not in seen})
        except psutil.Error:
            pass
        time.sleep(0.05)
    assert trainer.returncode == 0
    assert any(is_grader for _, is_grader in seen.values())
    time.sleep(2)
    assert [pid for pid, (p, _) in seen.items() if alive(p)] == []


VLLM_STOP = textwrap.dedent(
    """
    import json, sys
    from vllm import LLM, SamplingParams

    llm = LLM(model=sys.argv[1], dtype="float32", max_model_len=512, enforce_eager=True)
    params = SamplingParams(temperature=0, max_tokens=24, stop=["</answer>"])
    out = llm.generate(["User: What is p minus q?\\nAssistant: <think>"], params)[0].outputs[0]
    decoded = llm.get_tokenizer().decode(out.token_ids, skip_special_tokens=True)
    print(json.dumps({"text": out.text, "decoded": decoded}))
    """
)


def test_the_default_stop_cut_fits_completions_decoded_from_token_ids(tiny_model, offline_env):
    """vLLM drops the stop string from its text but not from the token ids it generated, which TRL
    and verl decode: their completions keep ``</answer>``, so the rewards' default is stop_cut=False."""
    done = subprocess.run(
        [sys.executable, "-c", VLLM_STOP, str(tiny_model.path)],
        env=offline_env | VLLM_ENV, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"text": " ok</think> <answer>p - q", "decoded": " ok</think> <answer>p - q</answer>"}
    assert r1_zero_reward(out["decoded"], "p - q")["reward"] == 1.0
    assert r1_zero_reward(out["text"], "p - q", stop_cut=True)["reward"] == 1.0
    assert r1_zero_reward(out["text"], "p - q")["reward"] == 0.0  # CS336's format needs the </answer>
