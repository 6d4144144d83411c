"""Find the final answer in a model response and check its output format.

Answers sit at the end of a response, so answer searches read at most its last 64 kB and tag
lookups are plain `rfind`s: a 1 MB response costs a few milliseconds.
"""

from __future__ import annotations

import re

from lm_eval_math500.grader.parser import ParseError, parse
from lm_eval_math500.grader.latex import brace_end, canonical
from lm_eval_math500.grader.equivalence import same_in_process
from lm_eval_math500.grader.formats import (
    DEEPTHINK,
    FORMAT_MODES,
    R1_ZERO,
    VARIANT_CHOICES,
    FormatMode,
    Variant,
    VariantChoice,
)

# `\\boxed{x}`, `\\fbox{x}`, or `\\boxed x` (a space, then a bare token).
_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])( +)?")
# Words that announce the writer is replacing an earlier answer; a box after one of these wins.
_CORRECTION = re.compile(
    r"\b(?:wait|actually|correction|mistake|error|re-?evaluat\w*|re-?examin\w*|recheck\w*|"
    r"re-?calculat\w*|revis\w*|incorrect|wrong|instead|oops|however)\b",
    re.IGNORECASE,
)
# Working between two boxes: an equation, a relation or a new row of an aligned derivation.
_WORKING = re.compile(r"=|<|>|\\le|\\ge|\\\\")
# Phrases that state the final answer in prose; the answer runs to the end of that line.
_STATED = re.compile(
    r"(?:final\s+answer\s*(?:is|:)|the\s+answer\s+is|\banswer\s*:|\*\*answer:?\*\*:?|"
    r"^#+\s*answer\b:?|^####)",
    re.IGNORECASE | re.MULTILINE,
)
_JOINER = re.compile(r"\s*,?\s*(?:or|and)?\s*", re.IGNORECASE)
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# Math spans that are unambiguous in prose (a single `$` is often a currency sign there).
_DISPLAY_SPAN = re.compile(r"\$\$(.+?)\$\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# `$...$` in prose counts as math only with a command or letter inside (not `$25 + $10`).
_DOLLAR_MATH = re.compile(r"(?<!\$)\$([^$\n]*[\\A-Za-z][^$\n]*)\$(?!\$)")
_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*")
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])-?\.\d+")
_MAX_STATED = 300
_WINDOW = 65536


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
        if _WORKING.search(between) or _CORRECTION.search(between):
            break
        group.insert(0, box)
    values: list[str] = []
    for _, _, content in reversed(group):  # of equal values, the last-written form is kept
        if not any(content == v or same_in_process(content, v) for v in values):
            values.append(content)
    return True, ", ".join(reversed(values))


def _stated_answer(text: str) -> str | None:
    """The answer after the last 'final answer is' / 'Answer:' / '####' phrase, or None."""
    last = None
    for last in _STATED.finditer(text):
        pass
    if last is None:
        return None
    rest = text[last.end() : last.end() + _MAX_STATED * 4].lstrip(" \t:*")
    if rest.startswith("\n"):
        rest = rest.lstrip()
    line = rest.split("\n\n", 1)[0].split("\n", 1)[0] if not rest.startswith("$$") else rest
    spans = list(_MATH_SPAN.finditer(line))
    if spans:
        # `$3$ or $4$`: spans joined only by a comma, "or" or "and" are one (list) answer
        count = 1
        while count < len(spans) and _JOINER.fullmatch(line, spans[count - 1].end(), spans[count].start()):
            count += 1
        ans = ", ".join(next(g for g in m.groups() if g is not None) for m in spans[:count])
    else:
        ans = re.sub(r"\.\s.*$", "", line).strip().rstrip(".").strip("* ")
        if re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}", ans):
            num = _NUMBER.search(ans)
            ans = num.group(0) if num else ans
    ans = ans.strip().rstrip(".").strip()
    return ans[:_MAX_STATED * 4] or None


