"""Every file a command writes stays inside the folder the user named.

Names read from input files (a results file's task and filter names, the name a replay is filed
under) become one path component or stop the command in one line; presets are shipped names, or a
file the user names with --preset-file. Each test watches the whole sandbox and, where a name
points outside it, the place it points at.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lm_eval_math500.analysis.reproduce import load_preset
from lm_eval_math500.cli import main

# The tests take the session's small run apart: on one xdist worker, which replays it once.
pytestmark = pytest.mark.xdist_group("small_run")

PROG = "lm-eval-math500"
TASK, FILTER = "math500_r1zero", "tags"


def snapshot(root: Path) -> dict[str, int]:
    """Every file below ``root`` and its modification time."""
    return {str(path.relative_to(root)): path.stat().st_mtime_ns for path in root.rglob("*") if path.is_file()}


def written(before: dict[str, int], after: dict[str, int]) -> set[str]:
    """The files made or changed between two snapshots."""
    return {name for name, mtime in after.items() if before.get(name) != mtime}


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit status, standard output and standard error of the command, run in this process."""
    try:
        main(argv)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def renamed_run(small_run: Path, to: Path, task: str = TASK, filter_name: str = FILTER) -> Path:
    """A copy of the small run whose task and filter are called ``task`` and ``filter_name`` (in the
    results file and the samples file, whose own name holds the task's, as lm-eval writes it)."""
    (results,) = small_run.rglob("results_*.json")
    (samples,) = small_run.rglob("samples_*.jsonl")
    stamp = results.stem.removeprefix("results_")
    raw = json.loads(results.read_text(encoding="utf-8"))
    raw["results"] = {task: {key.replace(f",{FILTER}", f",{filter_name}"): value for key, value in raw["results"][TASK].items()}}
    config = raw["configs"].pop(TASK)
    for entry in config["filter_list"]:
        entry["name"] = filter_name if entry["name"] == FILTER else entry["name"]
    raw["configs"] = {task: config}
    to.mkdir(parents=True)
    (to / results.name).write_text(json.dumps(raw), encoding="utf-8")
    rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["filter"] = filter_name if row["filter"] == FILTER else row["filter"]
    renamed = Path(f"{to}/samples_{task}_{stamp}.jsonl")  # a task name with "/" in it makes folders, as it would for lm-eval
    renamed.parent.mkdir(parents=True, exist_ok=True)
    renamed.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return to / results.name


# (task name, filter name) read from a results file; each would put a plot outside the report folder.
TRAVERSING_NAMES = [
    (TASK, "/../../../elsewhere/EVIL"),
    (TASK, "../../elsewhere"),
    ("..", ".."),
    ("../../elsewhere/EVIL", FILTER),
    ("/ABSOLUTE/elsewhere/EVIL", FILTER),
]


@pytest.mark.parametrize(("task", "filter_name"), TRAVERSING_NAMES)
def test_report_writes_only_into_its_folder_whatever_the_run_names(task, filter_name, small_run, tmp_path, capsys):
    sandbox = tmp_path / "sandbox"
    task = task.replace("/ABSOLUTE", str(tmp_path))
    results = renamed_run(small_run, sandbox / "runs" / "a" / "b" / "c", task, filter_name)
    out = sandbox / "runs" / "a" / "b" / "c" / "report"
    before = snapshot(tmp_path)
    code, _, err = cli(["report", str(results), "--out", str(out)], capsys)
    made = written(before, snapshot(tmp_path))
    assert all(Path(tmp_path / name).is_relative_to(out) for name in made), made
    assert not (tmp_path / "elsewhere").exists() and not Path("/elsewhere").exists()
    assert not (sandbox / "runs" / "elsewhere").exists() and not (sandbox / "elsewhere").exists()
    if "/" in task:  # no samples file can be named after it: the command says so in one line
        assert code == 2 and err == (
            f"{PROG}: error: task {task!r} has a name no samples file can have (it holds a path separator); "
            "rename the task in the results file\n"
        )
    else:
        assert code == 0, err
        assert {"report.md", "report.json", "report.html"} <= {Path(name).name for name in made}
        plots = json.loads((out / "report.json").read_text())["tasks"][task]["plots"]
        assert plots and all("/" not in plot and (out / plot).is_file() for plot in plots)


