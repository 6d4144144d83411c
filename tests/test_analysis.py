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

from lm_eval_math500.analysis import efficiency
from lm_eval_math500.analysis.efficiency import first_correct_end, reasoning_part, thought_switches
from lm_eval_math500.analysis.report import write_report
from lm_eval_math500.analysis.samples import read_run
from lm_eval_math500.analysis.export import export_rows
from lm_eval_math500.harness.metrics import doc_verdict
from lm_eval_math500.grader import equivalence
from lm_eval_math500.harness.replay import problem_key

# The replayed runs are session fixtures: their tests run on one xdist worker, which makes them once.
pytestmark = pytest.mark.xdist_group("analysis_runs")

RUNS = "published_runs"
BASE = "qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl"
INSTRUCT = "qwen25_math_1.5b_instruct__math500__r1zero_t1.0_max1024__results.jsonl"
QWEN8 = "qwen25_math_instruct__math_first100__cot_t0.7_n8__qwenlm.jsonl"
SKY = "sky_t1_math_correct_5k_27b_gemma2__math500__skyt1_greedy_max32768__skythought.jsonl"
PLOT_SHAPE = (675, 1200)  # plots.SIZE at plots.DPI
PRINTED = "printed_table.md"  # where a fixture keeps the table its run printed


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lm-eval-math500"), *args], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def replay_run(out: Path, env: dict, data: Path, replay_file: str | Path, task: str, *extra: str) -> subprocess.CompletedProcess:
    """``run --model replay`` of a published run (a file name) or of any generations file (a path)."""
    path = replay_file if isinstance(replay_file, Path) else data / RUNS / replay_file
    return cli(
        env, "run", "--model", "replay", "--model_args", f"path={path},keep_stop=True",
        "--tasks", task, "--metadata", json.dumps({"data_dir": str(data)}), "--output_path", str(out), "--log_samples",
        *extra,
    )  # fmt: skip


def samples_rows(run_dir: Path, filter_name: str) -> list[dict]:
    (path,) = run_dir.rglob("samples_*.jsonl")
    return sorted((r for r in read_jsonl(path) if r["filter"] == filter_name), key=lambda r: r["doc_id"])


@pytest.fixture(scope="session")
def base_run(tmp_path_factory, offline_env, shared_data) -> Path:
    out = tmp_path_factory.mktemp("base")
    (out / PRINTED).write_text(replay_run(out, offline_env, shared_data, BASE, "math500_r1zero").stdout)
    return out


@pytest.fixture(scope="session")
def sky_run(tmp_path_factory, offline_env, shared_data) -> Path:
    """Sky-T1 (a 32k-budget long-CoT run) replayed through math500_boxed."""
    out = tmp_path_factory.mktemp("sky")
    (out / PRINTED).write_text(replay_run(out, offline_env, shared_data, SKY, "math500_boxed").stdout)
    return out


def qwen_ids(shared_data: Path) -> list[int]:
    """The MATH test indices of the 100 problems of the Qwen 8-sample file."""
    saved = {problem_key(row["question"]) for row in read_jsonl(shared_data / RUNS / QWEN8)}
    docs = read_jsonl(shared_data / "math" / "test.jsonl")
    return [i for i, doc in enumerate(docs) if problem_key(doc["problem"]) in saved]


@pytest.fixture(scope="session")
def instruct_run(tmp_path_factory, offline_env, shared_data) -> Path:
    out = tmp_path_factory.mktemp("instruct")
    replay_run(out, offline_env, shared_data, INSTRUCT, "math500_r1zero")
    return out


@pytest.fixture(scope="session")
def qwen8(tmp_path_factory, offline_env, shared_data) -> tuple[Path, str]:
    """The 100 MATH problems x 8 Qwen2.5-Math-Instruct samples, run with --repeats 8; and its table."""
    ids = qwen_ids(shared_data)
    assert len(ids) == 100
    out = tmp_path_factory.mktemp("qwen8")
    printed = replay_run(
        out, offline_env, shared_data, QWEN8, "math_validation_question_only",
        "--repeats", "8", "--samples", json.dumps({"math_validation_question_only": ids}),
    )  # fmt: skip
    return out, printed.stdout


