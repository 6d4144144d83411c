"""Find the final answer in a model response and check its output format.

Answers sit at the end of a response, so answer searches read at most its last 64 kB and tag
lookups are plain `rfind`s: a 1 MB response costs a few milliseconds.
"""

from __future__ import annotations

import re

from lm_eval_math500.grader import prose
from lm_eval_math500.grader.latex import brace_end
from lm_eval_math500.grader.equivalence import same_in_process
from lm_eval_math500.grader.formats import (
    DEEPTHINK,
    FORMAT_MODES,
    R1_ZERO,
    TASK_VARIANTS,
    VARIANT_CHOICES,
    FormatMode,
    Variant,
    VariantChoice,
)
from lm_eval_math500.grader.inputs import answer_text, problem_text

# `\\boxed{x}`, `\\fbox{x}`, or `\\boxed x` (a space, then a bare token); also glued to a stray
# command name before it (`\\beginboxed{4}`).
_BOX = re.compile(r"\\(?:[a-zA-Z]*?)(?:boxed|fbox)(?![a-zA-Z])( +)?")
# Words that announce the writer is replacing an earlier answer; a box after one of these wins.
_CORRECTION = re.compile(
    r"\b(?:wait|actually|correction|mistake|error|re-?evaluat\w*|re-?examin\w*|recheck\w*|"
    r"re-?calculat\w*|revis\w*|incorrect|wrong|instead|oops|however)\b",
    re.IGNORECASE,
)
# Working between two boxes: an equation, a relation or a new row of an aligned derivation.
_WORKING = re.compile(r"=|<|>|\\le|\\ge|\\\\")
# The name written just before a box: `a = \boxed{2}`, `$b=$ \boxed{5}`.
_LABEL = re.compile(r"(?<![\\\w])([A-Za-z](?:_\{?\w+\}?)?)\s*=\s*\$?\s*$")
_MAX_STATED = 300
_WINDOW = 65536
_MAX_MERGED = 16


def _check_choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    """Reject an unknown variant or mode with a message naming the allowed values."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")


def _boxes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every closed `\\boxed{...}` / `\\fbox{...}` / `\\boxed x`."""
    found: list[tuple[int, int, str]] = []
    resume = 0
    for m in _BOX.finditer(text):
        if m.start() < resume:
            continue  # inside a box already taken
        i = m.end()
        if text.startswith("{", i):
            end = brace_end(text, i)
            if end < 0:
                break
            found.append((m.start(), end, text[i + 1 : end - 1]))
            resume = end
        elif m.group(1):
            bare = re.match(r"[^\s$]+", text[i : i + _MAX_STATED])
            if bare:
                found.append((m.start(), i + bare.end(), bare.group(0)))
    return found


def _labels_differ(text: str, first: int, second: int) -> bool:
    """Whether the boxes at `first` and `second` both follow a label (`a =`) and name different things."""
    a, b = (_LABEL.search(text, max(0, at - 40), at) for at in (first, second))
    return bool(a and b) and a.group(1) != b.group(1)


def _final_box(text: str) -> tuple[bool, str | None]:
    """(box found, answer) from the final group of boxes.

    Boxes separated by further working (an equation or relation) or by a self-correction are
    earlier results: the later group wins. Boxes written together (`\\boxed{3} or \\boxed{4}`)
    form one answer; different values there become a list, so a hedge against a single gold
    value fails while a complete list of solutions is kept.
    """
    text = text[-_WINDOW:]
    boxes = [(at, end, c.strip()) for at, end, c in _boxes(text)]
    boxes = [b for b in boxes if b[2] and not b[2].startswith("\\phantom")]
    if not boxes:
        return False, None
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        between = text[box[1] : group[0][0]]
        if _labels_differ(text, box[0], group[0][0]):
            between = _LABEL.sub("", between)  # `a = \boxed{2}, b = \boxed{5}`: a new label is not working
        if _WORKING.search(between) or _CORRECTION.search(between):
            break
        group.insert(0, box)
    labels = [_LABEL.search(text, max(0, at - 40), at) for at, _, _ in group]
    if len(group) > 1 and all(labels) and len({m.group(1) for m in labels}) == len(group):  # labelled parts
        return True, ", ".join(f"{m.group(1)} = {c}" for m, (_, _, c) in zip(labels, group))
    return True, ", ".join(reversed(_distinct_values([content for _, _, content in reversed(group)])))


def _distinct_values(contents: list[str]) -> list[str]:
    """The different values among box contents, each in its first form in `contents`. Equal
    strings merge in one pass; equal values written differently (`0.5`, `\\frac12`, and a long
    decimal printout of `\\frac{\\pi}{2}`) merge only among a few different strings, so the work
    stays linear in the number of boxes (a group with more different strings than `_MAX_MERGED`
    is a hedge however its values compare)."""
    texts = list(dict.fromkeys(contents))
    if len(texts) > _MAX_MERGED:
        return texts
    values: list[str] = []
    for text in texts:
        if not any(same_in_process(text, v, approximate=True) for v in values):
            values.append(text)
    return values


