"""Dataset loading, the local-data override and the one schema."""

from __future__ import annotations

import json

import datasets
import pytest

from conftest import SHARED_DATA
from lm_eval_math500.harness.datasets import (
    DATA_DIR_ENV,
    GOLD_ERRATA,
    SCHEMA,
    DataUnavailableError,
    load,
    process_docs,
)


def docs(name: str, gold_errata: bool = False) -> datasets.Dataset:
    return process_docs(load(name, data_dir=str(SHARED_DATA))["test"], gold_errata=gold_errata)


@pytest.mark.parametrize(("name", "rows"), [("math500", 500), ("gsm8k", 1319), ("math_validation", 5000)])
def test_every_dataset_maps_onto_one_schema(name, rows):
    loaded = docs(name)
    assert len(loaded) == rows
    assert set(loaded.column_names) == set(SCHEMA)
    assert len(set(loaded["unique_id"])) == rows
    assert all(loaded["answer"])


def test_gsm8k_gold_is_the_number_after_hashes_without_commas():
    loaded = docs("gsm8k")
    assert loaded[0]["answer"] == "18"
    assert loaded[0]["subject"] == "gsm8k" and loaded[0]["level"] is None
    assert loaded[0]["unique_id"] == "gsm8k/test/0"
    with_commas = [doc for doc in loaded if "," in doc["solution"].rsplit("####", 1)[-1]]
    assert with_commas and all("," not in doc["answer"] for doc in with_commas)


@pytest.mark.parametrize("gold_errata", [False, True])
def test_hub_math_layout_gives_the_golds_of_the_local_file(gold_errata):
    """The hub copy has no answer field: its gold is the solution's last box, which is the local
    file's answer everywhere but test/prealgebra/177.json (its solution ends on \\boxed{12}, its
    answer is 6); with gold_errata the two agree there too."""
    local = [json.loads(line) for line in (SHARED_DATA / "math/test.jsonl").open()]
    hub_rows = [
        {"problem": r["problem"], "level": f"Level {r['level']}", "type": r["subject"], "solution": r["solution"]}
        for r in local
    ]
    mapped = process_docs(datasets.Dataset.from_list(hub_rows), gold_errata=gold_errata)
    expected = docs("math_validation", gold_errata=gold_errata)["answer"]
    differ = {local[i]["unique_id"]: a for i, (a, b) in enumerate(zip(mapped["answer"], expected)) if a != b}
    assert differ == ({} if gold_errata else {"test/prealgebra/177.json": "12"})
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


def test_golds_are_the_published_ones_unless_errata_are_asked_for():
    local = {r["unique_id"]: r["answer"] for r in map(json.loads, (SHARED_DATA / "math/test.jsonl").open())}
    published = {doc["unique_id"]: doc["answer"] for doc in docs("math_validation")}
    assert published == local
    corrected = {doc["unique_id"]: doc["answer"] for doc in docs("math_validation", gold_errata=True)}
    assert corrected["test/algebra/1878.json"] == "-2, 1"
    assert corrected["test/intermediate_algebra/225.json"] == "3, \\frac{2}{5}"
    assert corrected["test/precalculus/679.json"] == "\\frac{\\pi}{4}, \\frac{5\\pi}{4}"
    assert corrected["test/prealgebra/177.json"] == "6"
    assert sum(corrected[key] != local[key] for key in local) == 3
    assert len(GOLD_ERRATA) == 4
    # No MATH-500 problem has an erratum.
    assert docs("math500", gold_errata=True)["answer"] == docs("math500")["answer"]