@pytest.fixture(scope="session")
def reports(base_run, sky_run, qwen8, offline_env) -> dict[str, tuple[Path, dict]]:
    """report.md folder and report.json of each run."""
    made = {}
    for name, run_dir in (("base", base_run), ("sky", sky_run), ("qwen8", qwen8[0])):
        out = run_dir / "report"
        if name == "qwen8":  # the command once; the other reports in process, to keep the suite quick
            printed = Path(cli(offline_env, "report", str(run_dir), "--out", str(out), "--efficiency").stdout.strip())
        else:
            printed = write_report(run_dir, out)
        assert printed == out / "report.md"
        made[name] = (out, json.loads((out / "report.json").read_text()))
    return made


# --- n samples per problem ---------------------------------------------------------------------


@pytest.mark.slow
def test_repeats_give_avg_pass_and_maj_at_k_from_every_sample(qwen8, shared_data):
    run_dir, printed = qwen8
    task = read_run(run_dir).task()
    assert task.repeats == 8
    rows = samples_rows(run_dir, "extract")
    qwen = {problem_key(row["question"]): row for row in read_jsonl(shared_data / RUNS / QWEN8)}
    right = []
    for row in rows:
        (logged,) = row["filtered_resps"]
        assert row["resps"] == [qwen[problem_key(row["doc"]["problem"])]["code"]]
        right.append([doc_verdict(json.loads(record)["answer"], row["doc"]).correct for record in logged])
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_report_numbers_match_the_samples_files(reports, base_run, shared_data):
    _, report = reports["base"]
    task = report["tasks"]["math500_r1zero"]
    levels = Counter(str(doc["level"]) for doc in read_jsonl(shared_data / "math500" / "test.jsonl"))
    for filter_name in ("tags", "cs336"):
        rows = samples_rows(base_run, filter_name)
        numbers = task["filters"][filter_name]
        assert numbers["verdict_metric"] == "answer_reward"
        reward = [r["answer_reward"] for r in rows]
        assert numbers["verdict"]["mean"] == pytest.approx(fmean(reward))
        se = math.sqrt(sum((a - fmean(reward)) ** 2 for a in reward) / (len(reward) - 1) / len(reward))
        assert numbers["verdict"]["stderr"] == pytest.approx(se)
        assert numbers["accuracy"]["mean"] == pytest.approx(fmean(r["accuracy"] for r in rows))
        rates = numbers["rates"]
        assert rates["format_ok"] == pytest.approx(fmean(r["format_ok"] for r in rows))
        assert rates["unfinished"] == pytest.approx(fmean(r["unfinished"] for r in rows))
        assert rates["grader_timeouts"] == pytest.approx(fmean(r["grader_timeouts"] for r in rows))
        assert rates["no_answer"] == pytest.approx(
            fmean(json.loads(r["filtered_resps"][0][0])["answer"] is None for r in rows)
        )
        assert rates["budget_reached"] is None  # a replay: the saved run's budget is not the task's
        assert {level: cell["count"] for level, cell in numbers["level"].items()} == levels
        for level, cell in numbers["level"].items():
            assert cell["mean"] == pytest.approx(fmean(r["answer_reward"] for r in rows if str(r["doc"]["level"]) == level))
            assert cell["low"] <= cell["mean"] <= cell["high"]
        categories = numbers["reward_categories"]
        assert sum(categories.values()) == 500
        assert categories["format and answer right (reward 1)"] == sum(r["answer_reward"] for r in rows)
        assert categories["format right, answer wrong"] == sum(r["format_reward"] - r["answer_reward"] for r in rows)
        assert categories["format wrong, answer right (reward 0)"] == sum(r["accuracy"] - r["answer_reward"] for r in rows)
    cs336 = task["filters"]["cs336"]
    assert cs336["rates"]["format_ok"] == pytest.approx(82 / 500)  # CS336's reported format reward
    assert cs336["verdict"]["mean"] == pytest.approx(18 / 500)
    # The Wilson interval of 18 of 500 (z = 1.959964), computed here from its formula.
    z, p = 1.959964, 18 / 500
    centre, half = (p + z * z / 1000) / (1 + z * z / 500), z * math.sqrt(p * (1 - p) / 500 + z * z / 1_000_000) / (1 + z * z / 500)
    assert (cs336["verdict"]["low"], cs336["verdict"]["high"]) == pytest.approx((centre - half, centre + half), abs=1e-5)
    assert cs336["reward_categories"]["format and answer right (reward 1)"] == 18
    assert "sampling" not in cs336
    assert task["budget"]["tokens"] is None and "replay" in task["budget"]["note"]


