"""Fixtures shared by the test modules."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from lm_eval_math500.harness.datasets import DataUnavailableError, load, process_docs
from tiny_model import THINKING_CHATML_TEMPLATE, TinyModel, build_tiny_model, with_chat_template

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared data folder: the datasets laid out as math500/test.jsonl, gsm8k/test.jsonl,
# math/test.jsonl, plus graderbench/ and published_runs/, which the hub does not have.
SHARED_DATA_ENV = "LM_EVAL_MATH500_SHARED_DATA"
DEFAULT_SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
ONLY_SHARED = ("graderbench/", "published_runs/")


def shared_data_folder() -> Path:
    """The folder ``LM_EVAL_MATH500_SHARED_DATA`` names, else ``../shared/data`` beside the checkout."""
    return Path(os.environ.get(SHARED_DATA_ENV) or DEFAULT_SHARED_DATA).expanduser()


@pytest.fixture(autouse=True)
def lm_eval_logs_to_this_tests_stderr() -> None:
    """Point lm-eval's log handler at the standard error of the test about to run.

    lm-eval makes its handler once per process, on the ``sys.stderr`` of the moment: a test that runs
    the command in process would leave it writing to that test's captured stream, closed once the
    test is over, and every later lm-eval log line would print a logging error instead.
    """
    for handler in logging.getLogger("lm_eval").handlers:
        if type(handler) is logging.StreamHandler:
            handler.stream = sys.stderr  # not setStream, which would flush the closed one


# vLLM on these CPU machines: the engine in process, 1 GiB of KV cache, its queue on loopback.
VLLM_ENV = {"VLLM_ENABLE_V1_MULTIPROCESSING": "0", "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_HOST_IP": "127.0.0.1"}


def console_script(name: str) -> str:
    """A console script of the running interpreter's environment (else from PATH)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed beside {sys.executable} nor on PATH", pytrace=False)
    return found


# The shared data folder as this run sees it, for tests that read its files directly.
SHARED_DATA = shared_data_folder()


def unavailable(message: str) -> NoReturn:
    """Skip the test with the one line ``message``; under CI (``CI=true``) fail it instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def data_unavailable(what: str) -> NoReturn:
    """Skip the test with one line saying what to set; under CI (``CI=true``) fail it instead."""
    unavailable(f"{what}; set {SHARED_DATA_ENV}=DIR to the shared data folder (default ../shared/data)")


def vllm_importable() -> bool:
    """Whether this interpreter can import vllm (without importing it, which takes seconds)."""
    return importlib.util.find_spec("vllm") is not None


@pytest.fixture(scope="session")
def vllm_installed() -> None:
    """For tests that run vLLM: skipped with one line where vllm is not importable, failed under CI."""
    if not vllm_importable():
        unavailable(f"needs vllm, which {sys.executable} cannot import; pip install vllm to run it")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder, for tests that need graderbench/ or published_runs/ (absent: skipped)."""
    folder = shared_data_folder()
    if not all((folder / name).is_dir() for name in ONLY_SHARED):
        data_unavailable(f"needs {' and '.join(ONLY_SHARED)} of the shared data folder, not found in {folder}")
    return folder


@pytest.fixture(scope="session")
def data_dir() -> str | None:
    """The ``data_dir`` to give the tasks: the shared folder when it holds the datasets, else None (the hub)."""
    folder = shared_data_folder()
    return str(folder) if (folder / "math500" / "test.jsonl").is_file() else None


@pytest.fixture(scope="session")
def dataset_docs(data_dir: str | None) -> Callable[[str], list[dict[str, Any]]]:
    """``dataset_docs(name)``: the docs of ``math500``, ``gsm8k`` or ``math_validation`` as the tasks see them.

    Read from the shared folder when present, else from the hub by the package's own loading; a
    dataset neither has skips the test (fails it under CI).
    """
    loaded: dict[str, list[dict[str, Any]]] = {}

    def docs(name: str) -> list[dict[str, Any]]:
        if name not in loaded:
            try:
                loaded[name] = process_docs(load(name, data_dir=data_dir)["test"]).to_list()
            except DataUnavailableError:
                data_unavailable(f"{name} is not in the shared data folder and the hub cannot be reached")
        return loaded[name]

    return docs


@pytest.fixture(scope="session")
def offline_env() -> dict[str, str]:
    """Environment for subprocesses: nothing may reach the Hugging Face Hub."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    # Data must come from what each test passes explicitly, not from the caller's shell.
    env.pop("LM_EVAL_MATH500_DATA_DIR", None)
    return env


SMALL_RUN_SOURCE = "published_runs/qwen25_math_1.5b_base__math500__r1zero_t1.0_max1024__results.jsonl"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, offline_env: dict[str, str]) -> Path:
    """The --output_path folder of a finished 6-problem run of math500_r1zero with its samples file
    (CS336's base-model generations replayed), for tests that take a real run apart."""
    out = tmp_path_factory.mktemp("small_run")
    subprocess.run(
        [
            console_script("lm-eval-math500"), "run", "--model", "replay",
            "--model_args", f"path={shared_data / SMALL_RUN_SOURCE},keep_stop=True,model=cs336_base",
            "--tasks", "math500_r1zero", "--limit", "6", "--metadata", json.dumps({"data_dir": str(shared_data)}),
            "--output_path", str(out), "--log_samples",
        ],
        check=True, env=offline_env, capture_output=True,
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def tiny_model(
    tmp_path_factory: pytest.TempPathFactory, dataset_docs: Callable[[str], list[dict[str, Any]]]
) -> TinyModel:
    """A tiny seeded Qwen2 model + ChatML byte-level BPE tokenizer, saved with ``save_pretrained``.

    Its tokenizer is trained on the MATH-500 problems; see ``tiny_model.py`` for the responses it
    is scripted to write after ``<think>`` and ``<start_deepthink>``.
    """
    problems = [doc["problem"] for doc in dataset_docs("math500")]
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"), problems)


@dataclass(frozen=True)
class BuiltWheel:
    """The wheel ``pip wheel`` built from the checkout, and everything the build printed."""

    path: Path
    log: str


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> BuiltWheel:
    """The project built once per session with ``pip wheel --no-deps --no-build-isolation``."""
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO_ROOT)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (wheel,) = out.glob("lm_eval_math500-*.whl")
    return BuiltWheel(wheel, build.stdout + build.stderr)


@pytest.fixture(scope="session")
def thinking_model(tmp_path_factory: pytest.TempPathFactory, tiny_model: TinyModel) -> TinyModel:
    """The tiny model with a chat template that opens ``<think>`` for the assistant, as R1-distills' does."""
    return with_chat_template(tiny_model, tmp_path_factory.mktemp("thinking") / "model", THINKING_CHATML_TEMPLATE)