def _span_value(body: str) -> str:
    """The value a concluding math span states: the whole of a single equation between
    expressions (`x^2 + y^2 = 13`), else what follows the last `=` of a computation chain."""
    sides = body.split("=")
    if len(sides) == 2:
        try:
            parse(canonical(sides[0]))
            return body.strip().rstrip(".,").strip()
        except ParseError:
            pass
    return sides[-1].strip().rstrip(".,").strip()


def _concluding_value(text: str) -> str | None:
    """The unstated answer: whichever ends last of the last math span with a number, the last
    bold number and the last bare number outside spans. A span in parentheses is an aside."""
    tail_at = max(0, len(text) - _MAX_STATED * 8)
    tail = text[tail_at:]
    best_end, best = -1, None
    spans: list[tuple[int, int]] = []
    for pattern in (_DISPLAY_SPAN, _BOLD, _DOLLAR_MATH):
        for m in pattern.finditer(tail):
            spans.append(m.span())
            body = next(g for g in m.groups() if g is not None)
            aside = tail[m.start() - 1 : m.start()] == "(" and tail[m.end() : m.end() + 1] == ")"
            if m.end() > best_end and re.search(r"\d", body) and not aside:
                value = _span_value(body)
                if value:
                    best_end, best = m.end(), value
    for number in reversed(list(_NUMBER.finditer(tail))):
        if not any(a <= number.start() < b for a, b in spans):
            if number.end() > best_end:
                return number.group(0)
            break
    if best is None and tail_at:
        return _last_number(text)
    return best


def _last_number(text: str) -> str | None:
    """The last number in the text (the GSM8K convention when nothing else marks the answer).
    Scans backwards from the last digit in short windows, so a huge text costs no more."""
    end = len(text)
    while True:
        end = max(text.rfind(d, 0, end) for d in "0123456789") + 1
        if end == 0:
            return None
        while end < len(text) and text[end] in "0123456789.,":
            end += 1  # the whole digit run, so the window never cuts a number
        start = max(0, end - 400)
        last = None
        for last in _NUMBER.finditer(text, start, end):
            pass
        if last is not None:
            return last.group(0)
        end = start


def _question_only(text: str) -> tuple[bool, str | None]:
    """(answer committed explicitly, answer): boxed, else stated, else the concluding value.
    Only the last 64 kB are read: a final answer sits at the end of even a huge response."""
    text = text[-_WINDOW:]
    boxed, ans = _final_box(text)
    if boxed:
        return True, ans
    stated = _stated_answer(text)
    if stated is not None:
        return True, stated
    return False, _concluding_value(text)


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
    """Map `auto` to the variant whose opening answer tag the response uses."""
    if variant != "auto":
        return variant
    for fmt in (R1_ZERO, DEEPTHINK):
        if fmt.answer_tags[0] in response:
            return fmt.variant
    return "question_only"


def analyse(
    response: str, variant: VariantChoice = "auto", mode: FormatMode = "tags"
) -> tuple[str | None, bool]:
    """(final answer or None, format followed) in one pass over the response.

    r1_zero: the answer is in the last `<answer>` (closed or running to the end); the format needs
    `</think>`, whitespace, then that tag (mode "cs336": the literal `</think> <answer>` and
    `</answer>` substrings). deepthink: the last `<SOLUTION>`, after `</end_deepthink>` when the
    response has thinking tags, with content; without the tag the answer is read as question_only
    and the format fails. question_only: the format holds when a box or a stated answer is found.
    The tags and markers are those of :mod:`lm_eval_math500.grader.formats`.
    """
    _check_choice(variant, VARIANT_CHOICES, "variant")
    _check_choice(mode, FORMAT_MODES, "format mode")
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
        return _question_only(response)[1], False
    explicit, answer = _question_only(response)
    return answer, explicit


def extract_answer(response: str, variant: VariantChoice = "auto") -> str | None:
    """The final answer the response commits to under `variant`, or None (missing or hedged)."""
    return analyse(response, variant)[0]


def check_format(response: str, variant: VariantChoice, *, mode: FormatMode = "tags") -> bool:
    """Whether the response follows the output format of `variant` (rules in `analyse`)."""
    return analyse(response, variant, mode)[1]
