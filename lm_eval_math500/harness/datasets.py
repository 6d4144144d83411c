"""Where each dataset comes from, and the one schema every task sees.

Every dataset is read from the Hugging Face Hub by default. A local folder laid out like
``math500/test.jsonl``, ``gsm8k/test.jsonl``, ``math/test.jsonl`` overrides the hub when named by
``--metadata '{"data_dir": DIR}'`` or the ``LM_EVAL_MATH500_DATA_DIR`` environment variable. The
golds are the dataset's own; ``--metadata '{"gold_errata": true}'`` replaces the four MATH golds of
``GOLD_ERRATA`` that are not the whole answer.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from lm_eval_math500.grader.latex import brace_end

DATA_DIR_ENV = "LM_EVAL_MATH500_DATA_DIR"
SCHEMA = ("problem", "solution", "answer", "subject", "level", "unique_id")


@dataclass(frozen=True)
class Source:
    """A dataset's hub id, config and split, and its file inside a local data folder."""

    hub_path: str
    hub_name: str | None
    split: str
    local_file: str


SOURCES: dict[str, Source] = {
    "math500": Source("HuggingFaceH4/MATH-500", None, "test", "math500/test.jsonl"),
    "gsm8k": Source("openai/gsm8k", "main", "test", "gsm8k/test.jsonl"),
    # All seven MATH subjects in one parquet split of 5,000 test problems (the lighteval copy).
    "math_validation": Source("DigitalLearningGmbH/MATH-lighteval", "default", "test", "math/test.jsonl"),
}

# MATH golds that are not the whole answer, keyed by the sha1 of the problem text; applied only
# when a run asks for them (gold_errata), since every other evaluation grades against the published ones.
GOLD_ERRATA = {
    # test/prealgebra/177.json defines \boxed{N} as a function; its solution says the answer is 6.
    "444d128875d54e398101c776e3351652755112b6": "6",
    # These ask for all solutions and their solutions box each one; MATH kept only the last box.
    "cd94b4e052c05adb2a20f2782ce64efb2dca5c4f": "-2, 1",  # test/algebra/1878.json
    "a8f63146aafb40cdefa03bbfcc98c4eeb8c91ad3": "3, \\frac{2}{5}",  # test/intermediate_algebra/225.json
    "43200074c78c249106c4b3ce7f2c0929131e8639": "\\frac{\\pi}{4}, \\frac{5\\pi}{4}",  # test/precalculus/679.json
}

_SUBJECT_DIRS = {
    "Algebra": "algebra",
    "Counting & Probability": "counting_and_probability",
    "Geometry": "geometry",
    "Intermediate Algebra": "intermediate_algebra",
    "Number Theory": "number_theory",
    "Prealgebra": "prealgebra",
    "Precalculus": "precalculus",
}


class DataUnavailableError(RuntimeError):
    """A dataset could be read neither from the hub nor from the local folder asked for."""


def _override_hint() -> str:
    return (
        f"set {DATA_DIR_ENV}=DIR or pass --metadata '{{\"data_dir\": \"DIR\"}}', where DIR holds "
        + ", ".join(s.local_file for s in SOURCES.values())
    )


def load(name: str, data_dir: str | None = None) -> datasets.DatasetDict:
    """Dataset ``name`` as published (its ``test`` split), from ``data_dir`` (else
    ``LM_EVAL_MATH500_DATA_DIR``) or, when neither is set, the hub."""
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(SOURCES)}")
    return datasets.DatasetDict({"test": _read_split(SOURCES[name], data_dir or os.environ.get(DATA_DIR_ENV))})


def _read_split(source: Source, data_dir: str | None) -> datasets.Dataset:
    if data_dir:
        return datasets.Dataset.from_list(read_jsonl(Path(data_dir).expanduser() / source.local_file))
    try:
        return datasets.load_dataset(source.hub_path, source.hub_name, split=source.split)
    except Exception as err:  # the hub raises many types: offline, not found, HTTP, timeout
        raise DataUnavailableError(
            f"could not load {source.hub_path} from the Hugging Face Hub ({type(err).__name__}); "
            f"to use local data instead, {_override_hint()}"
        ) from err


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL file; a missing file is one error line that says how to point at the data."""
    if not path.is_file():
        raise DataUnavailableError(f"{path} does not exist; {_override_hint()}")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def process_docs(dataset: datasets.Dataset, gold_errata: bool = False) -> datasets.Dataset:
    """Map any of the supported layouts onto the one schema of ``SCHEMA``; with ``gold_errata`` the
    golds of ``GOLD_ERRATA`` are replaced."""
    columns = set(dataset.column_names)
    if "question" in columns:
        mapper = _gsm8k_doc
    elif "type" in columns:
        mapper = _hub_math_doc
    elif set(SCHEMA) <= columns:
        mapper = _math_doc
    else:
        raise ValueError(f"unrecognised dataset layout with columns {sorted(columns)}")
    mapped = dataset.map(mapper, with_indices=True, remove_columns=sorted(columns - set(SCHEMA)))
    return mapped.map(_corrected_gold) if gold_errata else mapped


def gsm8k_answer(solution: str) -> str:
    """The number after ``####`` in a GSM8K solution, commas removed."""
    return solution.rsplit("####", 1)[-1].strip().replace(",", "")


def _gsm8k_doc(row: dict[str, Any], index: int) -> dict[str, Any]:
    return {
        "problem": row["question"],
        "solution": row["answer"],
        "answer": gsm8k_answer(row["answer"]),
        "subject": "gsm8k",
        "level": None,
        "unique_id": f"gsm8k/test/{index}",
    }


def _math_doc(row: dict[str, Any], index: int) -> dict[str, Any]:
    return {key: row[key] for key in SCHEMA}


def _corrected_gold(doc: dict[str, Any]) -> dict[str, Any]:
    """The doc with its gold from ``GOLD_ERRATA``, where the problem is one of them."""
    corrected = GOLD_ERRATA.get(hashlib.sha1(doc["problem"].encode("utf-8")).hexdigest())
    return {**doc, "answer": corrected} if corrected else doc


def _hub_math_doc(row: dict[str, Any], index: int) -> dict[str, Any]:
    digest = hashlib.sha1(row["problem"].encode("utf-8")).hexdigest()
    level = row["level"].removeprefix("Level ").strip()
    return {
        "problem": row["problem"],
        "solution": row["solution"],
        "answer": last_boxed(row["solution"]) or "",
        "subject": row["type"],
        "level": int(level) if level.isdigit() else None,
        "unique_id": f"test/{_SUBJECT_DIRS.get(row['type'], row['type'])}/sha1-{digest[:12]}",
    }


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or, without one, ``\\fbox{...}``) in a reference solution."""
    for command in ("\\boxed{", "\\fbox{"):
        start = text.rfind(command)
        if start >= 0:
            end = brace_end(text, start + len(command) - 1)
            return text[start + len(command) : end - 1] if end > 0 else None
    return None
