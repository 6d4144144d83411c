"""The figures of ``report`` and ``compare``, each written as PNG and SVG by matplotlib.

Every figure names what it shows, then the model and the task (with its filter) under it; every
interval is a 95% interval and its legend or axis says which kind. The functions take plain numbers,
so the report and the comparison decide what is drawn and these decide only how.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SIZE = (8.0, 4.5)  # inches
DPI = 150  # PNG: 1200 x 675 pixels
FORMATS = ("png", "svg")
RIGHT, WRONG, ACCENT, GREY = "#2b7a3d", "#b23a3a", "#2f5f98", "#6b6b6b"
STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "svg.fonttype": "none",  # text stays text in the SVG
}


@dataclass(frozen=True)
class Caption:
    """What every title names: the model, and the task with its filter.

    Attributes:
        model: the model's name as the run recorded it.
        task: the task name.
        filter_name: the extraction filter the numbers are under.
    """

    model: str
    task: str
    filter_name: str

    def line(self) -> str:
        return f"{self.model} · {self.task} (filter {self.filter_name})"


@dataclass(frozen=True)
class Groups:
    """A mean with its 95% interval for each of several groups (levels, subjects, length bins)."""

    names: Sequence[str]
    means: Sequence[float]
    lows: Sequence[float]
    highs: Sequence[float]
    counts: Sequence[int]


def _figure(size: tuple[float, float] = SIZE, **subplots: Any) -> tuple[Any, Any, Any]:
    """matplotlib, and a figure with its axes in :data:`STYLE`; made without pyplot, which a file
    written once needs neither for its backend nor for its list of open figures."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=size, dpi=DPI)
        axes = figure.subplots(**subplots)
    return matplotlib, figure, axes


def _title(figure: Any, what: str, subtitle: str | Sequence[str]) -> None:
    """``what`` in bold at the top left, the model and task in grey under it (one line each)."""
    lines = [subtitle] if isinstance(subtitle, str) else list(subtitle)
    lines = [wrapped for line in lines for wrapped in textwrap.wrap(line, 150)]
    height = figure.get_figheight()
    figure.suptitle(what, fontsize=11, fontweight="bold", x=0.01, y=1 - 0.08 / height, ha="left", va="top")
    figure.text(0.01, 1 - 0.36 / height, "\n".join(lines), fontsize=8.5, color=GREY, ha="left", va="top", linespacing=1.4)
    figure.title_top = 1 - (0.42 + 0.17 * len(lines)) / height


def _save(mpl: Any, figure: Any, folder: Path, stem: str) -> list[str]:
    """Write ``stem.png`` and ``stem.svg`` into ``folder`` in :data:`STYLE` (the SVG's text stays
    text); return their file names."""
    figure.tight_layout(rect=(0, 0, 1, getattr(figure, "title_top", 0.9)))
    names = []
    with mpl.rc_context(STYLE):
        for fmt in FORMATS:
            figure.savefig(folder / f"{stem}.{fmt}", dpi=DPI)
            names.append(f"{stem}.{fmt}")
    return names


def _fit(axes: Any, lows: Sequence[float], highs: Sequence[float], *, horizontal: bool = False) -> None:
    """Limit the value axis to the intervals with a margin, so close values stay apart; ticks stay in [0, 1]."""
    low, high = max(0.0, min(lows)), min(1.0, max(highs))
    margin = max(0.06 * (high - low), 0.02)
    (axes.set_xlim if horizontal else axes.set_ylim)(low - margin, high + margin)
    ticks = [t for t in (axes.get_xticks() if horizontal else axes.get_yticks()) if -1e-9 <= t <= 1 + 1e-9]
    (axes.set_xticks if horizontal else axes.set_yticks)(ticks)
    (axes.set_xlim if horizontal else axes.set_ylim)(low - margin, high + margin)


def _legend(axes: Any, columns: int = 3) -> None:
    """The legend in one band above the plot, where it covers nothing."""
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=columns, borderaxespad=0)