def test_a_replay_is_filed_under_one_folder_inside_output_path(small_run, shared_data, tmp_path, capsys):
    (samples,) = small_run.rglob("samples_*.jsonl")
    out = tmp_path / "sandbox" / "output"
    before = snapshot(tmp_path)
    code, _, err = cli(
        [
            "run", "--model", "replay", "--model_args", f"path={samples},model=../../escaped", "--tasks", TASK,
            "--limit", "1", "--metadata", json.dumps({"data_dir": str(shared_data)}), "--output_path", str(out),
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    made = written(before, snapshot(tmp_path))
    assert made and all(Path(tmp_path / name).parent == out / ".._.._escaped" for name in made), made


@pytest.mark.parametrize(
    ("model_args", "message"),
    [
        (
            "model=..,base_url=http://127.0.0.1:9/v1/completions,tokenizer_backend=None",
            "lm-eval would file the results under '..', which is not a folder inside --output_path; name the model "
            "with a folder name (lm-eval takes it from peft, delta, pretrained, model or path in --model_args)",
        ),
        (
            "pretrained=.,base_url=http://127.0.0.1:9/v1/completions,tokenizer_backend=None",
            "lm-eval would file the results under '.', which is not a folder inside --output_path; name the model "
            "with a folder name (lm-eval takes it from peft, delta, pretrained, model or path in --model_args)",
        ),
    ],
)
def test_a_model_name_that_is_no_folder_stops_the_run_before_it_starts(model_args, message, tmp_path, capsys):
    out = tmp_path / "sandbox" / "output"
    code, _, err = cli(["run", "--model", "local-completions", "--model_args", model_args, "--tasks", TASK, "--output_path", str(out)], capsys)
    assert code == 2
    assert [line for line in err.splitlines() if line.startswith(PROG)] == [f"{PROG}: error: {message}"]
    assert snapshot(tmp_path) == {}


PRESET_NAMES = ["../../presets/cs336_r1zero", "/etc/passwd", "cs336_r1zero.yaml", "presets/cs336_r1zero", "..", ""]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_a_preset_is_one_of_the_shipped_names_never_a_path(name, capsys):
    code, _, err = cli(["reproduce", name, "--model_args", "pretrained=x", "--dry-run"], capsys)
    assert code == 2
    assert err.startswith(f"{PROG}: error: no preset {name!r}; choose one of: cs336_r1zero, ") and err.count("\n") == 1
    assert err.endswith(", or pass a preset file of your own with --preset-file PATH.yaml\n")


def test_a_preset_file_is_read_only_when_named_with_preset_file(tmp_path, capsys):
    own = tmp_path / "my_settings.yaml"
    shutil.copy(load_preset("cs336_r1zero").path, own)
    code, out, err = cli(["reproduce", "--preset-file", str(own), "--model_args", "pretrained=x", "--dry-run"], capsys)
    assert code == 0, err
    argv = out.split()
    assert argv[argv.index("--config") + 1] == str(own)
    assert argv[argv.index("--output_path") + 1] == "runs/my_settings"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("...yaml", "the name of preset file DIR/...yaml '..' cannot be a file name; rename it to letters, digits, '_', '-' or '.'"),
        ("settings.txt", "--preset-file DIR/settings.txt is not a .yaml file; pass the path of a preset YAML"),
    ],
)
def test_a_preset_file_whose_name_is_no_run_name_is_refused(name, message, tmp_path, capsys):
    (tmp_path / name).write_bytes(load_preset("cs336_r1zero").path.read_bytes())
    code, _, err = cli(["reproduce", "--preset-file", str(tmp_path / name), "--model_args", "pretrained=x"], capsys)
    assert (code, err) == (2, f"{PROG}: error: {message.replace('DIR', str(tmp_path))}\n")
