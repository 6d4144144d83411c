"""Presets: each one's settings match the source it cites, and ``lm-eval-math500 reproduce`` runs and compares them."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from lm_eval.tasks import TaskManager

from conftest import SHARED_DATA, console_script, data_unavailable
from lm_eval_math500.analysis.reproduce import Published, compare, load_preset, preset_names
from lm_eval_math500.analysis.samples import read_run
from lm_eval_math500.cli import tasks_dir

# The notes beside the shared data folder: their target table is what each preset cites.
TARGETS = SHARED_DATA.parent / "notes" / "reproduction-targets.md"
REQUIRED = {
    "r1_distill_qwen", "open_r1_lighteval", "qwen3_thinking", "qwen3_non_thinking",
    "qwen25_math_instruct_cot", "dr_grpo_r1zero", "cs336_r1zero",
}  # fmt: skip


@pytest.fixture(scope="module")
def rows() -> list[list[str]]:
    """The cells of every row of the notes' target table (section 1); without the notes the tests
    that check the presets against it skip (fail under CI)."""
    if not TARGETS.is_file():
        data_unavailable(f"needs the shared notes' {TARGETS.name}, not found at {TARGETS}")
    text = TARGETS.read_text(encoding="utf-8")
    table = text.split("## 1. Target table", 1)[1].split("\n### ", 1)[0]
    lines = [line.strip().strip("|") for line in table.splitlines() if line.startswith("| ")]
    rows = [[cell.strip() for cell in re.split(r"(?<!\\)\|", line)] for line in lines]  # "\|" is a pipe in a cell
    return [row for row in rows[1:] if not set(row[0]) <= {"-"}]


def settings_of(rows: list[list[str]], index: int) -> str:
    """A row's settings; a row that says "same" or "as above" takes the nearest row above that states them."""
    while not re.search(r"\bT=|temperature|greedy", rows[index][3]):
        index -= 1
    return rows[index][3]


def stated(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1).replace(",", "")) if found else None


def cited_entries():
    """Each published score a required preset reproduces, with its preset (read from the package)."""
    for name in sorted(REQUIRED):
        preset = load_preset(name)
        for entry in preset.config["metadata"]["reproduces"]:
            yield pytest.param(preset, entry, id=f"{name}:{entry['model']}:{entry['task']}")


def test_every_required_preset_exists():
    assert REQUIRED <= set(preset_names())


@pytest.fixture(scope="module")
def repeats(shared_data) -> dict[str, int]:
    manager = TaskManager(
        include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(shared_data)}
    )
    tasks = {entry.task for name in REQUIRED for entry in load_preset(name).published}
    loaded = manager.load(sorted(tasks))["tasks"]
    return {name: int(task.config.repeats) for name, task in loaded.items()}


@pytest.mark.parametrize(("preset", "entry"), list(cited_entries()))
def test_preset_settings_match_the_cited_row(preset, entry, rows, repeats):
    matching = [i for i, row in enumerate(rows) if " | ".join(row).startswith(entry["row"])]
    assert len(matching) == 1, f"{entry['row']!r} must name exactly one row of {TARGETS.name}"
    (index,) = matching
    model, dataset, score, _, source = rows[index]
    assert stated(r"(\d+(?:\.\d+)?)", score) == entry["score"]
    assert entry["source"] in source
    assert entry["model"].split("/")[-1] in f"{model}-{entry['model']}"  # the row's model, or its size row
    settings = settings_of(rows, index)
    kwargs = preset.config["gen_kwargs"]
    temperature = stated(r"(?:\bT=|temperature:)(\d+(?:\.\d+)?)", settings)
    assert kwargs["temperature"] == temperature and kwargs["do_sample"] == (temperature > 0)
    for key, pattern in {
        "top_p": r"top_p[=: ]*(\d+(?:\.\d+)?)",
        "top_k": r"top_k[=: ]*(\d+)",
        "presence_penalty": r"presence_penalty[=: ]*(\d+(?:\.\d+)?)",
    }.items():
        assert kwargs.get(key) == stated(pattern, settings), key
    assert kwargs["max_gen_toks"] == stated(r"max(?:_tokens|_new_tokens|_tokens_per_call)?[: ]*(\d[\d,]*)", settings)
    samples = stated(r"(\d+) (?:samples per query|responses/query)", settings) or stated(r"\bn=(\d+)", settings) or 1
    assert repeats[entry["task"]] == samples
    prompt = preset.config["metadata"].get("boxed_instruction")
    if "no system prompt" in settings or "boxed directive in the user turn" in settings:
        assert prompt == "user"
    if "qwen25-math-cot" in settings:
        assert prompt == "system" and preset.config["apply_chat_template"]
    if "R1-Zero template" in settings or "r1_zero.prompt" in settings:
        assert entry["task"].endswith("_r1zero") and not preset.config["apply_chat_template"]
    if "chat-template" in settings or "chat template" in model:
        assert preset.config["apply_chat_template"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from lm_eval_math500.cli import main; main()", *args], capture_output=True, text=True
    )


