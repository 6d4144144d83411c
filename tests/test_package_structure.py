"""How the package is put together: lm-eval only through its public names (one module excepted), and
imports that only go down, grader < harness < analysis and rewards < CLI, without cycles."""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import lm_eval
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lm_eval_math500"
COMPAT = PACKAGE / "harness" / "lm_eval_compat.py"
LAYERS = {"grader": 0, "harness": 1, "analysis": 2, "rewards": 2, "cli": 3}
LM_EVAL_SOURCE = Path(lm_eval.__file__).parent


def module_name(path: Path, root: Path, top: str) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join((top, *parts[: -1 if parts[-1] == "__init__" else None]))


def package_modules() -> dict[str, Path]:
    return {module_name(path, PACKAGE, "lm_eval_math500"): path for path in sorted(PACKAGE.rglob("*.py"))}


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def defined_private_names(paths: list[Path]) -> set[str]:
    """Private names the files define: functions, classes, assigned names and attributes."""
    names = set()
    for path in paths:
        with warnings.catch_warnings():  # lm-eval's sources hold a few invalid escape sequences
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {name for name in names if private(name)}


LM_EVAL_PRIVATE = defined_private_names(sorted(LM_EVAL_SOURCE.rglob("*.py")))
OURS_PRIVATE = defined_private_names(sorted(PACKAGE.rglob("*.py")))


def lm_eval_names(tree: ast.Module) -> set[str]:
    """The names a module binds to lm-eval modules and objects by importing them."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name.startswith("lm_eval.") or alias.name == "lm_eval"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "lm_eval" and not node.level:
            bound |= {alias.asname or alias.name for alias in node.names}
    return bound


def root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def door_violations(path: Path) -> Iterator[str]:
    """Uses of lm-eval that go through no public door: frame inspection, private modules and names,
    private attributes of lm-eval's objects, and assignments to lm-eval's names."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    for word in ("_getframe", "f_locals"):
        if re.search(rf"\b{word}\b", source):
            yield f"{word}"
    lm_eval_bound = lm_eval_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "lm_eval" and any(map(private, alias.name.split("."))):
                    yield f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "lm_eval" and not node.level:
            if any(map(private, node.module.split("."))) or any(private(alias.name) for alias in node.names):
                yield f"from {node.module} import {', '.join(alias.name for alias in node.names)}"
        elif isinstance(node, ast.Attribute) and private(node.attr):
            if node.attr in LM_EVAL_PRIVATE and node.attr not in OURS_PRIVATE:
                yield f"line {node.lineno}: .{node.attr}"
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, (ast.Attribute, ast.Subscript)) and root_name(target) in lm_eval_bound:
                    yield f"line {node.lineno}: assigns to {ast.unparse(target)}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
            if node.args and root_name(node.args[0]) in lm_eval_bound:
                yield f"line {node.lineno}: {node.func.id}({ast.unparse(node.args[0])}, ...)"


@pytest.mark.parametrize("path", [p for p in package_modules().values() if p != COMPAT], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_lm_eval_is_used_through_public_names_only(path):
    assert list(door_violations(path)) == []


def test_the_check_finds_each_kind_of_back_door(tmp_path):
    """The check above is not blind: a module with every kind of back door is caught on each."""
    module = tmp_path / "back_doors.py"
    module.write_text(
        "import sys\n"
        "import lm_eval.utils\n"
        "from lm_eval._cli.harness import HarnessCLI\n"
        "from lm_eval.tasks import TaskManager\n"
        "def apply(task, inner):\n"
        "    sys._getframe(2).f_locals.get('instances')\n"
        "    task._aggregation_list['maj@4'] = None\n"
        "    return inner._seed\n"
        "lm_eval.utils.make_table = print\n"
        "TaskManager.load = print\n",
        encoding="utf-8",
    )
    found = sorted(door_violations(module))
    assert found == sorted([
        "_getframe", "f_locals", "from lm_eval._cli.harness import HarnessCLI", "line 7: ._aggregation_list",
        "line 8: ._seed", "line 9: assigns to lm_eval.utils.make_table", "line 10: assigns to TaskManager.load",
    ])  # fmt: skip


def imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The package's modules ``name`` (at ``path``) imports, anywhere in it."""
    found = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer(module: str) -> int:
    """grader 0, harness 1, analysis and rewards 2, CLI 3; the package's own __init__ re-exports the grader."""
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 and parts[1] in LAYERS else 0


GRAPH = {name: imports(path, name, package_modules()) for name, path in package_modules().items()}


def test_imports_only_go_down():
    upward = sorted(
        f"{name} -> {target}" for name, targets in GRAPH.items() for target in targets if layer(target) > layer(name)
    )
    assert upward == []


def test_no_import_cycles():
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(GRAPH[module]):
            if target in path:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    done: set[str] = set()
    for module in sorted(GRAPH):
        if module not in done:
            visit(module, [module])
    assert cycles == []


def reachable(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for target in GRAPH[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_analysis_imports_nothing_from_the_extraction_filter():
    """Analysis reads the records a run logged; it neither runs the harness's filter nor imports it."""
    analysis = [name for name in GRAPH if name.startswith("lm_eval_math500.analysis")]
    assert analysis
    assert {name for name in analysis if "lm_eval_math500.harness.filters" in reachable(name)} == set()