@pytest.mark.slow
@pytest.mark.parametrize("name,filters", [("base", ("tags", "cs336")), ("qwen8", ("extract",)), ("sky", ("extract",))])
def test_report_compare_export_and_printed_table_agree_on_every_filter(name, filters, reports, base_run, sky_run, qwen8):
    """The task's verdict, to the last printed digit, in the run's table, report.md, report.json,
    compare (the run against itself) and the export's per-problem verdicts."""
    from lm_eval_math500.analysis.compare import compare_runs

    run_dir = {"base": base_run, "sky": sky_run, "qwen8": qwen8[0]}[name]
    printed = qwen8[1] if name == "qwen8" else (run_dir / PRINTED).read_text()
    folder, report = reports[name]
    markdown = (folder / "report.md").read_text()
    (task_name, entry), = report["tasks"].items()
    task = read_run(run_dir).task(task_name)
    (samples_file,) = run_dir.rglob("samples_*.jsonl")
    for filter_name in filters:
        numbers = entry["filters"][filter_name]
        metric = task.verdict_metric(filter_name)
        assert numbers["verdict_metric"] == metric == ("answer_reward" if name == "base" else "accuracy")
        value, stderr = task.value(metric, filter_name)
        cell = f"{value:.3f} ± {stderr:.3f}"
        (row,) = [line for line in printed.splitlines() if f"|{filter_name} " in line or f"|{filter_name}|" in line]
        assert row.split("|")[4].strip() == cell  # the verdict is the table's first metric column
        assert f"| {filter_name} | {numbers['problems']} | {metric} | {cell} |" in markdown
        assert numbers["verdict"]["mean"] == pytest.approx(value, abs=1e-12)
        compared, _, text, _ = compare_runs(run_dir, run_dir, filter_name=filter_name)
        assert f"{compared['mean_a']:.3f}" == f"{value:.3f}" and f"A {value:.3f}, B {value:.3f}" in text
        exported = export_rows(samples_file, filter_name)
        assert f"{fmean(float(r['correct']) for r in exported):.3f}" == f"{value:.3f}"


@pytest.mark.slow
def test_report_plots_are_drawn_as_png_and_svg_and_linked(reports):
    for name, (folder, report) in reports.items():
        text = (folder / "report.md").read_text()
        (task,) = report["tasks"].values()
        assert task["tokens"] == "estimate" and "**estimated**" in text
        pngs = [plot for plot in task["plots"] if plot.endswith(".png")]
        assert {plot.removesuffix(".png") for plot in pngs} == {plot.removesuffix(".svg") for plot in task["plots"] if plot.endswith(".svg")}
        assert pngs and all(f"]({plot})" in text for plot in pngs)
        for plot in pngs:
            image = imread(folder / plot)
            assert image.shape[:2] == PLOT_SHAPE or "compare" in plot
            assert image.std() > 0.01  # something is drawn
        for svg in (folder / plot for plot in task["plots"] if plot.endswith(".svg")):
            drawn = svg.read_text()
            assert report["model"] in drawn  # the model names every figure
            assert "estimated" in drawn or not svg.name.endswith(("_tokens.svg", "_by_length.svg"))
    _, report = reports["base"]
    kinds = {plot.removeprefix("math500_r1zero_").removesuffix(".png") for plot in report["tasks"]["math500_r1zero"]["plots"] if plot.endswith(".png")}
    assert kinds == {f"{f}_{kind}" for f in ("tags", "cs336") for kind in ("level", "subject", "tokens", "by_length", "rewards")}


