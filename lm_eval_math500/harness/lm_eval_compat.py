"""The one use of lm-eval that goes through no public door, with the versions it was checked against.

``lm-eval-math500 run`` takes exactly lm-eval's own ``run`` options, so it builds its argument parser
with the class that builds lm-eval's (``lm_eval._cli.run.Run``), which lm-eval does not export.
Everything else ``run`` does goes through public names (``EvaluatorConfig``, ``simple_evaluate``,
``EvaluationTracker``). On an lm-eval this was not checked against, or one without that class,
:func:`run_parser` raises :class:`IncompatibleLmEval` when ``run`` starts: one line that says the
command is off, why, and what to use instead. Nothing here changes how lm-eval evaluates.
"""

from __future__ import annotations

import argparse
import importlib.metadata

# lm-eval versions whose run parser this module was checked against.
CHECKED_VERSIONS = ("0.4.13",)
_INSTEAD = "run the tasks with `lm-eval run --include_path $(lm-eval-math500 tasks-dir)` instead"


class IncompatibleLmEval(RuntimeError):
    """The installed lm-eval is not one a feature here was checked against; the message is one line."""


def lm_eval_version() -> str:
    """The installed lm-eval's version."""
    return importlib.metadata.version("lm_eval")


def run_parser(prog: str) -> argparse.ArgumentParser:
    """lm-eval's own ``run`` argument parser, named ``prog``."""
    version = lm_eval_version()
    if version not in CHECKED_VERSIONS:
        raise IncompatibleLmEval(
            f"`{prog}` is off: it reads lm-eval's own run options, checked against lm-eval "
            f"{', '.join(CHECKED_VERSIONS)}, and lm-eval {version} is installed; {_INSTEAD}"
        )
    try:
        from lm_eval._cli.run import Run

        commands = argparse.ArgumentParser(prog=prog.rsplit(" ", 1)[0]).add_subparsers()
        Run.create(commands)
        parser = commands.choices["run"]
    except (ImportError, AttributeError, KeyError, TypeError) as error:
        raise IncompatibleLmEval(
            f"`{prog}` is off: lm-eval {version} has no run command parser where it was "
            f"({type(error).__name__}: {error}); {_INSTEAD}"
        ) from None
    parser.prog = prog
    return parser
