"""The results table a run prints: one row per task and filter, the verdict first, no repeated values.

lm-eval's own table gives every metric of every filter its own row (twelve for one r1_zero task).
This one puts each metric in a column; the results JSON keeps every metric and its standard error.
Each filter's verdict metric is the one its configuration names (``verdict_metric``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The verdict of a task whose filters name none (runs made before they did), first found wins:
# r1_zero tasks count an answer only when the filter's format holds (CS336's answer_reward); the
# other tasks count the answer alone (accuracy).
VERDICT_METRICS = ("answer_reward", "accuracy")
# Columns in this order, then any other metric alphabetically.
COLUMN_ORDER = (*VERDICT_METRICS, "format_ok", "grader_timeouts")
# CS336's names for values that another column already shows (see harness.metrics).
SAME_AS = {"format_reward": "format_ok", "reward": "answer_reward"}
# Entries of a task's results that are not metrics.
_NOT_METRICS = {"alias", "name", "sample_len", "sample_count", " "}


def verdict_metric(metrics: Iterable[str]) -> str | None:
    """The metric that says whether an answer counts, among a task's metric names (None if it has neither)."""
    names = set(metrics)
    return next((name for name in VERDICT_METRICS if name in names), None)


def named_verdicts(config: Mapping[str, Any]) -> dict[str, str]:
    """The verdict metric each filter of a task's configuration names, by filter."""
    named = {}
    for entry in config.get("filter_list") or []:
        for step in entry.get("filter", []):
            if isinstance(step, Mapping) and "verdict_metric" in step:
                named[entry["name"]] = step["verdict_metric"]
    return named


def _by_filter(entry: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"accuracy,tags": 0.1, "accuracy_stderr,tags": ...}`` as ``{"tags": {"accuracy": 0.1, ...}}``."""
    filters: dict[str, dict[str, Any]] = {}
    for key, value in entry.items():
        metric, _, filter_name = key.partition(",")
        if key not in _NOT_METRICS and filter_name:
            filters.setdefault(filter_name, {})[metric] = value
    return filters


def _columns(rows: list[dict[str, Any]], verdicts: Iterable[str]) -> list[str]:
    """The verdict metrics the rows name first, then ``COLUMN_ORDER``, then the rest alphabetically."""
    shown = {m for row in rows for m in row if not m.endswith("_stderr") and m not in SAME_AS}
    first = [m for m in dict.fromkeys([*verdicts, *COLUMN_ORDER]) if m in shown]
    return first + sorted(shown - set(first), key=column_key)


def column_key(metric: str) -> tuple[str, int, str]:
    """Sort key of a metric column: by name, then ``@k`` as a number (``maj@2`` before ``maj@16``)."""
    name, _, k = metric.partition("@")
    return (name, int(k), "") if k.isdigit() else (name, -1, k)


def _cell(metrics: Mapping[str, Any], name: str, with_stderr: bool) -> str:
    if name not in metrics:
        return ""
    value = metrics[name]
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    stderr = metrics.get(f"{name}_stderr")
    if with_stderr and isinstance(stderr, float):
        text += f" ± {stderr:.3f}"
    return text


def results_table(results: Mapping[str, Any], column: str = "results") -> str:
    """A Markdown table of ``results[column]`` (lm-eval's results dict); empty when nothing has metrics.

    One row per task and filter, the filters' verdict metrics first; the first metric of a row
    carries its standard error.
    """
    from pytablewriter import MarkdownTableWriter
    from pytablewriter.style import Style
    from pytablewriter.typehint import String

    entries = results.get(column, {})
    n_samples = results.get("n-samples", {})
    configs = results.get("configs", {})
    rows: list[tuple[str, str, Any, dict[str, Any]]] = []
    verdicts: list[str] = []
    for task, entry in entries.items():
        name = str(entry.get("alias", task))
        count = n_samples.get(task, {}).get("effective", "")
        named = named_verdicts(configs.get(task, {}))
        for filter_name, metrics in _by_filter(entry).items():
            rows.append((name, filter_name, count, metrics))
            verdicts.append(named.get(filter_name) or verdict_metric(metrics) or "")
            name, count = "", ""
    if not rows:
        return ""
    columns = _columns([metrics for *_, metrics in rows], verdicts)
    writer = MarkdownTableWriter()
    writer.headers = ["Groups" if column == "groups" else "Tasks", "Filter", "n", *columns]
    writer.type_hints = [String] * len(writer.headers)  # keep "0.090" as written, not 0.09
    writer.column_styles = [Style(align="left")] * 2 + [Style(align="right")] * (len(columns) + 1)
    writer.value_matrix = [
        [task, filter_name, count, *_cells(metrics, columns)] for task, filter_name, count, metrics in rows
    ]
    return writer.dumps().rstrip("\n") + "\n"


def _cells(metrics: Mapping[str, Any], columns: list[str]) -> list[str]:
    first = next((name for name in columns if name in metrics), None)
    return [_cell(metrics, name, with_stderr=name == first) for name in columns]