@pytest.mark.slow
def test_no_budget_is_drawn_or_reported_for_a_replay(reports):
    """Sky-T1 had 32k tokens; the replaying task's 4,096 is not its budget, so none is shown."""
    folder, report = reports["sky"]
    task = report["tasks"]["math500_boxed"]
    assert task["budget"]["tokens"] is None and task["filters"]["extract"]["rates"]["budget_reached"] is None
    assert "token budget" not in (folder / "math500_boxed_extract_tokens.svg").read_text()
    assert task["filters"]["extract"]["rates"]["unfinished"] == pytest.approx(94 / 500)
    assert "truncat" not in (folder / "report.md").read_text()


@pytest.mark.slow
def test_report_of_eight_samples_has_both_majority_votes(reports, qwen8):
    folder, report = reports["qwen8"]
    task = read_run(qwen8[0]).task()
    numbers = report["tasks"]["math_validation_question_only"]["filters"]["extract"]
    sampling = numbers["sampling"]
    assert sampling["k"] == [1, 2, 4, 8]
    for k in ("1", "2", "4", "8"):
        for key in ("pass@k", "maj@k"):
            cell = sampling[key][k]
            assert cell["mean"] == pytest.approx(task.value(key[:-1] + k, "extract")[0])
            assert cell["low"] <= cell["mean"] <= cell["high"]
    # First-k: with two samples the tie goes to the first, so maj@2 = maj@1 (every sample has an answer here).
    assert sampling["maj@k"]["1"]["mean"] == sampling["maj@k"]["2"]["mean"] == pytest.approx(0.91)
    # Over every k-subset with ties split, maj_avg@1 and maj_avg@2 are avg@8; counted exactly for n = 8.
    assert sampling["maj_avg@k"]["1"]["mean"] == pytest.approx(737 / 800) == sampling["maj_avg@k"]["2"]["mean"]
    assert sampling["maj_avg_exact"] and all(cell["monte_carlo_stderr"] == 0 for cell in sampling["maj_avg@k"].values())
    assert sampling["maj_avg@k"]["8"]["mean"] == pytest.approx(0.935)
    assert sampling["string_maj@8"] == pytest.approx(0.94)
    assert sampling["vote_differences"] == []  # on our extracted answers the two votes agree
    assert sum(numbers["solve_rates"].values()) == 100 and numbers["solve_rates"]["8"] == 87
    plots_made = report["tasks"]["math_validation_question_only"]["plots"]
    assert {"math_validation_question_only_extract_sampling.png", "math_validation_question_only_extract_solve_rates.png"} <= set(plots_made)
    assert numbers["responses"] == 800 and numbers["length"]["right"]["count"] == 737
    text = (folder / "report.md").read_text()
    assert "| maj@k (first k samples) | 0.910 | 0.910 | 0.940 | 0.940 |" in text
    assert "| maj_avg@k (every k-subset) | 0.921 | 0.921 |" in text and "maj@2 equals maj@1" in text


@pytest.mark.slow
def test_tokens_are_counted_with_the_tokenizer_when_given(base_run, tiny_model, tmp_path):
    from transformers import AutoTokenizer

    write_report(base_run, tmp_path, tokenizer=str(tiny_model.path))
    report = json.loads((tmp_path / "report.json").read_text())
    task = report["tasks"]["math500_r1zero"]
    assert task["tokens"] == str(tiny_model.path)
    assert "**estimated**" not in (tmp_path / "report.md").read_text()
    assert "estimated" not in (tmp_path / "math500_r1zero_tags_tokens.svg").read_text()
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model.path))
    rows = samples_rows(base_run, "tags")
    counts = [len(tokenizer(r["resps"][0][0], add_special_tokens=False)["input_ids"]) for r in rows]
    numbers = task["filters"]["tags"]
    right = [c for c, r in zip(counts, rows) if r["answer_reward"]]
    assert numbers["length"]["right"]["mean"] == pytest.approx(fmean(right))
    assert sum(b["count"] for b in numbers["length_bins"]) == 500
    assert numbers["rates"]["budget_reached"] is None  # still a replay