def plot_groups(
    folder: Path,
    stem: str,
    caption: Caption,
    what: str,
    groups: Groups,
    axis_labels: tuple[str, str],
    interval: str,
    *,
    horizontal: bool = False,
) -> list[str]:
    """Each group's mean as a point with its 95% interval, group sizes in the tick labels;
    ``axis_labels`` names the groups and the value. ``horizontal`` suits long group names."""
    mpl, figure, axes = _figure()
    group_label, value_label = axis_labels
    labels = [f"{name}\nn={count:,}" for name, count in zip(groups.names, groups.counts, strict=True)]
    means = np.asarray(groups.means)
    errors = [means - np.asarray(groups.lows), np.asarray(groups.highs) - means]
    with mpl.rc_context(STYLE):
        if horizontal:
            positions = np.arange(len(labels))[::-1]
            axes.errorbar(means, positions, xerr=errors, fmt="o", color=ACCENT, capsize=3, label=f"mean with {interval}")
            axes.set_yticks(positions, [label.replace("\n", "  ") for label in labels])
            axes.set_xlabel(value_label)
            axes.set_ylabel(group_label)
            axes.grid(axis="y", visible=False)
            _fit(axes, groups.lows, groups.highs, horizontal=True)
        else:
            axes.errorbar(range(len(labels)), means, yerr=errors, fmt="o", color=ACCENT, capsize=3, label=f"mean with {interval}")
            axes.set_xticks(range(len(labels)), labels)
            axes.set_xlabel(group_label)
            axes.set_ylabel(value_label)
            axes.grid(axis="x", visible=False)
            _fit(axes, groups.lows, groups.highs)
        _legend(axes)
    _title(figure, what, caption.line())
    return _save(mpl, figure, folder, stem)


def plot_token_histogram(
    folder: Path,
    stem: str,
    caption: Caption,
    right: Sequence[int],
    wrong: Sequence[int],
    token_label: str,
    budget: int | None,
    verdict: str,
) -> list[str]:
    """Densities of response length for responses the verdict counts right and wrong, as step
    outlines on shared bins; the run's token budget as a dashed line when it had one."""
    mpl, figure, axes = _figure()
    top = max([*right, *wrong, budget or 0, 1])
    bins = np.linspace(0, top * 1.001, 41)
    with mpl.rc_context(STYLE):
        for values, colour, name in ((right, RIGHT, "right"), (wrong, WRONG, "wrong")):
            if values:
                axes.hist(values, bins=bins, density=True, histtype="step", linewidth=1.6, color=colour,
                          label=f"{verdict} {name} ({len(values):,} responses)")  # fmt: skip
        if budget:
            axes.axvline(budget, color=GREY, linestyle="--", linewidth=1.2, label=f"token budget ({budget:,})")
        axes.set_xlabel(token_label)
        axes.set_ylabel("density (each outline has area 1)")
        axes.set_xlim(0, top * 1.02)
        _legend(axes)
    _title(figure, "Response length by verdict", caption.line())
    return _save(mpl, figure, folder, stem)


def plot_sampling(
    folder: Path,
    stem: str,
    caption: Caption,
    ks: Sequence[int],
    curves: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
    average: float,
    value_label: str,
) -> list[str]:
    """pass@k and the majority votes against k on a log-2 axis, each with its 95% bootstrap band,
    and avg@n as a reference line."""
    mpl, figure, axes = _figure()
    colours = (ACCENT, "#c07a14", "#7a3f9d", GREY)
    markers = ("o", "s", "^", "D")
    lows_all, highs_all = [average], [average]
    with mpl.rc_context(STYLE):
        for (name, (means, lows, highs)), colour, marker in zip(curves.items(), colours, markers):
            axes.plot(ks, means, marker=marker, color=colour, linewidth=1.5, markersize=4, label=name)
            axes.fill_between(ks, lows, highs, color=colour, alpha=0.15, linewidth=0)
            lows_all += list(lows)
            highs_all += list(highs)
        axes.axhline(average, color=GREY, linestyle=":", linewidth=1.2, label=f"avg@{ks[-1]} = {average:.3f}")
        axes.fill_between([], [], [], color=GREY, alpha=0.15, label="95% bootstrap band over problems")
        axes.set_xscale("log", base=2)
        axes.set_xticks(ks, [str(k) for k in ks])
        axes.minorticks_off()
        axes.set_xlabel("k (samples per problem)")
        axes.set_ylabel(value_label)
        _fit(axes, lows_all, highs_all)
        _legend(axes)
    _title(figure, "pass@k and majority votes", caption.line())
    return _save(mpl, figure, folder, stem)