def _question_only(text: str, problem: str | None = None) -> tuple[bool, str | None]:
    """(answer committed explicitly, answer): boxed, else stated, else the concluding value; a final
    statement after the last box wins over it, and a response cut off mid-work states no answer in
    prose. Only the last 64 kB are read: a final answer sits at the end of even a huge response."""
    text = text[-_WINDOW:]
    boxed, ans = _final_box(text)
    stated = prose.stated_answer(text, problem)
    if boxed and not (stated and stated.direct and stated.start >= _boxes(text)[-1][1]):
        return (False, None) if prose.gives_up(text, _boxes(text)[-1][1]) else (True, ans)
    if prose.is_cut_off(text):
        return False, None
    if stated is not None:
        return (False, None) if prose.gives_up(text, stated.end) else (True, stated.answer)
    return False, prose.concluding_answer(text, problem)


def _tag_content(text: str, open_tag: str, close_tag: str) -> tuple[int, str | None, bool]:
    """(position, content, closed) of the last `open_tag`, running to `close_tag` or the end."""
    at = text.rfind(open_tag)
    if at < 0:
        return -1, None, False
    start = at + len(open_tag)
    end = text.find(close_tag, start)
    closed = end >= 0
    return at, text[start : end if closed else len(text)], closed


def _inside_tag(content: str) -> str | None:
    """The answer inside an answer tag: the boxed content if any, else the stripped text."""
    boxed, ans = _final_box(content)
    if not boxed:
        ans = content.strip()
    return ans or None


def _resolve_variant(response: str, variant: VariantChoice) -> Variant:
    """Map `auto` to the variant whose opening answer tag the response uses, and a task variant
    such as `boxed` to the variant whose layout its responses have."""
    if variant in TASK_VARIANTS:
        return TASK_VARIANTS[variant].variant
    if variant != "auto":
        return variant
    for fmt in (R1_ZERO, DEEPTHINK):
        if fmt.answer_tags[0] in response:
            return fmt.variant
    return "question_only"


def analyse(
    response: str, variant: VariantChoice = "auto", mode: FormatMode = "tags", problem: str | None = None
) -> tuple[str | None, bool]:
    """(final answer or None, format followed) in one pass over the response; `problem` lets a
    prose answer be read with the problem in hand (see :mod:`prose`).

    A `response` of None has no answer and no format; a number is read as its text (:mod:`inputs`).

    r1_zero: the answer is in the last `<answer>` (closed or running to the end); the format needs
    `</think>`, whitespace, then that tag (mode "cs336": the literal `</think> <answer>` and
    `</answer>` substrings). deepthink: the last `<SOLUTION>`, after `</end_deepthink>` when the
    response has thinking tags, with content; without the tag the answer is read as question_only
    and the format fails. question_only (and boxed): the format holds when a box or a stated
    answer is found. The tags and markers are those of :mod:`lm_eval_math500.grader.formats`.
    """
    _check_choice(variant, VARIANT_CHOICES, "variant")
    _check_choice(mode, FORMAT_MODES, "format mode")
    response = answer_text(response, "response", none_allowed=True)
    problem = problem_text(problem)
    if response is None:
        return None, False
    variant = _resolve_variant(response, variant)
    if variant == "r1_zero":
        opening, closing = R1_ZERO.answer_tags
        at, content, _ = _tag_content(response, opening, closing)
        answer = None if content is None else _inside_tag(content)
        if mode == "cs336":
            return answer, f"{R1_ZERO.thinking_end} {opening}" in response and closing in response
        return answer, at >= 0 and response[:at].rstrip().endswith(R1_ZERO.thinking_end)
    if variant == "deepthink":
        at, content, _ = _tag_content(response, *DEEPTHINK.answer_tags)
        if content is not None:
            thinking = DEEPTHINK.thinking_start in response or DEEPTHINK.thinking_end in response
            placed = not thinking or 0 <= response.rfind(DEEPTHINK.thinking_end) < at
            return _inside_tag(content), placed and bool(content.strip())
        return _question_only(response, problem)[1], False
    explicit, answer = _question_only(response, problem)
    return answer, explicit


def extract_answer(response: str, variant: VariantChoice = "auto", *, problem: str | None = None) -> str | None:
    """The final answer the response commits to under `variant` (``auto``, ``r1_zero``,
    ``deepthink``, ``question_only`` or ``boxed``), or None (missing or hedged); with `problem`, a
    prose answer is read with the problem in hand."""
    return analyse(response, variant, problem=problem)[0]


def check_format(response: str, variant: VariantChoice, *, mode: FormatMode = "tags") -> bool:
    """Whether the response follows the output format of `variant` (rules in `analyse`)."""
    return analyse(response, variant, mode)[1]