def test_analysis_modules_import_neither_the_filters_nor_the_metrics():
    """Report, compare and their helpers read the run's responses; they never extract or grade through the harness."""
    import ast

    folder = Path(__file__).resolve().parents[1] / "lm_eval_math500" / "analysis"
    mine = ("report", "report_html", "compare", "plots", "intervals", "efficiency", "tokens", "summary")
    for name in mine:
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not {"lm_eval_math500.harness.filters", "lm_eval_math500.harness.metrics"} & imported, name


# --- report.html in a browser -----------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)
# A response that would run script or break out of the page if it were placed as HTML.
HOSTILE = '</script><script>window.injected = 1</script><img src=x onerror="window.injected = 2"><b>bold</b>'


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's headless Chromium through selenium and Debian's chromedriver, logging the console."""
    import shutil

    from selenium import webdriver

    driver_path = shutil.which("chromedriver")
    if not driver_path:
        pytest.fail("chromedriver is not installed; apt-get install chromium chromium-driver (as .ci/run does)", pytrace=False)
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    yield driver
    driver.quit()


def console_errors(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]


def shown_rows(driver) -> int:
    return len(driver.find_elements("css selector", "#rows tr.row"))


def opened_detail(driver):
    """The detail row of the row just clicked, once the page has unpacked its texts."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 20).until(lambda d: d.find_element("css selector", "#rows tr.detail"))


