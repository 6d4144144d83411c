"""The tasks' own class: the options it reads from --metadata, the docs it leaves alone, the metrics it declares."""

from __future__ import annotations

import re

import pytest
from lm_eval.tasks import TaskManager

from conftest import SHARED_DATA
from lm_eval_math500.cli import tasks_dir
from lm_eval_math500.harness.datasets import SCHEMA
from lm_eval_math500.harness.task import BOXED_INSTRUCTION, MetadataError, check_keys


def load(name: str, **metadata):
    """The task ``name`` as lm-eval builds it, with ``metadata`` as --metadata (and --model_args) give it."""
    manager = TaskManager(
        include_path=str(tasks_dir()), include_defaults=False, metadata={"data_dir": str(SHARED_DATA), **metadata}
    )
    return manager.load([name])["tasks"][name]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"gold_erata": True}, "unknown metadata key 'gold_erata' (did you mean 'gold_errata'?)"),
        ({"data_dr": "x"}, "unknown metadata key 'data_dr' (did you mean 'data_dir'?)"),
        ({"tokeniser": "gpt2"}, "unknown metadata key 'tokeniser' (did you mean 'tokenizer'?)"),
        ({"repeat": 4}, "unknown metadata key 'repeat' (did you mean 'repeats'?)"),
        ({"boxed_instructions": "user"}, "unknown metadata key 'boxed_instructions' (did you mean 'boxed_instruction'?)"),
    ],
)
def test_a_misspelled_key_names_the_nearest_one(metadata, message):
    with pytest.raises(MetadataError) as error:
        check_keys(metadata)
    assert str(error.value).startswith(message + "; these tasks take data_dir, deepthink_prefill")
    assert "\n" not in str(error.value)


# lm-eval merges --model_args into the metadata: the models' own arguments must pass.
MODEL_ARGUMENTS = ["pretrained", "dtype", "tokenizer_mode", "revision", "max_model_len", "think_end_token", "path", "keep_stop"]


def test_model_arguments_and_the_tasks_own_keys_pass():
    check_keys({name: "x" for name in MODEL_ARGUMENTS} | {"version": 2.0, "reproduces": [], "config_source": "x"})


@pytest.mark.parametrize(
    ("key", "message"),
    [("errata", "unknown metadata key 'errata' (did you mean 'gold_errata'?)"), ("seed", "unknown metadata key 'seed';")],
)
def test_strictly_every_key_must_be_the_tasks(key, message):
    """What ``lm-eval-math500 run`` checks of --metadata when it runs these tasks alone."""
    check_keys({key: 1})  # a task alone cannot tell it from a model argument
    with pytest.raises(MetadataError, match=re.escape(message)):
        check_keys({key: 1}, strict=True)
    check_keys({"data_dir": "x", "repeats": 2, "reproduces": []}, strict=True)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"gold_errata": "yes"}, "metadata gold_errata takes true or false, not 'yes'"),
        ({"deepthink_prefill": 1}, "metadata deepthink_prefill takes true or false, not 1"),
        ({"boxed_instruction": "assistant"}, "metadata boxed_instruction takes 'user' or 'system', not 'assistant'"),
        ({"repeats": 0}, "metadata repeats takes a whole number of samples, at least 1, not 0"),
        ({"repeats": "8"}, "metadata repeats takes a whole number of samples, at least 1, not '8'"),
    ],
)
def test_a_bad_value_stops_the_task_with_one_line(metadata, message):
    with pytest.raises(MetadataError) as error:
        load("math500_boxed", **metadata)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_docs_hold_the_dataset_alone_whatever_the_run_settings():
    """No run setting is added to the docs, so lm-eval's doc_hash depends on the problem alone."""
    plain = load("math500_deepthink")
    set_up = load(
        "math500_deepthink", deepthink_prefill=True, pretrained="org/model", think_end_token="</think>", repeats=2
    )
    assert plain.test_docs().column_names == list(SCHEMA)
    assert set_up.test_docs().to_list() == plain.test_docs().to_list()


@pytest.mark.parametrize(
    ("name", "metadata", "description", "text", "prefix"),
    [
        ("math500_boxed", {}, "", "{{problem}}\n" + BOXED_INSTRUCTION, None),
        ("math500_boxed", {"boxed_instruction": "system"}, BOXED_INSTRUCTION, "{{problem}}", None),
        ("math500_deepthink", {"deepthink_prefill": True}, None, "{{problem}}", "<start_deepthink>"),
        ("math500_deepthink", {}, None, "{{problem}}", None),
    ],
)
def test_options_place_the_prompts_parts(name, metadata, description, text, prefix):
    config = load(name, **metadata).config
    if description is not None:
        assert config.description == description
    assert (config.doc_to_text, config.gen_prefix) == (text, prefix)


def test_repeats_come_from_the_metadata_and_declare_the_sampling_metrics():
    sampled = load("math500_question_only", repeats=4)
    assert sampled.config.repeats == 4
    assert {"pass@1", "pass@2", "pass@4", "maj@1", "maj@2", "maj@4"} <= set(sampled.aggregation())
    assert sampled.higher_is_better()["maj@4"] is True and sampled.higher_is_better()["grader_timeouts"] is False
    single = load("math500_question_only")
    assert single.config.repeats == 1 and not any("@" in name for name in single.aggregation())
    assert load("math500_boxed_n64").config.repeats == 64
    assert load("math500_boxed_n64", repeats=2).config.repeats == 2  # the run's setting wins


def test_a_repeats_set_after_loading_is_declared_too():
    task = load("gsm8k_question_only")
    task.set_config(key="repeats", value=8)
    assert "maj@8" in task.aggregation() and "pass@8" in task.higher_is_better()


@pytest.mark.parametrize("gold_errata", [False, True])
def test_the_configuration_records_which_golds_were_used(gold_errata):
    task = load("math_validation_question_only", **({"gold_errata": True} if gold_errata else {}))
    assert task.dump_config()["metadata"]["gold_errata"] is gold_errata
    golds = {doc["unique_id"]: doc["answer"] for doc in task.test_docs()}
    assert golds["test/algebra/1878.json"] == ("-2, 1" if gold_errata else "1")