def test_dry_run_prints_the_lm_eval_command_with_the_preset_and_merged_model_args():
    result = run_cli(
        "reproduce", "qwen3_non_thinking", "--model_args", "pretrained=Qwen/Qwen3-0.6B,max_model_len=40000", "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    argv = result.stdout.split()
    assert argv[:2] == ["lm-eval", "run"]
    assert argv[argv.index("--config") + 1] == str(load_preset("qwen3_non_thinking").path)
    assert argv[argv.index("--model") + 1] == "vllm"
    assert argv[argv.index("--model_args") + 1] == "enable_thinking=False,pretrained=Qwen/Qwen3-0.6B,max_model_len=40000"
    assert "--log_samples" in argv and "--metadata" not in argv


def test_unknown_preset_lists_the_known_ones():
    result = run_cli("reproduce", "r1", "--dry-run", "--model_args", "pretrained=x")
    assert result.returncode != 0 and "r1_distill_qwen" in result.stderr


@pytest.mark.slow
def test_a_finished_run_is_set_against_the_published_score(tmp_path, shared_data):
    """The CS336 student's own outputs, replayed with CS336's settings: 18/500 against the 13/500 reported."""
    out = tmp_path / "run"
    base = shared_data / "published_runs/qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl"
    result = run_cli(
        "run", "--config", str(load_preset("cs336_r1zero").path), "--model", "replay",
        "--model_args", f"path={base},keep_stop=True", "--metadata", json.dumps({"data_dir": str(shared_data)}),
        "--output_path", str(out), "--log_samples",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (comparison,) = compare(load_preset("cs336_r1zero"), read_run(out))
    assert comparison.published == Published(
        "Qwen/Qwen2.5-Math-1.5B", "math500_r1zero", "answer_reward,cs336", 2.6,
        "`donglinkang2021/cs336-assignment5-alignment` @1474a43",
    )  # fmt: skip
    assert comparison.ours == pytest.approx(3.6)
    assert comparison.difference == pytest.approx(1.0)
    assert comparison.stderr == pytest.approx(100 * (0.036 * 0.964 / 499) ** 0.5, rel=1e-3)
    printed = run_cli("reproduce", "cs336_r1zero", "--compare", str(out)).stdout
    assert "2.6" in printed and "3.6 ± 0.8" in printed and "+1.0" in printed
    # The same run graded again with today's grader gives the same table, and says it re-graded.
    regraded = run_cli("reproduce", "cs336_r1zero", "--compare", str(out), "--regrade")
    assert regraded.stdout == printed and "re-graded every response with today's grader" in regraded.stderr


def test_the_r1_distill_example_prints_the_one_gpu_vllm_command():
    script = Path(__file__).resolve().parents[1] / "examples" / "reproduce_r1_distill_qwen_1.5b.py"
    result = subprocess.run([sys.executable, str(script), "--dry-run"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    argv = result.stdout.split()
    assert argv[:2] == ["lm-eval", "run"] and argv[argv.index("--model") + 1] == "vllm"
    assert argv[argv.index("--config") + 1] == str(load_preset("r1_distill_qwen").path)
    model_args = dict(item.split("=", 1) for item in argv[argv.index("--model_args") + 1].split(","))
    assert model_args["pretrained"] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
    assert int(model_args["max_model_len"]) > load_preset("r1_distill_qwen").config["gen_kwargs"]["max_gen_toks"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cs336_r1zero", "--metadata", "{not json"], "--metadata is not JSON (Expecting property name enclosed in double quotes)"),
        (["cs336_r1zero", "--metadata", '["data_dir"]'], "--metadata is a JSON list, not a JSON object"),
        (["cs336_r1zero", "--metadata", "[" * 100_000], "--metadata is not JSON (nested too deeply)"),
    ],
)
def test_bad_metadata_is_one_line(args, message):
    result = run_cli("reproduce", *args, "--model_args", "pretrained=x", "--dry-run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"lm-eval-math500: error: {message}; pass --metadata a JSON object, e.g. '{{\"data_dir\": \"DIR\"}}'\n"


def test_a_name_and_a_preset_file_together_or_neither_are_refused(tmp_path):
    for args in ([], ["cs336_r1zero", "--preset-file", str(load_preset("cs336_r1zero").path)]):
        result = run_cli("reproduce", *args, "--dry-run", "--model_args", "pretrained=x")
        assert result.returncode == 2
        assert result.stderr.startswith("lm-eval-math500: error: reproduce takes a preset name or --preset-file PATH.yaml, one of the two")


def test_a_preset_file_with_a_published_score_of_the_wrong_type_names_it(tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text(load_preset("cs336_r1zero").path.read_text(encoding="utf-8").replace("score: 2.6", 'score: "2.6"'), encoding="utf-8")
    result = run_cli("reproduce", "--preset-file", str(own), "--dry-run", "--model_args", "pretrained=x")
    assert result.returncode == 2
    assert result.stderr == (
        f"lm-eval-math500: error: {own}: metadata.reproduces[0].score is a string, not a number; "
        "pass --preset-file a YAML preset laid out as the package's presets/*.yaml\n"
    )


def test_dry_run_without_a_model_shows_a_placeholder_and_what_it_stands_for():
    result = run_cli("reproduce", "r1_distill_qwen", "--dry-run")
    assert result.returncode == 0, result.stderr
    argv = result.stdout.split()
    assert argv[:2] == ["lm-eval", "run"] and argv[argv.index("--model_args") + 1] == "pretrained=MODEL"
    assert result.stderr == (
        "lm-eval-math500: MODEL stands for the model to evaluate, e.g. deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B, "
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B\n"
    )
    refused = run_cli("reproduce", "r1_distill_qwen")
    assert refused.returncode == 2
    assert refused.stderr == (
        "lm-eval-math500: error: reproduce needs --model_args pretrained=MODEL to run (or --compare RUN_FOLDER); "
        "--dry-run prints the command with MODEL standing for it\n"
    )


@pytest.mark.slow
def test_dry_run_of_a_replay_prints_this_packages_run_command_which_runs(tmp_path, shared_data):
    """lm-eval's own command knows no replay model: the printed command is ``lm-eval-math500 run``, run as printed."""
    base = shared_data / "published_runs/qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl"
    # A preset of one's own with model arguments of the generating backend's, which a replay does not take.
    own = tmp_path / "cs336_vllm.yaml"
    own.write_text(load_preset("cs336_r1zero").path.read_text(encoding="utf-8") + "model_args:\n  max_model_len: 4096\n", encoding="utf-8")
    result = run_cli(
        "reproduce", "--preset-file", str(own), "--model", "replay", "--model_args", f"path={base},keep_stop=True",
        "--metadata", json.dumps({"data_dir": str(shared_data)}), "--dry-run",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    argv = shlex.split(result.stdout)
    assert argv[:2] == ["lm-eval-math500", "run"] and "--include_path" not in argv
    assert argv[argv.index("--model_args") + 1] == f"path={base},keep_stop=True"
    ran = subprocess.run([console_script("lm-eval-math500"), *argv[1:]], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-2000:]
    compared = run_cli("reproduce", "--preset-file", str(own), "--compare", str(tmp_path / "runs" / "cs336_vllm"))
    assert compared.returncode == 0, compared.stderr[-2000:]
    assert "3.6 ± 0.8" in compared.stdout  # the student's outputs, graded as test_a_finished_run_is_set_against_the_published_score has them


def test_a_replay_of_a_chat_template_preset_is_refused_with_the_command_that_replays_its_task():
    result = run_cli("reproduce", "qwen3_non_thinking", "--model", "replay", "--model_args", "path=saved.jsonl", "--dry-run")
    assert result.returncode == 2
    assert result.stderr == (
        "lm-eval-math500: error: preset qwen3_non_thinking applies the model's chat template, which --model replay "
        "cannot (it has no tokenizer); replay the saved generations through its task instead: lm-eval-math500 run "
        "--model replay --model_args path=FILE --tasks math500_boxed\n"
    )