def choose(driver, select_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", select_id)).select_by_value(value)


@pytest.mark.slow
@pytest.mark.browser
def test_report_page_loads_filters_and_expands(browser, reports):
    """The CS336 base replay's page (two filters, 500 problems), opened from the file."""
    folder, report = reports["base"]
    browser.get((folder / "report.html").as_uri())
    assert console_errors(browser) == []
    assert shown_rows(browser) == 500
    browser.save_screenshot(str(folder / "report_html.png"))
    choose(browser, "level", "5")
    assert shown_rows(browser) == report["tasks"]["math500_r1zero"]["filters"]["tags"]["level"]["5"]["count"] == 134
    choose(browser, "verdict", "right")
    right_at_5 = shown_rows(browser)
    assert right_at_5 == 3 and browser.find_element("id", "shown").text == "3 of 500 problems shown"
    choose(browser, "level", "")
    choose(browser, "view", "1")  # the cs336 filter: its stricter format counts fewer right
    choose(browser, "verdict", "right")
    assert shown_rows(browser) == 18
    browser.find_element("css selector", "#rows tr.row").click()
    detail = opened_detail(browser)
    assert "Gold answer" in detail.text and "reason:" in detail.text and "estimated tokens" in detail.text
    browser.save_screenshot(str(folder / "report_html_expanded.png"))
    assert console_errors(browser) == []


@pytest.mark.slow
@pytest.mark.browser
def test_report_page_sorts_by_verdict(browser, reports):
    folder, _ = reports["qwen8"]
    browser.get((folder / "report.html").as_uri())
    browser.find_element("css selector", '#problems th[data-key="rate"]').click()
    shown = [row.find_elements("css selector", "td")[4].text for row in browser.find_elements("css selector", "#rows tr.row")]
    assert shown[0] == "0/8" and shown[-1] == "8/8" and len(shown) == 100
    choose(browser, "verdict", "mixed")
    assert shown_rows(browser) == 100 - 87 - 2
    browser.save_screenshot(str(folder / "report_html_sorted.png"))
    assert console_errors(browser) == []


@pytest.mark.slow
@pytest.mark.browser
def test_report_page_shows_model_text_as_text(browser, tmp_path, offline_env, shared_data):
    docs = read_jsonl(shared_data / "math500" / "test.jsonl")[:6]
    rows = [{"problem": docs[0]["problem"], "response": f"{HOSTILE} so \\boxed{{{docs[0]['answer']}}}"}]
    rows += [{"problem": doc["problem"], "response": f"The answer is \\boxed{{{doc['answer'] if i % 2 else 0}}}."} for i, doc in enumerate(docs[1:], 1)]
    generations = tmp_path / "generations.jsonl"
    generations.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    replay_run(tmp_path / "run", offline_env, shared_data, generations, "math500_question_only", "--limit", "6")
    write_report(tmp_path / "run", tmp_path / "report")
    browser.get((tmp_path / "report" / "report.html").as_uri())
    assert shown_rows(browser) == 6
    browser.find_element("css selector", "#rows tr.row").click()
    detail = opened_detail(browser)
    assert HOSTILE in detail.text  # the markup shows as written
    assert browser.execute_script("return window.injected === undefined")
    assert browser.find_elements("css selector", "#rows b, #rows img") == []
    browser.save_screenshot(str(tmp_path / "report" / "report_html_hostile.png"))
    assert console_errors(browser) == []




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


@pytest.mark.slow
def test_a_report_grades_nothing_unless_asked_for_the_efficiency_table(base_run, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the report graded")

    monkeypatch.setattr(equivalence, "_decide", refuse)
    monkeypatch.setattr(efficiency, "grade_answer", refuse)
    report = json.loads(write_report(base_run, tmp_path).with_name("report.json").read_text())
    assert [f.get("efficiency") for task in report["tasks"].values() for f in task["filters"].values()] == [None, None]
    assert "Reasoning efficiency" not in (tmp_path / "report.md").read_text()
    with pytest.raises(AssertionError, match="the report graded"):
        write_report(base_run, tmp_path / "with_efficiency", efficiency=True)


@pytest.mark.slow
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


@pytest.mark.slow
def test_compare_base_and_instruct_by_the_verdict(base_run, instruct_run, offline_env, tmp_path):
    out = tmp_path / "pairs.jsonl"
    printed = cli(offline_env, "compare", str(base_run), str(instruct_run), "--filter", "tags", "--out", str(out)).stdout
    a = {r["doc"]["unique_id"]: r for r in samples_rows(base_run, "tags")}
    b = {r["doc"]["unique_id"]: r for r in samples_rows(instruct_run, "tags")}
    only_a = sum(a[u]["answer_reward"] > b[u]["answer_reward"] for u in a)
    only_b = sum(b[u]["answer_reward"] > a[u]["answer_reward"] for u in a)
    both = sum(bool(a[u]["answer_reward"] and b[u]["answer_reward"]) for u in a)
    p = min(1.0, 2 * sum(math.comb(only_a + only_b, i) for i in range(min(only_a, only_b) + 1)) / 2 ** (only_a + only_b))
    assert printed.splitlines()[0] == "# Comparing all 500 problems"
    assert f"| **A solves** | {both} | {only_a} |" in printed
    assert f"| **A does not** | {only_b} |" in printed
    assert f"exact McNemar p = {p:.3g}." in printed
    assert (tmp_path / "pairs.png").is_file() and (tmp_path / "pairs.svg").is_file()
    rows = read_jsonl(out)
    assert len(rows) == 500
    assert list(rows[0]) == [
        "idx", "unique_id", "subject", "level", "problem", "gold",
        "model_pred", "model_correct", "model_format_ok", "model_pred_text",
        "compare_pred", "compare_correct", "compare_format_ok", "compare_pred_text", "flipped",
    ]  # fmt: skip
    for row in rows:
        assert row["model_correct"] == bool(a[row["unique_id"]]["answer_reward"])
        assert row["compare_correct"] == bool(b[row["unique_id"]]["answer_reward"])
        assert row["model_format_ok"] == bool(a[row["unique_id"]]["format_ok"])
        assert row["model_pred_text"] == a[row["unique_id"]]["resps"][0][0]
        assert row["flipped"] == (row["model_correct"] != row["compare_correct"])
    # compare --out and export count the same verdicts
    (samples_file,) = base_run.rglob("samples_*.jsonl")
    assert sum(r["model_correct"] for r in rows) == sum(r["correct"] for r in export_rows(samples_file, "tags"))


@pytest.mark.slow
def test_compare_filter_changes_the_verdict(base_run, instruct_run):
    from lm_eval_math500.analysis.compare import compare_runs

    numbers, _, _, _ = compare_runs(base_run, instruct_run, filter_name="cs336")
    tags, _, _, _ = compare_runs(base_run, instruct_run, filter_name="tags")
    a = [r["answer_reward"] for r in samples_rows(base_run, "cs336")]
    b = [r["answer_reward"] for r in samples_rows(instruct_run, "cs336")]
    assert numbers["mean_a"] == pytest.approx(18 / 500) and tags["mean_a"] == pytest.approx(fmean(r["answer_reward"] for r in samples_rows(base_run, "tags")))
    only_a = sum(x > y for x, y in zip(a, b))
    only_b = sum(y > x for x, y in zip(a, b))
    assert (numbers["only_a"], numbers["only_b"]) == (only_a, only_b)
    tail = sum(math.comb(only_a + only_b, i) for i in range(min(only_a, only_b) + 1)) / 2 ** (only_a + only_b)
    assert numbers["test"] == "exact McNemar" and numbers["p_value"] == pytest.approx(min(1.0, 2 * tail))
    diffs = [x - y for x, y in zip(a, b)]
    mean = fmean(diffs)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1) / len(diffs))
    low, high = numbers["bootstrap_95"]
    assert numbers["difference"] == pytest.approx(mean) and low < mean < high
    assert high - low == pytest.approx(2 * 1.96 * sd, rel=0.2)  # close to the normal interval
    assert len(numbers["flips"]) == only_a + only_b
    assert sum(c["count"] for c in numbers["per_level"].values()) == 500


