"""Fixtures shared by the test modules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tiny_model import THINKING_CHATML_TEMPLATE, TinyModel, build_tiny_model, with_chat_template

REPO_ROOT = Path(__file__).resolve().parents[1]
# The project's shared data folder sits beside the checkout: <workspace>/shared/data.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (``math500/test.jsonl``, ``gsm8k/...``, ``math/...``, ...)."""
    if not (SHARED_DATA / "math500" / "test.jsonl").is_file():
        pytest.fail(
            f"shared data folder not found: expected {SHARED_DATA}/math500/test.jsonl "
            "(the tests read the datasets from <workspace>/shared/data beside the checkout)",
            pytrace=False,
        )
    return SHARED_DATA


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


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> TinyModel:
    """A tiny seeded Qwen2 model + ChatML byte-level BPE tokenizer, saved with ``save_pretrained``.

    Its tokenizer is trained on the MATH-500 problems; see ``tiny_model.py`` for the responses it
    is scripted to write after ``<think>`` and ``<start_deepthink>``.
    """
    with (shared_data / "math500" / "test.jsonl").open(encoding="utf-8") as handle:
        problems = [json.loads(line)["problem"] for line in handle if line.strip()]
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"), problems)


@pytest.fixture(scope="session")
def thinking_model(tmp_path_factory: pytest.TempPathFactory, tiny_model: TinyModel) -> TinyModel:
    """The tiny model with a chat template that opens ``<think>`` for the assistant, as R1-distills' does."""
    return with_chat_template(tiny_model, tmp_path_factory.mktemp("thinking") / "model", THINKING_CHATML_TEMPLATE)
