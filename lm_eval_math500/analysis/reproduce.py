"""Presets for published settings, the lm-eval command that runs one, and a run set against its numbers.

A preset is an lm-eval ``--config`` file, one of those shipped in ``presets/`` (chosen by name) or
a file of the user's (``--preset-file``): the task (prompt variant and samples per
problem through the task's ``repeats``), chat template on or off, sampling and token budget, and
under ``metadata.reproduces`` the published scores it should reproduce, each citing its source.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean, pstdev
from typing import Any

from lm_eval_math500.analysis.samples import Run, RunReadError
from lm_eval_math500.harness.input_files import read_preset
from lm_eval_math500.harness.output_paths import path_component


def presets_dir() -> Path:
    """The folder of preset files (shipped inside the package)."""
    return (Path(__file__).resolve().parents[1] / "presets").resolve()


@dataclass(frozen=True)
class Published:
    """One published score a preset reproduces.

    Attributes:
        model: the model's hub id.
        task: our task that runs it.
        metric: the ``"metric,filter"`` key of our results that compares with it.
        score: the published score, in percent.
        source: where it was published.
    """

    model: str
    task: str
    metric: str
    score: float
    source: str


@dataclass(frozen=True)
class Preset:
    """A preset file and what it reproduces.

    Attributes:
        name: the file's name without ``.yaml``.
        path: the file.
        config: the lm-eval configuration it holds.
        published: the published scores it reproduces.
    """

    name: str
    path: Path
    config: dict[str, Any]
    published: tuple[Published, ...]


def preset_names() -> list[str]:
    """The names of the shipped presets."""
    return sorted(path.stem for path in presets_dir().glob("*.yaml"))


def preset_list() -> str:
    """Each shipped preset's name, then one line per published score it reproduces: model, task, metric, score."""
    lines = []
    for name in preset_names():
        published = load_preset(name).published
        lines.append(name)
        widths = [max(len(cell) for cell in column) for column in zip(*((e.model, e.task, e.metric) for e in published))]
        for entry in published:
            cells = (entry.model, entry.task, entry.metric)
            lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + f"  {entry.score:.1f}")
    return "\n".join(lines)


def load_preset(name: str) -> Preset:
    """The shipped preset called ``name``: one of :func:`preset_names`, never a path (a file of
    one's own is :func:`load_preset_file`'s)."""
    if name not in preset_names():
        raise ValueError(
            f"no preset {name!r}; choose one of: {', '.join(preset_names())}, or pass a preset file of your own "
            "with --preset-file PATH.yaml"
        )
    return _read_preset(presets_dir() / f"{name}.yaml", name)


def load_preset_file(path: str | Path) -> Preset:
    """The preset in the YAML file ``path`` the user named, called after the file's name."""
    path = Path(path)
    if path.suffix not in (".yaml", ".yml"):
        raise ValueError(f"--preset-file {path} is not a .yaml file; pass the path of a preset YAML")
    return _read_preset(path, path_component(path.stem, f"the name of preset file {path}"))


def _read_preset(path: Path, name: str) -> Preset:
    config, checked = read_preset(path)
    published: list[Published] = []
    for entry in checked.metadata.reproduces if checked.metadata else []:
        # "same" cites the source of the entry before, as the notes' table does
        source = published[-1].source if entry.source == "same" and published else entry.source
        published.append(Published(entry.model, entry.task, entry.metric, entry.score, source))
    return Preset(name, path, config, tuple(published))


def _arg_string(args: dict[str, Any]) -> str:
    """``key=value,...`` as lm-eval's ``--model_args`` takes it."""
    return ",".join(f"{key}={value}" for key, value in args.items())