@pytest.mark.slow
def test_compare_eight_samples_pairs_per_problem_means(qwen8, tmp_path_factory, offline_env, shared_data, tmp_path):
    """The Qwen 8-sample run against its first 4 samples: avg@8 against avg@4, problem by problem."""
    from lm_eval_math500.analysis.compare import compare_runs

    four = tmp_path_factory.mktemp("qwen4")
    replay_run(
        four, offline_env, shared_data, QWEN8, "math_validation_question_only",
        "--repeats", "4", "--samples", json.dumps({"math_validation_question_only": qwen_ids(shared_data)}),
    )  # fmt: skip
    numbers, paired, text, _ = compare_runs(qwen8[0], four)
    eight = {r["doc"]["unique_id"]: r["accuracy"] for r in samples_rows(qwen8[0], "extract")}
    first4 = {r["doc"]["unique_id"]: r["accuracy"] for r in samples_rows(four, "extract")}
    assert {p.a.unique_id: p.value_a for p in paired} == pytest.approx(eight)
    assert {p.b.unique_id: p.value_b for p in paired} == pytest.approx(first4)
    assert numbers["samples"] == [8, 4] and numbers["test"] == "paired permutation"
    assert numbers["mean_a"] == pytest.approx(737 / 800) and numbers["mean_b"] == pytest.approx(fmean(first4.values()))
    assert numbers["difference"] == pytest.approx(fmean(eight[u] - first4[u] for u in eight))
    flipped = {u for u in eight if (eight[u] > 0.5) != (first4[u] > 0.5)}
    assert {f["unique_id"] for f in numbers["flips"]} == flipped and 0 < numbers["p_value"] <= 1
    same, _, _, _ = compare_runs(qwen8[0], qwen8[0])
    assert same["p_value"] == 1.0 and same["bootstrap_95"] == [0.0, 0.0] and same["flips"] == []


