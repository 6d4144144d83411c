"""Dataset loading, the local-data override and the one schema."""

from __future__ import annotations

import json

import datasets
import pytest

from conftest import SHARED_DATA
from lm_eval_math500.harness.datasets import (
    ADDED_FIELDS,
    BOXED_INSTRUCTION,
    DATA_DIR_ENV,
    SCHEMA,
    DataUnavailableError,
    load,
    process_docs,
)


def docs(name: str, **metadata) -> datasets.Dataset:
    return process_docs(load(name, data_dir=str(SHARED_DATA), **metadata)["test"])


@pytest.mark.parametrize(("name", "rows"), [("math500", 500), ("gsm8k", 1319), ("math_validation", 5000)])
def test_every_dataset_maps_onto_one_schema(name, rows):
    loaded = docs(name)
    assert len(loaded) == rows
    assert set(loaded.column_names) == {*SCHEMA, *ADDED_FIELDS}
    assert len(set(loaded["unique_id"])) == rows
    assert all(loaded["answer"])


def test_gsm8k_gold_is_the_number_after_hashes_without_commas():
    loaded = docs("gsm8k")
    assert loaded[0]["answer"] == "18"
    assert loaded[0]["subject"] == "gsm8k" and loaded[0]["level"] is None
    assert loaded[0]["unique_id"] == "gsm8k/test/0"
    with_commas = [doc for doc in loaded if "," in doc["solution"].rsplit("####", 1)[-1]]
    assert with_commas and all("," not in doc["answer"] for doc in with_commas)


def test_hub_math_layout_gives_the_same_golds_as_the_local_file():
    local = [json.loads(line) for line in (SHARED_DATA / "math/test.jsonl").open()]
    hub_rows = [
        {"problem": r["problem"], "level": f"Level {r['level']}", "type": r["subject"], "solution": r["solution"]}
        for r in local
    ]
    mapped = process_docs(datasets.Dataset.from_list(hub_rows))
    assert mapped["answer"] == docs("math_validation")["answer"]
    assert mapped["level"] == [r["level"] for r in local]
    assert mapped["subject"] == [r["subject"] for r in local]


def test_environment_variable_points_at_local_data(monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(SHARED_DATA))
    assert len(load("math500")["test"]) == 500


def test_missing_local_file_says_how_to_point_at_data(tmp_path):
    with pytest.raises(DataUnavailableError) as error:
        load("math500", data_dir=str(tmp_path))
    message = str(error.value)
    assert "math500/test.jsonl" in message and DATA_DIR_ENV in message and "data_dir" in message
    assert "\n" not in message


def test_unreachable_hub_says_what_to_set(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataUnavailableError, match=DATA_DIR_ENV):
        load("gsm8k")


def test_deepthink_prefill_is_set_from_metadata():
    assert set(docs("math500")["prefill"]) == {""}
    assert set(docs("math500", deepthink_prefill=True)["prefill"]) == {"<start_deepthink>"}


@pytest.mark.parametrize(
    ("turn", "system", "user"), [("user", "", "\n" + BOXED_INSTRUCTION), ("system", BOXED_INSTRUCTION, "")]
)
def test_boxed_instruction_goes_to_the_turn_metadata_names(turn, system, user):
    loaded = docs("gsm8k", boxed_instruction=turn)
    assert set(loaded["boxed_system"]) == {system} and set(loaded["boxed_user"]) == {user}


def test_unknown_boxed_turn_names_the_allowed_ones():
    with pytest.raises(ValueError, match="boxed_instruction"):
        load("math500", data_dir=str(SHARED_DATA), boxed_instruction="assistant")


def test_model_arguments_reach_the_docs_for_the_extraction_filter():
    assert set(docs("math500")["model_tokenizer"]) == {""}
    loaded = docs("math500", pretrained="org/model", think_end_token="</think>")
    assert set(loaded["model_tokenizer"]) == {"org/model"} and set(loaded["think_end_token"]) == {"</think>"}
    assert set(docs("math500", pretrained="org/model", tokenizer="org/tok")["model_tokenizer"]) == {"org/tok"}


def test_golds_that_kept_one_of_several_boxed_solutions_are_completed():
    by_id = {doc["unique_id"]: doc["answer"] for doc in docs("math_validation")}
    assert by_id["test/algebra/1878.json"] == "-2, 1"
    assert by_id["test/intermediate_algebra/225.json"] == "3, \\frac{2}{5}"
    assert by_id["test/precalculus/679.json"] == "\\frac{\\pi}{4}, \\frac{5\\pi}{4}"
    assert by_id["test/prealgebra/177.json"] == "6"
    local = {r["unique_id"]: r["answer"] for r in map(json.loads, (SHARED_DATA / "math/test.jsonl").open())}
    assert sum(by_id[key] != local[key] for key in local) == 3
