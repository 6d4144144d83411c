"""The figures the docs quote are what the code prints: ``docs/figures.py`` writes every figure block
from the commands the docs show, and these tests fail when a block differs from it."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT


def load_figures():
    """``docs/figures.py`` as a module (the docs folder is no package)."""
    spec = importlib.util.spec_from_file_location("figures", REPO_ROOT / "docs" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


figures = load_figures()


def quoted() -> dict[str, list[str]]:
    """Every figure block's name, with the docs that hold one."""
    found: dict[str, list[str]] = {}
    for path in figures.doc_files():
        for name, _ in figures.blocks(path):
            found.setdefault(name, []).append(str(path.relative_to(REPO_ROOT)))
    return found


def test_every_block_names_a_figure_the_script_writes():
    assert sorted(set(quoted()) - set(figures.FIGURES) - set(figures.BENCHMARKS)) == []


def test_every_figure_the_script_writes_is_quoted():
    assert sorted((set(figures.FIGURES) | set(figures.BENCHMARKS)) - set(quoted())) == []


def test_measured_blocks_hold_the_benchmark_they_name():
    """A speed table cannot be compared, but its block must hold that benchmark's output."""
    for path in figures.doc_files():
        for name, body in figures.blocks(path):
            if name in figures.BENCHMARKS:
                assert body.startswith(f"`{figures.BENCHMARKS[name].command}`, "), (path, name)


def test_rewrite_replaces_the_named_blocks_only(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("a\n<!-- figures: x -->\nold\n<!-- /figures -->\nb\n<!-- figures: y -->\nkept\n<!-- /figures -->\n")
    assert figures.rewrite(doc, {"x": "new\n"})
    assert doc.read_text() == "a\n<!-- figures: x -->\nnew\n<!-- /figures -->\nb\n<!-- figures: y -->\nkept\n<!-- /figures -->\n"
    assert not figures.rewrite(doc, {"x": "new\n"})


def test_a_block_of_an_unknown_figure_is_named(tmp_path, monkeypatch):
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- figures: no-such-figure -->\n<!-- /figures -->\n")
    monkeypatch.setattr(figures, "doc_files", lambda: [doc])
    monkeypatch.setattr(figures, "REPO", tmp_path)
    with pytest.raises(figures.FigureError, match="doc.md: no figure 'no-such-figure'"):
        figures.check_names()


@pytest.mark.slow
def test_quoted_figures_are_what_the_code_prints(tmp_path: Path, shared_data: Path):
    """Every checked figure: the replays of the published runs the docs show, each run once, then
    the reports, comparisons and verdicts on them, set against the docs' blocks."""
    texts = figures.checked_texts(figures.Session(shared_data, tmp_path))
    assert set(texts) == set(figures.FIGURES)
    differing = figures.differences(texts)
    assert not differing, "\n\n".join(differing) + "\n\npython docs/figures.py rewrites them"


PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
# A snippet line that states its value: `call(...)  # VALUE`.
STATED = re.compile(r"^(?P<expr>[\w.]+\(.*\)(?:\[.*\])?)\s+# (?P<value>.+)$")


def stated_values() -> list[tuple[str, str, str, str]]:
    """(doc, imports, expression, stated value) of every snippet line that states its value, in
    Python blocks that import from this package alone."""
    found = []
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        for code in PYTHON_BLOCK.findall(path.read_text(encoding="utf-8")):
            imports = [line for line in code.splitlines() if line.startswith(("from ", "import "))]
            if not imports or not all(line.startswith("from lm_eval_math500") for line in imports):
                continue
            for line in code.splitlines():
                if match := STATED.match(line):
                    found.append((path.name, "\n".join(imports), match["expr"], match["value"]))
    return found


def test_snippets_state_what_they_return():
    checked = 0
    for doc, imports, expr, value in stated_values():
        namespace: dict = {}
        exec(imports, namespace)
        assert eval(expr, namespace) == ast.literal_eval(value), (doc, expr)
        checked += 1
    assert checked >= 4  # the reward examples of the README and docs/training.md
