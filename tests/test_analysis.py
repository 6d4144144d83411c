"""`run --repeats`, breakdowns, `report` and `compare` on real replayed runs written by the harness.

Every expected number is recomputed here from the samples files' own per-problem values, the
published files or the datasets, not read back from the code under test.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path
from statistics import fmean

import pytest
from matplotlib.image import imread

from lm_eval_math500.analysis.efficiency import first_correct_end, reasoning_part, thought_switches
from lm_eval_math500.analysis.report import write_report
from lm_eval_math500.analysis.samples import read_run
from lm_eval_math500.harness.metrics import doc_verdict
from lm_eval_math500.harness.replay import problem_key

RUNS = "published_runs"
BASE = "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl"
INSTRUCT = "qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl"
QWEN8 = "qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl"
PLOT_SHAPE = (450, 800)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lm-eval-math500"), *args], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def replay_run(out: Path, env: dict, data: Path, replay_file: str, task: str, *extra: str) -> subprocess.CompletedProcess:
    return cli(
        env, "run", "--model", "replay", "--model_args", f"path={data / RUNS / replay_file},keep_stop=True",
        "--tasks", task, "--metadata", json.dumps({"data_dir": str(data)}), "--output_path", str(out), "--log_samples",
        *extra,
    )  # fmt: skip


def samples_rows(run_dir: Path, filter_name: str) -> list[dict]:
    (path,) = run_dir.rglob("samples_*.jsonl")
    return sorted((r for r in read_jsonl(path) if r["filter"] == filter_name), key=lambda r: r["doc_id"])


@pytest.fixture(scope="session")
def base_run(tmp_path_factory, offline_env, shared_data) -> Path:
    out = tmp_path_factory.mktemp("base")
    replay_run(out, offline_env, shared_data, BASE, "math500_r1zero")
    return out


@pytest.fixture(scope="session")
def instruct_run(tmp_path_factory, offline_env, shared_data) -> Path:
    out = tmp_path_factory.mktemp("instruct")
    replay_run(out, offline_env, shared_data, INSTRUCT, "math500_r1zero")
    return out


@pytest.fixture(scope="session")
def qwen8(tmp_path_factory, offline_env, shared_data) -> tuple[Path, str]:
    """The 100 MATH problems x 8 Qwen2.5-Math-Instruct samples, run with --repeats 8; and its table."""
    saved = {problem_key(row["question"]) for row in read_jsonl(shared_data / RUNS / QWEN8)}
    docs = read_jsonl(shared_data / "math" / "test.jsonl")
    ids = [i for i, doc in enumerate(docs) if problem_key(doc["problem"]) in saved]
    assert len(ids) == 100
    out = tmp_path_factory.mktemp("qwen8")
    printed = replay_run(
        out, offline_env, shared_data, QWEN8, "math_validation_question_only",
        "--repeats", "8", "--samples", json.dumps({"math_validation_question_only": ids}),
    )  # fmt: skip
    return out, printed.stdout


@pytest.fixture(scope="session")
def reports(base_run, instruct_run, qwen8, offline_env) -> dict[str, tuple[Path, dict]]:
    """report.md folder and report.json of each run."""
    made = {}
    for name, run_dir in (("base", base_run), ("instruct", instruct_run), ("qwen8", qwen8[0])):
        out = run_dir / "report"
        if name == "qwen8":  # the command once; the other reports in process, to keep the suite quick
            printed = Path(cli(offline_env, "report", str(run_dir), "--out", str(out)).stdout.strip())
        else:
            printed = write_report(run_dir, out)
        assert printed == out / "report.md"
        made[name] = (out, json.loads((out / "report.json").read_text()))
    return made


# --- n samples per problem ---------------------------------------------------------------------


def test_repeats_give_avg_pass_and_maj_at_k_from_every_sample(qwen8, shared_data):
    run_dir, printed = qwen8
    task = read_run(run_dir).task()
    assert task.repeats == 8
    rows = samples_rows(run_dir, "extract")
    qwen = {problem_key(row["question"]): row for row in read_jsonl(shared_data / RUNS / QWEN8)}
    right = []
    for row in rows:
        (answers,) = row["filtered_resps"]
        assert row["resps"] == [qwen[problem_key(row["doc"]["problem"])]["code"]]
        right.append([doc_verdict(answer or None, row["doc"]).correct for answer in answers])
    # avg@8: 728 of Qwen's verdicts plus the 9 right answers its grader rejects (see test_tasks).
    assert task.value("accuracy", "extract")[0] == pytest.approx(737 / 800)
    for k in (1, 2, 4, 8):
        by_subsets = fmean(
            fmean(any(flags[i] for i in subset) for subset in combinations(range(8), k)) for flags in right
        )
        assert task.value(f"pass@{k}", "extract")[0] == pytest.approx(by_subsets)
    # Qwen's own string vote on its extracted answers, scored by its grader, gives 0.93.
    string_votes = []
    for row in qwen.values():
        votes = Counter(row["pred"])
        best = max(votes, key=lambda a: (votes[a], -row["pred"].index(a)))
        string_votes.append(row["score"][row["pred"].index(best)])
    assert fmean(string_votes) == pytest.approx(0.93)
    maj8 = task.value("maj@8", "extract")[0]
    assert abs(maj8 - 0.93) <= 0.01 + 1e-9
    assert "maj@8" in printed and "pass@8" in printed


def test_equivalence_vote_differs_from_qwens_string_vote_only_where_its_grader_errs(qwen8, shared_data):
    qwen = {problem_key(row["question"]): row for row in read_jsonl(shared_data / RUNS / QWEN8)}
    differ = {}
    for row in samples_rows(qwen8[0], "extract"):
        source = qwen[problem_key(row["doc"]["problem"])]
        votes = Counter(source["pred"])
        best = max(votes, key=lambda a: (votes[a], -source["pred"].index(a)))
        if bool(source["score"][source["pred"].index(best)]) != bool(row["maj@8"]):
            differ[source["idx"]] = (best, row["doc"]["answer"], row["maj@8"])
    # Qwen's grader rejects "4:30" against \text{4:30 p.m.}; ours accepts the responses' "4:30 \text{ p.m.}".
    assert differ == {3: ("4:30", "\\text{4:30 p.m.}", 1.0)}


def test_breakdowns_are_in_the_results_file_not_the_printed_table(qwen8, shared_data):
    run_dir, printed = qwen8
    run = read_run(run_dir)
    table = run.raw["breakdowns"]["math_validation_question_only"]["extract"]
    rows = samples_rows(run_dir, "extract")
    by_level = defaultdict(list)
    for row in rows:
        by_level[str(row["doc"]["level"])].append(row)
    assert set(table["level"]) == set(by_level)
    for level, members in by_level.items():
        cell = table["level"][level]
        assert cell["count"] == len(members)
        assert cell["accuracy"] == pytest.approx(fmean(r["accuracy"] for r in members))
        assert cell["maj@8"] == pytest.approx(fmean(r["maj@8"] for r in members))
    assert sum(cell["count"] for cell in table["subject"].values()) == 100
    assert "Level" not in printed and "Prealgebra" not in printed.split("breakdowns")[0]


# --- report -------------------------------------------------------------------------------------


def test_report_numbers_match_the_samples_files(reports, base_run, shared_data):
    _, report = reports["base"]
    task = report["tasks"]["math500_r1zero"]
    levels = Counter(str(doc["level"]) for doc in read_jsonl(shared_data / "math500" / "test.jsonl"))
    for filter_name in ("tags", "cs336"):
        rows = samples_rows(base_run, filter_name)
        numbers = task["filters"][filter_name]
        accuracy = [r["accuracy"] for r in rows]
        assert numbers["accuracy"]["mean"] == pytest.approx(fmean(accuracy))
        se = math.sqrt(sum((a - fmean(accuracy)) ** 2 for a in accuracy) / (len(accuracy) - 1) / len(accuracy))
        assert numbers["accuracy"]["stderr"] == pytest.approx(se)
        assert numbers["format_rate"] == pytest.approx(fmean(r["format_ok"] for r in rows))
        assert numbers["answer_not_found_rate"] == pytest.approx(fmean(not r["filtered_resps"][0][0] for r in rows))
        assert {level: cell["count"] for level, cell in numbers["level"].items()} == levels
        for level, cell in numbers["level"].items():
            assert cell["mean"] == pytest.approx(fmean(r["accuracy"] for r in rows if str(r["doc"]["level"]) == level))
        categories = numbers["reward_categories"]
        assert sum(categories.values()) == 500
        assert categories["format and answer right (reward 1)"] == sum(r["answer_reward"] for r in rows)
        assert categories["format right, answer wrong"] == sum(r["format_reward"] - r["answer_reward"] for r in rows)
        assert categories["format wrong, answer right (reward 0)"] == sum(r["accuracy"] - r["answer_reward"] for r in rows)
    cs336 = task["filters"]["cs336"]
    assert cs336["format_rate"] == pytest.approx(82 / 500)  # CS336's reported format reward
    assert cs336["reward_categories"]["format and answer right (reward 1)"] == 18
    assert "sampling" not in cs336


def test_report_markdown_states_the_estimate_and_links_every_plot(reports):
    for name, (folder, report) in reports.items():
        text = (folder / "report.md").read_text()
        assert report["tokens"] == "estimate" and "**estimated**" in text
        plots = [plot for task in report["tasks"].values() for plot in task["plots"]]
        assert plots and all(f"]({plot})" in text for plot in plots)
        for plot in plots:
            image = imread(folder / plot)
            assert image.shape[:2] == PLOT_SHAPE
            assert image.std() > 0.01  # something is drawn


def test_report_of_eight_samples_has_pass_at_k_and_vote_differences(reports, qwen8):
    folder, report = reports["qwen8"]
    task = read_run(qwen8[0]).task()
    numbers = report["tasks"]["math_validation_question_only"]["filters"]["extract"]
    sampling = numbers["sampling"]
    for k in ("1", "2", "4", "8"):
        assert sampling["pass@k"][k] == pytest.approx(task.value(f"pass@{k}", "extract")[0])
        assert sampling["maj@k"][k] == pytest.approx(task.value(f"maj@{k}", "extract")[0])
    assert sampling["string_maj@8"] == pytest.approx(0.94)
    assert sampling["vote_differences"] == []  # on our extracted answers the two votes agree
    assert "math_validation_question_only_extract_pass_at_k.png" in report["tasks"]["math_validation_question_only"]["plots"]
    assert numbers["responses"] == 800 and numbers["length"]["right"]["count"] == 737


def test_truncation_counts_with_the_tokenizer_when_given(base_run, tiny_model, tmp_path):
    from transformers import AutoTokenizer

    write_report(base_run, tmp_path, tokenizer=str(tiny_model.path))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["tokens"] == str(tiny_model.path)
    assert "**estimated**" not in (tmp_path / "report.md").read_text()
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model.path))
    rows = samples_rows(base_run, "tags")
    counts = [len(tokenizer(r["resps"][0][0], add_special_tokens=False)["input_ids"]) for r in rows]
    numbers = report["tasks"]["math500_r1zero"]["filters"]["tags"]
    assert numbers["truncation_rate"] == pytest.approx(fmean(c >= 1024 for c in counts))
    right = [c for c, r in zip(counts, rows) if r["accuracy"]]
    assert numbers["length"]["right"]["mean"] == pytest.approx(fmean(right))


# --- reasoning efficiency ----------------------------------------------------------------------


DOC = {"problem": "What is $1+1$?", "answer": "2"}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("a\n\nso it is \\boxed{3}\n\nno, \\boxed{2}\n\ndone", len("a\n\nso it is \\boxed{3}\n\nno, \\boxed{2}\n\n")),
        ("The answer is 2.\n\nCheck: \\boxed{2}", len("The answer is 2.\n\n")),
        ("1+1 makes 2\n\nthat is all", None),  # a bare number is not a committed answer
    ],
)
def test_first_correct_paragraph(text, expected):
    assert first_correct_end(text, DOC) == expected


@pytest.mark.parametrize(
    "text,reasoning,switches",
    [
        ("Hmm. Wait, alternatively x.</think> <answer>2</answer>", "Hmm. Wait, alternatively x.", 3),
        ("<|begin_of_thought|>Let me reconsider.<|end_of_thought|>wait", "<|begin_of_thought|>Let me reconsider.", 1),
        ("no markers at all", "no markers at all", 0),
    ],
)
def test_reasoning_part_and_thought_switches(text, reasoning, switches):
    assert reasoning_part(text) == reasoning
    assert thought_switches(reasoning_part(text)) == switches


def test_efficiency_tables_of_the_eight_sample_report(reports):
    _, report = reports["qwen8"]
    eff = report["tasks"]["math_validation_question_only"]["filters"]["extract"]["efficiency"]
    assert eff["answer"]["right"]["count"] == 737 and eff["answer"]["wrong"]["count"] == 63
    assert eff["answer"]["wrong"]["token_efficiency"] == 0 and eff["answer"]["wrong"]["first_correct_tokens"] == 0
    right = eff["answer"]["right"]
    assert 0 < right["token_efficiency"] <= 1
    assert right["first_correct_tokens"] + right["reflection_tokens"] == pytest.approx(right["reasoning_tokens"])
    assert sum(cell["count"] for cell in eff["level"].values()) == 800


# --- compare ------------------------------------------------------------------------------------


def test_compare_base_and_instruct(base_run, instruct_run, offline_env, tmp_path):
    out = tmp_path / "pairs.jsonl"
    printed = cli(offline_env, "compare", str(base_run), str(instruct_run), "--filter", "tags", "--out", str(out)).stdout
    a = {r["doc"]["unique_id"]: r for r in samples_rows(base_run, "tags")}
    b = {r["doc"]["unique_id"]: r for r in samples_rows(instruct_run, "tags")}
    only_a = sum(a[u]["accuracy"] > b[u]["accuracy"] for u in a)
    only_b = sum(b[u]["accuracy"] > a[u]["accuracy"] for u in a)
    both = sum(bool(a[u]["accuracy"] and b[u]["accuracy"]) for u in a)
    p = min(1.0, 2 * sum(math.comb(only_a + only_b, i) for i in range(min(only_a, only_b) + 1)) / 2 ** (only_a + only_b))
    assert f"| **A right** | {both} | {only_a} |" in printed
    assert f"| **A wrong** | {only_b} |" in printed
    assert f"McNemar p = {p:.3g}." in printed
    rows = read_jsonl(out)
    assert len(rows) == 500
    assert list(rows[0]) == [
        "idx", "unique_id", "subject", "level", "problem", "gold",
        "model_pred", "model_correct", "model_format_ok", "model_pred_text",
        "compare_pred", "compare_correct", "compare_format_ok", "compare_pred_text",
    ]  # fmt: skip
    for row in rows:
        assert row["model_correct"] == bool(a[row["unique_id"]]["accuracy"])
        assert row["compare_correct"] == bool(b[row["unique_id"]]["accuracy"])
        assert row["model_format_ok"] == bool(a[row["unique_id"]]["format_ok"])
        assert row["model_pred_text"] == a[row["unique_id"]]["resps"][0][0]


def test_compare_bootstrap_interval_and_flips(base_run, instruct_run):
    from lm_eval_math500.analysis.compare import compare_runs

    numbers, _, _ = compare_runs(base_run, instruct_run, filter_name="cs336")
    a = [r["accuracy"] for r in samples_rows(base_run, "cs336")]
    b = [r["accuracy"] for r in samples_rows(instruct_run, "cs336")]
    only_a = sum(x > y for x, y in zip(a, b))
    only_b = sum(y > x for x, y in zip(a, b))
    assert (numbers["only_a"], numbers["only_b"]) == (only_a, only_b) and only_b < only_a
    assert numbers["both_right"] == sum(bool(x and y) for x, y in zip(a, b))
    tail = sum(math.comb(only_a + only_b, i) for i in range(only_b + 1)) / 2 ** (only_a + only_b)
    assert numbers["mcnemar_p"] == pytest.approx(min(1.0, 2 * tail))
    diffs = [x - y for x, y in zip(a, b)]
    mean = fmean(diffs)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1) / len(diffs))
    low, high = numbers["bootstrap_95"]
    assert numbers["difference"] == pytest.approx(mean) and low < mean < high
    assert high - low == pytest.approx(2 * 1.96 * sd, rel=0.2)  # close to the normal interval
    flips = {f["unique_id"] for f in numbers["flips"]}
    assert len(flips) == only_a + only_b
    assert sum(c["count"] for c in numbers["per_level"].values()) == 500


def test_compare_eight_samples_uses_the_majority_vote(qwen8):
    from lm_eval_math500.analysis.compare import compare_runs

    numbers, paired, _ = compare_runs(qwen8[0], qwen8[0])
    logged = {r["doc"]["unique_id"]: r["maj@8"] for r in samples_rows(qwen8[0], "extract")}
    assert {p.a_problem.unique_id: float(p.a.correct) for p in paired} == logged
    assert numbers["mcnemar_p"] == 1.0 and numbers["bootstrap_95"] == [0.0, 0.0]
    assert numbers["accuracy_a"] == pytest.approx(fmean(logged.values()))