def plot_solve_rates(folder: Path, stem: str, caption: Caption, right_counts: Sequence[int], n: int, verdict: str) -> list[str]:
    """How many problems have c of their n samples right, for c = 0..n."""
    mpl, figure, axes = _figure()
    counts = np.bincount(np.asarray(right_counts, dtype=int), minlength=n + 1)
    with mpl.rc_context(STYLE):
        axes.bar(np.arange(n + 1) / n, counts, width=0.8 / n, color=ACCENT)
        axes.set_xlabel(f"solve rate c/{n} ({verdict} right in c of {n} samples)")
        axes.set_ylabel(f"problems (of {len(right_counts)})")
        axes.set_xticks(np.arange(n + 1) / n if n <= 16 else np.linspace(0, 1, 9))
        axes.grid(axis="x", visible=False)
    _title(figure, "Per-problem solve rates", caption.line())
    return _save(mpl, figure, folder, stem)


def plot_categories(folder: Path, stem: str, caption: Caption, categories: Mapping[str, int]) -> list[str]:
    """The r1_zero reward categories: responses in each, with their share."""
    mpl, figure, axes = _figure()
    names = list(categories)
    total = sum(categories.values()) or 1
    colours = [RIGHT, "#d89a2b", "#6f9fd1", WRONG]
    with mpl.rc_context(STYLE):
        positions = np.arange(len(names))[::-1]
        bars = axes.barh(positions, [categories[n] for n in names], color=colours[: len(names)])
        for bar, name in zip(bars, names, strict=True):
            axes.annotate(f" {categories[name]:,} ({categories[name] / total:.1%})", (bar.get_width(), bar.get_y() + bar.get_height() / 2), va="center")
        axes.set_yticks(positions, names)
        axes.set_xlabel(f"responses (of {total:,})")
        axes.set_xlim(0, max(categories.values() or [1]) * 1.25)
        axes.grid(axis="y", visible=False)
    _title(figure, "r1_zero reward categories", caption.line())
    return _save(mpl, figure, folder, stem)


def plot_comparison(
    folder: Path, stem: str, title: str, subtitle: Sequence[str], groups: Groups, table: Mapping[str, int], interval: str
) -> list[str]:
    """Paired differences A - B per level and overall with their 95% intervals, beside the flip table."""
    mpl, figure, (axes, table_axes) = _figure((10.0, 4.8), ncols=2, gridspec_kw={"width_ratios": [2.2, 1]})
    with mpl.rc_context(STYLE):
        means = np.asarray(groups.means)
        positions = np.arange(len(groups.names))
        colours = [GREY if name == "all" else ACCENT for name in groups.names]
        for x, mean, low, high, colour in zip(positions, means, groups.lows, groups.highs, colours, strict=True):
            axes.errorbar([x], [mean], yerr=[[mean - low], [high - mean]], fmt="o", color=colour, capsize=3)
        axes.errorbar([], [], yerr=[], fmt="o", color=ACCENT, capsize=3, label=f"A - B with {interval}")
        axes.axhline(0, color="black", linewidth=0.8)
        axes.axvline(len(groups.names) - 1.5, color=GREY, linewidth=0.6, linestyle=":")
        axes.set_xticks(positions, [f"{name}\nn={count}" for name, count in zip(groups.names, groups.counts, strict=True)])
        axes.set_xlabel("MATH level (all: every paired problem)" if len(groups.names) > 1 else "")
        axes.set_ylabel("difference A - B")
        axes.grid(axis="x", visible=False)
        _legend(axes)
        table_axes.axis("off")
        cells = [[f"{table['both_right']}", f"{table['only_a']}"], [f"{table['only_b']}", f"{table['both_wrong']}"]]
        drawn = table_axes.table(
            cellText=cells, rowLabels=["A solves", "A does not"], colLabels=["B solves", "B does not"], loc="center", cellLoc="center"
        )
        drawn.scale(1, 2.2)
        for (row, column), cell in drawn.get_celld().items():
            if (row, column) in ((1, 1), (2, 0)):
                cell.set_facecolor("#fbe7c6")  # the problems that flipped
        table_axes.set_title("Flip table\nsolved: more than half of the samples right\nshaded: solved by one side only", fontsize=8.5)
        _title(figure, title, subtitle)
    return _save(mpl, figure, folder, stem)
