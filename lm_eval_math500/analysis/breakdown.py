"""Per-level and per-subject tables of a run's per-problem metrics (MATH-500 and MATH-validation).

They come from the values the harness logged for each problem, so nothing is regraded. ``lm-eval-math500
run`` adds them to the results file it wrote, under ``"breakdowns"``: task, then filter, then
``"level"`` / ``"subject"``, then the group, holding ``count`` and each metric's mean and
``<metric>_stderr`` (the standard error of the mean over the group's problems).
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from statistics import fmean, stdev
from typing import Any

from lm_eval_math500.analysis.samples import RESULTS_GLOB, Logged, RunReadError, TaskRun, read_run

GROUPINGS = ("level", "subject")
BREAKDOWNS_KEY = "breakdowns"

log = logging.getLogger(__name__)


def summarise(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (0 for a single value)."""
    return fmean(values), stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0


def group_table(rows: Iterable[Logged], by: str) -> dict[str, dict[str, float]]:
    """``{group: {"count", metric, metric_stderr, ...}}`` over the problems whose doc has ``by``."""
    groups: dict[Any, list[Logged]] = {}
    for row in rows:
        if row.doc.get(by) is not None:
            groups.setdefault(row.doc[by], []).append(row)
    table = {}
    for key in sorted(groups):
        members = groups[key]
        entry: dict[str, float] = {"count": len(members)}
        for metric in members[0].scores:
            mean, stderr = summarise([row.scores[metric] for row in members])
            entry[metric], entry[f"{metric}_stderr"] = mean, stderr
        table[str(key)] = entry
    return table


def task_breakdowns(task: TaskRun) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """``{filter: {"level": ..., "subject": ...}}`` for a task whose problems have levels; else ``{}``."""
    out = {}
    for filter_name in task.filters:
        rows = task.logged(filter_name)
        if not any(row.doc.get("level") is not None for row in rows):
            return {}
        out[filter_name] = {by: group_table(rows, by) for by in GROUPINGS}
    return out


def breakdowns(results_file: Path) -> dict[str, Any]:
    """Breakdowns of every task of the run that logged samples and has MATH levels."""
    run = read_run(results_file)
    found = {}
    for name, task in run.tasks.items():
        if task.samples_file is None:
            log.warning("%s: no samples file, so no per-level breakdown (add --log_samples)", name)
            continue
        try:
            table = task_breakdowns(task)
        except RunReadError as error:  # a task of another kind beside these (its samples file is no samples file of theirs)
            log.warning("%s: no per-level breakdown (%s)", name, error)
            continue
        if table:
            found[name] = table
    return found


def add_breakdowns(output_path: str | None, *, since: float) -> list[Path]:
    """Add ``"breakdowns"`` to each results file written below ``output_path`` after ``since``."""
    if output_path is None:
        return []
    root = Path(output_path)
    files = [root] if root.is_file() else sorted(root.rglob(RESULTS_GLOB)) if root.is_dir() else []
    written = []
    for results_file in files:
        if results_file.stat().st_mtime < since:
            continue
        found = breakdowns(results_file)
        if not found:
            continue
        raw: Mapping[str, Any] = json.loads(results_file.read_text(encoding="utf-8"))
        results_file.write_text(
            json.dumps({**raw, BREAKDOWNS_KEY: found}, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        print(f"Per-level and per-subject breakdowns: {results_file} under {BREAKDOWNS_KEY!r}", file=sys.stderr)
        written.append(results_file)
    return written
