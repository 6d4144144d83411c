"""Where each dataset comes from, and the one schema every task sees.

Every dataset is read from the Hugging Face Hub by default. A local folder laid out like
``math500/test.jsonl``, ``gsm8k/test.jsonl``, ``math/test.jsonl`` overrides the hub when named by
``--metadata '{"data_dir": DIR}'`` or the ``LM_EVAL_MATH500_DATA_DIR`` environment variable.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from lm_eval_math500.grader.formats import DEEPTHINK
from lm_eval_math500.grader.latex import brace_end

DATA_DIR_ENV = "LM_EVAL_MATH500_DATA_DIR"
SCHEMA = ("problem", "solution", "answer", "subject", "level", "unique_id")
# The doc field the deepthink tasks put at the start of the response (their gen_prefix).
PREFILL_FIELD = "prefill"
# The boxed variant's instruction (DeepSeek-R1's and Qwen2.5-Math's wording). The loader puts it in
# the turn ``--metadata '{"boxed_instruction": "user"|"system"}'`` names: the system field is the
# task's description (the system turn under a chat template), the user field follows the problem.
BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
BOXED_TURNS = ("user", "system")
BOXED_SYSTEM_FIELD, BOXED_USER_FIELD = "boxed_system", "boxed_user"
# What the model's arguments say about its outputs, for the extraction filter: the backend's
# think_end_token (it then drops the trace itself) and the tokenizer that counts response tokens.
THINK_END_FIELD, TOKENIZER_FIELD = "think_end_token", "model_tokenizer"
ADDED_FIELDS = (PREFILL_FIELD, BOXED_SYSTEM_FIELD, BOXED_USER_FIELD, THINK_END_FIELD, TOKENIZER_FIELD)


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

# MATH golds that are not the whole answer, keyed by the sha1 of the problem text.
_GOLD_ERRATA = {
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


def load(
    name: str,
    data_dir: str | None = None,
    deepthink_prefill: bool = False,
    boxed_instruction: str = "user",
    think_end_token: str | None = None,
    tokenizer: str | None = None,
    pretrained: Any = None,
    **_: Any,
) -> datasets.DatasetDict:
    """Load dataset ``name`` for lm-eval's ``custom_dataset`` hook, which passes all metadata
    (``--metadata`` merged with ``--model_args``).

    ``deepthink_prefill`` makes deepthink responses start with the deepthink format's prefill
    (``<start_deepthink>``);
    ``boxed_instruction`` puts the boxed variant's instruction in the ``user`` or ``system`` turn.
    """
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(SOURCES)}")
    if boxed_instruction not in BOXED_TURNS:
        raise ValueError(
            f"boxed_instruction must be one of {BOXED_TURNS}, not {boxed_instruction!r}; "
            'pass --metadata \'{"boxed_instruction": "system"}\' for the system turn'
        )
    split = _read_split(SOURCES[name], data_dir or os.environ.get(DATA_DIR_ENV))
    counter = tokenizer if isinstance(tokenizer, str) else pretrained if isinstance(pretrained, str) else ""
    added = {
        PREFILL_FIELD: DEEPTHINK.prefill if deepthink_prefill else "",
        BOXED_SYSTEM_FIELD: BOXED_INSTRUCTION if boxed_instruction == "system" else "",
        BOXED_USER_FIELD: "\n" + BOXED_INSTRUCTION if boxed_instruction == "user" else "",
        THINK_END_FIELD: think_end_token if isinstance(think_end_token, str) else "",
        TOKENIZER_FIELD: counter,
    }
    for field, value in added.items():
        split = split.add_column(field, [value] * len(split))
    return datasets.DatasetDict({"test": split})


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


def process_docs(dataset: datasets.Dataset) -> datasets.Dataset:
    """Map any of the supported layouts onto the one schema of ``SCHEMA`` (plus ``ADDED_FIELDS``)."""
    columns = set(dataset.column_names)
    if "question" in columns:
        mapper = _gsm8k_doc
    elif "type" in columns:
        mapper = _hub_math_doc
    elif set(SCHEMA) <= columns:
        mapper = _math_doc
    else:
        raise ValueError(f"unrecognised dataset layout with columns {sorted(columns)}")
    extra = columns - set(SCHEMA) - set(ADDED_FIELDS)
    return dataset.map(mapper, with_indices=True, remove_columns=sorted(extra))


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
    return {**{key: row[key] for key in SCHEMA}, "answer": _gold(row["problem"]) or row["answer"]}


def _gold(problem: str) -> str | None:
    return _GOLD_ERRATA.get(hashlib.sha1(problem.encode("utf-8")).hexdigest())


def _hub_math_doc(row: dict[str, Any], index: int) -> dict[str, Any]:
    digest = hashlib.sha1(row["problem"].encode("utf-8")).hexdigest()
    level = row["level"].removeprefix("Level ").strip()
    return {
        "problem": row["problem"],
        "solution": row["solution"],
        "answer": _gold(row["problem"]) or last_boxed(row["solution"]) or "",
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
