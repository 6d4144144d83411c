"""The tasks' own lm-eval class, which every task YAML names (``class: !function ...``).

lm-eval builds a task whose YAML names a class with ``cls(config=...)``; this class takes from
there what the plugin needs, through lm-eval's public task interface only:

- the options of ``--metadata`` (:data:`OPTIONS`), checked: a misspelled key stops the run with
  one line naming the nearest one;
- the docs as the dataset gave them, mapped onto the one schema (the golds corrected only with
  ``gold_errata``), with nothing of the run's settings added to them;
- ``repeats`` from the metadata, and the ``pass@k`` / ``maj@k`` metrics declared for the task's own n;
- ``apply_filters``, which hands the extraction filter each response's request (prompt and token
  budget) and the run's settings (``think_end_token``, the tokenizer), and counts every response's
  tokens once per task, in batches.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import datasets
from lm_eval.api.instance import Instance
from lm_eval.api.metrics import mean
from lm_eval.api.registry import get_filter
from lm_eval.api.task import ConfigurableTask

from lm_eval_math500.grader.formats import DEEPTHINK
from lm_eval_math500.harness.budget import TokenCounts
from lm_eval_math500.harness.datasets import load, process_docs
from lm_eval_math500.harness.filters import ExtractAnswer
from lm_eval_math500.harness.records import Request, RunSettings
from lm_eval_math500.harness.replay import Replayed
from lm_eval_math500.harness.sampling import sampling_metrics

# What ``--metadata`` may set for these tasks, and what each means.
OPTIONS = {
    "data_dir": "read the datasets from this local folder instead of the hub",
    "deepthink_prefill": "true makes every deepthink response start with <start_deepthink>",
    "boxed_instruction": '"user" (default) or "system": the turn the boxed variant puts its instruction in',
    "gold_errata": "true replaces the four MATH golds that are not the whole answer (default: the published golds)",
    "repeats": "samples per problem (default: the task's own repeats)",
    "tokenizer": "the tokenizer that counts response tokens (default: the model's pretrained)",
}
# Model arguments the tasks read (lm-eval merges --model_args into the metadata).
MODEL_ARGUMENTS = ("pretrained", "think_end_token")
# Other keys a task's metadata holds: its YAML's, lm-eval's own, and the presets'.
OTHER_KEYS = ("version", "verdicts_sha256", "config_source", "reproduces")
BOXED_TURNS = ("user", "system")
# The boxed variant's instruction (DeepSeek-R1's and Qwen2.5-Math's wording); the task puts it in
# the turn ``boxed_instruction`` names: after the problem in the user turn, or the system turn.
BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
_BOOLEANS = ("deepthink_prefill", "gold_errata")


class MetadataError(ValueError):
    """A ``--metadata`` key or value the tasks cannot use; the message says what to write instead."""


@dataclass(frozen=True)
class Options:
    """The run's settings as the tasks read them from their metadata.

    Attributes:
        data_dir: the local data folder, None for the hub (or ``LM_EVAL_MATH500_DATA_DIR``).
        deepthink_prefill: deepthink responses start with the format's prefill.
        boxed_instruction: ``user`` or ``system``: where the boxed instruction goes.
        gold_errata: the golds of ``GOLD_ERRATA`` replace the published ones.
        repeats: samples per problem, None for the task's own setting.
        settings: what the model's arguments say about its outputs, for the extraction filter.
    """

    data_dir: str | None = None
    deepthink_prefill: bool = False
    boxed_instruction: str = "user"
    gold_errata: bool = False
    repeats: int | None = None
    settings: RunSettings = RunSettings()

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> "Options":
        """Read and check the options; raise :class:`MetadataError` for a misspelled key or a bad value."""
        check_keys(metadata)
        for name in _BOOLEANS:
            if not isinstance(metadata.get(name, False), bool):
                raise MetadataError(f"metadata {name} takes true or false, not {metadata[name]!r}")
        turn = metadata.get("boxed_instruction", "user")
        if turn not in BOXED_TURNS:
            raise MetadataError(
                f"metadata boxed_instruction takes {' or '.join(map(repr, BOXED_TURNS))}, not {turn!r}; "
                'pass --metadata \'{"boxed_instruction": "system"}\' for the system turn'
            )
        repeats = metadata.get("repeats")
        if repeats is not None and (isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1):
            raise MetadataError(f"metadata repeats takes a whole number of samples, at least 1, not {repeats!r}")
        version = metadata.get("version")
        return cls(
            data_dir=_text(metadata, "data_dir"),
            deepthink_prefill=metadata.get("deepthink_prefill", False),
            boxed_instruction=turn,
            gold_errata=metadata.get("gold_errata", False),
            repeats=repeats,
            settings=RunSettings(
                think_end_token=_text(metadata, "think_end_token"),
                tokenizer=_text(metadata, "tokenizer") or _text(metadata, "pretrained"),
                version=None if version is None else str(version),
            ),
        )


def _text(metadata: Mapping[str, Any], key: str) -> str | None:
    value = metadata.get(key)
    return value if isinstance(value, str) and value else None


def check_keys(metadata: Mapping[str, Any], strict: bool = False) -> None:
    """Raise :class:`MetadataError` for a key that is none of the tasks' but close to one of them
    or, with ``strict``, for any key that is none of theirs.

    A task sees ``--model_args`` merged into its metadata, so there keys far from all of the tasks'
    are taken to be the model's (or another task's) and left alone; ``lm-eval-math500 run`` knows
    which keys came from ``--metadata`` and checks them strictly when it runs these tasks alone.
    """
    known = (*OPTIONS, *MODEL_ARGUMENTS, *OTHER_KEYS)
    for key in metadata:
        if key in known:
            continue
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.8 if not strict else 0.6)
        if near or strict:
            guess = f" (did you mean {near[0]!r}?)" if near else ""
            raise MetadataError(f"unknown metadata key {key!r}{guess}; these tasks take {', '.join(OPTIONS)}")


class MathTask(ConfigurableTask):
    """A task of this plugin: r1_zero and question_only use it as it is, deepthink and boxed through
    their subclasses, which place the prompt's parts as the options say."""

    def __init__(self, config: Mapping[str, Any], **_: Any) -> None:
        config = {key: value for key, value in config.items() if key != "class"}
        metadata = dict(config.get("metadata") or {})
        self.options = Options.from_metadata(metadata)
        # The results file records the golds the run graded against.
        config["metadata"] = {**metadata, "gold_errata": self.options.gold_errata}
        if self.options.repeats is not None:
            config["repeats"] = self.options.repeats
        config.update(self.prompt_settings(config))
        super().__init__(config=config)

    def prompt_settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Task settings the options change (the variants' subclasses place their prompt's parts)."""
        return {}

    def download(self, dataset_kwargs: dict[str, Any] | None = None, **_: Any) -> None:
        """Read the dataset ``dataset_kwargs["name"]`` and map it onto the one schema."""
        name = (dataset_kwargs or {})["name"]
        split = load(name, self.options.data_dir)["test"]
        self.dataset = datasets.DatasetDict({"test": process_docs(split, gold_errata=self.options.gold_errata)})

    def apply_filters(self) -> None:
        """Run each filter of ``filter_list`` over the responses, the extraction filter with the requests."""
        instances: list[Instance] = self.instances
        docs = [instance.doc for instance in instances]
        requests = [_request(instance) for instance in instances]
        counts = TokenCounts(self.options.settings.tokenizer)
        for entry in self.config.filter_list:
            filtered: Any = [instance.resps for instance in instances]
            for step in entry["filter"]:
                made = get_filter(step["function"])(**{k: v for k, v in step.items() if k != "function"})
                if isinstance(made, ExtractAnswer):
                    filtered = made.records(filtered, docs, requests, self.options.settings, counts)
                else:
                    filtered = made.apply(filtered, docs)
            for instance, responses in zip(instances, filtered, strict=True):
                instance.filtered_resps[entry["name"]] = responses

    def aggregation(self) -> dict[str, Any]:
        """The YAML's metrics, and ``pass@k`` / ``maj@k`` for the task's current ``repeats`` (averaged)."""
        return {**super().aggregation(), **dict.fromkeys(sampling_metrics(self.config.repeats), mean)}

    def higher_is_better(self) -> dict[str, bool]:
        """The YAML's metrics, and ``pass@k`` / ``maj@k`` for the task's current ``repeats`` (higher is better)."""
        return {**super().higher_is_better(), **dict.fromkeys(sampling_metrics(self.config.repeats), True)}


def _request(instance: Instance) -> Request:
    """The request as the filter reads it; a replayed generation's budget is unknown."""
    request = Request.of(instance.args)
    if any(isinstance(response, Replayed) for response in instance.resps):
        return Request(request.prompt, None)
    return request


class DeepthinkTask(MathTask):
    """deepthink: with ``deepthink_prefill`` the response is forced to start with the format's prefill."""

    def prompt_settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The prefill as lm-eval's ``gen_prefix``, when the run asks for it."""
        return {"gen_prefix": DEEPTHINK.prefill} if self.options.deepthink_prefill else {}


class BoxedTask(MathTask):
    """boxed: the instruction follows the problem in the user turn, or is the system turn."""

    def prompt_settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The instruction as the system prompt (``description``), or after the problem's text."""
        if self.options.boxed_instruction == "system":
            return {"description": BOXED_INSTRUCTION}
        return {"doc_to_text": f"{config['doc_to_text']}\n{BOXED_INSTRUCTION}"}
