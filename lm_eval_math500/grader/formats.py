"""The prompt variants' output formats: the one place their tags, markers, stop strings and prefill
are written. Extraction, the harness filters, the datasets, the CLI and the task YAML (through a
test) all read them from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Variant = Literal["r1_zero", "deepthink", "question_only"]
# `auto` picks the variant whose answer tags a response uses; `boxed` (the boxed prompt) reads
# responses as question_only does (`TASK_VARIANTS`).
VariantChoice = Literal["auto", "r1_zero", "deepthink", "question_only", "boxed"]
# `tags`: the format checks of `extraction.analyse`; `cs336`: CS336's literal r1_zero substrings.
FormatMode = Literal["tags", "cs336"]

VARIANT_CHOICES: tuple[str, ...] = get_args(VariantChoice)
FORMAT_MODES: tuple[str, ...] = get_args(FormatMode)


@dataclass(frozen=True)
class PromptFormat:
    """How the responses of one prompt variant are laid out.

    Attributes:
        variant: The variant's name in code and in the filters' arguments.
        task_suffix: How the public task names spell it (``math500_<task_suffix>``).
        answer_tags: The opening and closing tag around the final answer; None when the answer is
            read from prose (the last box, a stated answer or the concluding value).
        thinking_start: The marker that opens the model's reasoning, or None.
        thinking_end: The marker that closes the model's reasoning, or None.
        stop: The stop strings of generation (``generation_kwargs.until`` in the task YAML); the
            harness cuts them from the output, so a closing answer tag among them is restored.
        prefill: Text the response is forced to start with when the run asks for a prefill
            (``--metadata '{"deepthink_prefill": true}'``); empty when the variant has none.
    """

    variant: Variant
    task_suffix: str
    answer_tags: tuple[str, str] | None
    thinking_start: str | None
    thinking_end: str | None
    stop: tuple[str, ...]
    prefill: str


R1_ZERO = PromptFormat(
    variant="r1_zero",
    task_suffix="r1zero",
    answer_tags=("<answer>", "</answer>"),
    thinking_start="<think>",
    thinking_end="</think>",
    stop=("</answer>",),
    prefill="",
)
DEEPTHINK = PromptFormat(
    variant="deepthink",
    task_suffix="deepthink",
    answer_tags=("<SOLUTION>", "</SOLUTION>"),
    thinking_start="<start_deepthink>",
    thinking_end="</end_deepthink>",
    stop=("</SOLUTION>",),
    prefill="<start_deepthink>",
)
QUESTION_ONLY = PromptFormat(
    variant="question_only",
    task_suffix="question_only",
    answer_tags=None,
    thinking_start=None,
    thinking_end=None,
    stop=(),
    prefill="",
)

FORMATS: dict[Variant, PromptFormat] = {f.variant: f for f in (R1_ZERO, DEEPTHINK, QUESTION_ONLY)}
# The response format of each prompt variant, by the spelling of the public task names. The boxed
# variant asks for the same layout as question_only (a boxed or stated answer, no tags).
TASK_VARIANTS: dict[str, PromptFormat] = {f.task_suffix: f for f in FORMATS.values()} | {"boxed": QUESTION_ONLY}

# Sky-T1's thinking markers, which published long-CoT outputs use besides our formats' own.
SKY_T1_THINKING = ("<|begin_of_thought|>", "<|end_of_thought|>")
# Every (opening, closing) pair of thinking markers a response is split at.
THINKING_MARKERS: tuple[tuple[str, str], ...] = (
    *((f.thinking_start, f.thinking_end) for f in FORMATS.values() if f.thinking_start and f.thinking_end),
    SKY_T1_THINKING,
)