@pytest.mark.slow
def test_compare_two_prompt_variants_on_the_problems_both_have(sky_run, offline_env, shared_data, tmp_path):
    """Sky-T1 through math500_boxed (500 problems) against math500_question_only on 40 of them."""
    other = tmp_path / "question_only"
    replay_run(other, offline_env, shared_data, SKY, "math500_question_only", "--limit", "40")
    out = tmp_path / "pairs.jsonl"
    printed = cli(
        offline_env, "compare", str(sky_run), str(other), "--task", "math500_boxed", "--task-b", "math500_question_only",
        "--out", str(out), "--plot", str(tmp_path / "figure.png"),
    ).stdout  # fmt: skip
    assert printed.splitlines()[0] == "# Comparing the 40 problems both have (A has 500, B has 40)"
    assert "math500_boxed (filter extract, accuracy)" in printed and "math500_question_only (filter extract, accuracy)" in printed
    rows = read_jsonl(out)
    boxed = {r["doc"]["unique_id"]: r["accuracy"] for r in samples_rows(sky_run, "extract")}
    assert len(rows) == 40 and all(row["model_correct"] == bool(boxed[row["unique_id"]]) for row in rows)
    assert imread(tmp_path / "figure.png").std() > 0.01 and (tmp_path / "figure.svg").is_file()


@pytest.mark.slow
def test_compare_shows_the_first_flips_and_out_has_them_all(base_run, instruct_run, offline_env, tmp_path):
    from lm_eval_math500.analysis.compare import SHOWN_FLIPS

    out = tmp_path / "pairs.jsonl"
    printed = cli(offline_env, "compare", str(base_run), str(instruct_run), "--out", str(out)).stdout
    flipped = [row for row in read_jsonl(out) if row["flipped"]]
    assert len(flipped) > SHOWN_FLIPS
    listed = [line for line in printed.splitlines() if line.startswith("| test/")]
    assert len(listed) == SHOWN_FLIPS and f"Problems that flipped: {len(flipped)}, the first {SHOWN_FLIPS}" in printed
    assert {line.split(" | ")[0].removeprefix("| ") for line in listed} <= {row["unique_id"] for row in flipped}


@pytest.mark.slow
@pytest.mark.parametrize(
    "args,message",
    [
        (["--task-b", "math500_nothing"], "has no task 'math500_nothing'"),
        (["--filter", "cs336", "--task-b", "math500_r1zero", "--filter-b", "extract"], "has no filter 'extract'"),
        (["--plot", "figure.jpg"], "is not a .png file name"),
    ],
)
def test_compare_errors_name_the_fix(base_run, offline_env, args, message, tmp_path):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lm-eval-math500"), "compare", str(base_run), str(base_run), *args],
        env=offline_env, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2 and message in result.stderr and result.stderr.startswith("lm-eval-math500: error: ")


# --- the printed table --------------------------------------------------------------------------


def test_printed_table_sorts_metric_columns_by_k_as_numbers():
    from lm_eval_math500.analysis.summary import results_table

    metrics = {f"{name}@{k},extract": 0.5 for name in ("pass", "maj") for k in (1, 2, 4, 8, 16, 32, 64)}
    header = results_table({"results": {"t": {"accuracy,extract": 0.5, "unfinished,extract": 0.0, **metrics}}}).splitlines()[0]
    columns = [cell.strip() for cell in header.strip("|").split("|")][3:]
    ladder_k = ["1", "2", "4", "8", "16", "32", "64"]
    assert columns == ["accuracy", *(f"maj@{k}" for k in ladder_k), *(f"pass@{k}" for k in ladder_k), "unfinished"]


@pytest.mark.slow
def test_regrading_a_run_that_kept_its_stop_strings_gives_its_recorded_verdicts(base_run):
    """Whether the backend cut the stop string is one fact about a run: regrading decides it from
    all of the run's responses, as the run did, not from each problem's alone (CS336's file keeps
    ``</answer>``, so an answer left open is unclosed, and its format fails, in both)."""
    recorded, regraded = read_run(base_run).task(), read_run(base_run, regrade=True).task()
    for filter_name in ("tags", "cs336"):
        assert regraded.problems(filter_name) == recorded.problems(filter_name)
    assert sum(r["format_ok"] for r in export_rows(next(base_run.rglob("samples_*.jsonl")), "cs336", regrade=True)) == 82