def _parse_arg_string(text: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    bad = [item for item in pairs if len(item) != 2]
    if bad:
        raise ValueError(f"--model_args takes key=value pairs separated by commas, not {text!r}")
    return {key.strip(): value.strip() for key, value in pairs}


def command(
    preset: Preset,
    *,
    tasks_dir: Path,
    model: str,
    model_args: str,
    output_path: str,
    metadata: dict[str, Any] | None = None,
) -> list[str]:
    """The ``lm-eval run`` arguments that run ``preset``.

    lm-eval lets a command-line ``--model_args`` or ``--metadata`` replace the config file's whole
    value, so the preset's own model arguments (and metadata, when more is given) are merged with
    the given ones here; the given ones win. The replay model takes none of the preset's model
    arguments: they were the generating backend's, and its generations are made already.
    """
    own = {} if model == "replay" else preset.config.get("model_args") or {}
    merged_args = {**(_parse_arg_string(own) if isinstance(own, str) else own), **_parse_arg_string(model_args)}
    argv = [
        "lm-eval", "run",
        "--config", str(preset.path),
        "--include_path", str(tasks_dir),
        "--model", model,
        "--model_args", _arg_string(merged_args),
        "--output_path", output_path,
        "--log_samples",
    ]  # fmt: skip
    if metadata:
        argv += ["--metadata", json.dumps({**(preset.config.get("metadata") or {}), **metadata}, ensure_ascii=False)]
    return argv


def shell_line(argv: list[str]) -> str:
    """``argv`` as one shell command line."""
    return " ".join(shlex.quote(arg) for arg in argv)


@dataclass(frozen=True)
class Comparison:
    """Our score for one published number.

    Attributes:
        published: the published score.
        ours: our score, in percent.
        stderr: its standard error over problems, in percent.
        unfinished: the share of responses that never finished, in percent.
        finished_accuracy: our score over the finished responses only, in percent (None if none finished).
    """

    published: Published
    ours: float
    stderr: float
    unfinished: float
    finished_accuracy: float | None

    @property
    def difference(self) -> float:
        return self.ours - self.published.score

    @property
    def z(self) -> float | None:
        """The difference in standard errors (None when the error is zero)."""
        return self.difference / self.stderr if self.stderr else None


def _model_of(run: Run) -> str:
    args = (run.raw.get("config") or {}).get("model_args") or {}
    if isinstance(args, str):
        args = _parse_arg_string(args)
    return str(args.get("pretrained") or args.get("model") or run.model)


def _matches(model: str, hub_id: str) -> bool:
    """Whether a run's model (a hub id or a local path) is the published model."""
    model, hub_id = model.rstrip("/").lower(), hub_id.lower()
    return model.endswith(hub_id) or Path(model).name == hub_id.split("/")[-1]


def compare(preset: Preset, run: Run) -> list[Comparison]:
    """Our score against each published score of ``preset`` whose task the run holds.

    Only the published model the run evaluated is compared, when its arguments name one; a run
    of saved generations (``--model replay``) is compared with every published model of its task.
    """
    entries = [entry for entry in preset.published if entry.task in run.tasks]
    if not entries:
        raise RunReadError(
            f"{run.results_file} holds tasks {', '.join(run.tasks)}, none of which preset {preset.name} "
            f"reproduces ({', '.join(sorted({e.task for e in preset.published}))})"
        )
    model = _model_of(run)
    named = [entry for entry in entries if _matches(model, entry.model)]
    return [_comparison(entry, run) for entry in named or entries]


def _comparison(entry: Published, run: Run) -> Comparison:
    metric, filter_name = entry.metric.split(",")
    task = run.task(entry.task)
    value, stderr = task.value(metric, filter_name)
    problems = task.problems(filter_name)
    # The CS336 rewards credit an answer only in the right format; the other metrics any right answer.
    needs_format = metric in ("answer_reward", "reward")
    credited = [[r.correct and (r.format_ok or not needs_format) for r in p.responses] for p in problems]
    responses = [(ok, r.unfinished) for p, oks in zip(problems, credited) for r, ok in zip(p.responses, oks)]
    if stderr is None:  # the run skipped the bootstrap: the standard error of the mean over problems
        per_problem = [fmean(oks) for oks in credited]
        stderr = pstdev(per_problem) / math.sqrt(max(len(per_problem) - 1, 1))
    finished = [correct for correct, unfinished in responses if not unfinished]
    return Comparison(
        published=entry,
        ours=100 * value,
        stderr=100 * stderr,
        unfinished=100 * fmean(unfinished for _, unfinished in responses),
        finished_accuracy=100 * fmean(finished) if finished else None,
    )


def format_comparisons(preset: Preset, comparisons: list[Comparison]) -> str:
    """A table a person reads at a glance: published, ours ± stderr, difference in points and in errors."""
    header = ("model", "task", "metric", "published", "ours ± se", "diff", "diff/se", "unfinished", "acc. finished")
    rows = [header]
    for c in comparisons:
        rows.append((
            c.published.model, c.published.task, c.published.metric, f"{c.published.score:.1f}",
            f"{c.ours:.1f} ± {c.stderr:.1f}", f"{c.difference:+.1f}", "—" if c.z is None else f"{c.z:+.1f}",
            f"{c.unfinished:.1f}%", "—" if c.finished_accuracy is None else f"{c.finished_accuracy:.1f}",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    sources = sorted({f"{c.published.model}: {c.published.source}" for c in comparisons})
    return "\n".join([f"preset {preset.name} ({preset.path.name})", *lines, "sources:", *(f"  {s}" for s in sources)])
