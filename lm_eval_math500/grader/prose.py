"""Read an answer a response states in prose, with the problem in hand.

A response without a box states its answer in words: after "the answer is" / "Final Answer:", or
only in its concluding sentence. A person reading it takes the whole value (`2/3`, `5\\pi`,
`(2, -3)`), never a fragment of one; reads number words; takes the value after a label ("the
largest $n$ is 34"); passes over a number the problem itself gave when the sentence has another
candidate, and over a check written after the answer; and finds no answer in a response cut off
mid-work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from lm_eval_math500.grader.latex import canonical
from lm_eval_math500.grader.parser import ParseError, parse

# Phrases that state the final answer in prose; the answer runs to the end of that line.
_STATED = re.compile(
    r"(?:final\s+answer\s*(?:is|:)|the\s+answer\s+is|\banswer\s*:|\*\*(?:final\s+)?answer:?\*\*:?|"
    r"^#+\s*answer\b:?|^####)",
    re.IGNORECASE | re.MULTILINE,
)
_STATED_KEY = re.compile("answer|####")
_JOINER = re.compile(r"\s*,?\s*(?:or|and)?\s*", re.IGNORECASE)
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# Math spans that are unambiguous in prose (a single `$` is often a currency sign there).
_DISPLAY_SPAN = re.compile(r"\$\$(.+?)\$\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# `$...$` in prose counts as math only with a command or letter inside (not `$25 + $10`).
_DOLLAR_MATH = re.compile(r"(?<!\$)\$([^$\n]*[\\A-Za-z][^$\n]*|[^\s$](?:[^$\n]*[^\s$])?)\$(?!\$)")
_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*")
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])-?\.\d+")
# Characters that glue a number to the rest of its value when written without spaces.
_GLUE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\\{}^_/*+-.:%'π√")
# A constant or radical written after a number with a space: `12 \\pi`, `4 sqrt(2)`, `3 √5`.
_FACTOR_AFTER = re.compile(
    r"[ \t]*(?:\\pi(?![a-zA-Z])|π|\\sqrt\s*(?:\[[^\]]{1,10}\])?(?:\{[^{}]{1,40}\}|\d+)|sqrt\s*\([^()]{1,40}\)|√\s*\d+)"
)
# Where a value may end: a digit or the close of math (a box closes with `}` after its value).
_VALUE_MARKS = (*"0123456789", "$", "\\)", "\\]", "}")
# A result given up: the writer says it is wrong or starts the work again.
_RETRACTION = re.compile(
    r"\b(?:(?:that|this|it)\s+(?:does\s*n[o']t|doesn't|can't|cannot|didn't)\s+(?:make\s+sense|be\s+right|be\s+correct|work)"
    r"|(?:that|this|it)(?:'s|\s+is|\s+was)\s+(?:not\s+right|not\s+correct|incorrect|wrong|impossible)"
    r"|(?:I|we)\s+(?:made|have\s+made)\s+(?:a|an)\s+(?:mistake|error)"
    r"|let\s+(?:me|us)\s+(?:try\s+(?:again|once\s+more|a\s+different)|start\s+over|redo|re-?calculate|re-?compute|re-?think|re-?consider)"
    r"|let's\s+(?:try\s+again|start\s+over|redo|re-?calculate|re-?compute))",
    re.IGNORECASE,
)
_OPEN, _CLOSE = "([", ")]"
# `y = 3x`, `x <= 2`: a one-letter name and a relation written before a bare value.
_LEFT_RELATION = re.compile(r"(?<![\w\\])[A-Za-z]\s*(?:=|<=|>=|!=|<|>|≤|≥)\s*$")
# An operator or `=` between two bare values of one computation.
_LINK = re.compile(r"\s*(?:=|\+|-|\*|×|÷|/|\\times|\\cdot|\\div)\s*(?=[-(\d\\])")
# Arithmetic not carried out (`1+1`): a later value in the sentence is its result.
_UNDONE = re.compile(r"\d\s*(?:[-+*×÷]|\\times|\\cdot)\s*[\d(]")
# Where a sentence's conclusion starts: "... is", "so ...", "therefore ...".
_CONCLUSION = re.compile(
    r"\b(?:is|are|equals|was|will\s+be|would\s+be|so|therefore|thus|hence|gives|giving|get|gets|becomes|"
    r"simplif\w*(?:\s+to)?|reduces(?:\s+to)?)\b|=",
    re.IGNORECASE,
)
_RELATION = re.compile(r"\\le|\\ge|\\ne|\\neq|<|>|≤|≥|!=")
_APPROX = re.compile(r"\\approx|≈")
_MAX_STATED = 300
_TAIL = _MAX_STATED * 8
_GIVE_UP_REACH = 400  # how far after a box or a statement its retraction is looked for
_MAX_SENTENCES = 40  # a concluding sentence is among the last few; a check loop is not read further
_MAX_CANDIDATES = 24

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6}
_PARTS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
    "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "eighth": 8, "eighths": 8,
}  # fmt: skip
_NUMBER_WORD = re.compile(
    r"\b(?:%s)(?:(?:\s+|-)(?:and\s+)?(?:%s))*\b" % ("|".join([*_UNITS, *_SCALES]), "|".join([*_UNITS, *_SCALES, *_PARTS])),
    re.IGNORECASE,
)
# Words before a stated value that are not part of it ("the answer is indeed 9").
_FILLER = re.compile(
    r"^(?:\s|[:,]|\b(?:indeed|definitely|exactly|simply|clearly|actually|just|still|then|therefore|thus|"
    r"so|now|correct|precisely|equal\s+to)\b)+",
    re.IGNORECASE,
)
# Where a label ends and its value begins: "the largest $n$ is 34", "the total equals 12".
_COPULA = re.compile(r"\s(?:is|are|equals|was|will\s+be|would\s+be)\s+|\s=\s", re.IGNORECASE)
# Sentences that check an answer already given; they state no new one.
_CHECK = re.compile(
    r"^\W*(?:check|verif\w*|double[- ]check\w*|sanity check|let'?s (?:check|verify)|to (?:check|verify|confirm))"
    r"|\bchecks out\b",
    re.IGNORECASE,
)
# A statement whose value comes first: math, a number, a bracket or a number word.
_LEADING_VALUE = re.compile(r"\s*(?:\$|\\[(\[a-zA-Z]|[-+(\[{]?\d|\(|\*\*|(?:%s)\b)" % "|".join(_UNITS), re.IGNORECASE)
# A statement of the answer that only checks it.
_CHECKING = re.compile(r"\b(?:check\w*|verif\w*|confirm\w*|test\w*)\b[^.!?\n]*$", re.IGNORECASE)
# Sentences that reject a value tried ("x = 14 is not a solution").
_REJECT = re.compile(
    r"\b(?:is|are)\s+(?:still\s+)?not\s+(?:a\s+|the\s+|an\s+)?(?:solution|valid|possible|correct|right|equal|answer)"
    r"|\b(?:isn't|aren't)\s+(?:a\s+)?(?:solution|valid|possible|correct)|\bdo(?:es)?(?:n't| not) (?:work|satisfy)\b",
    re.IGNORECASE,
)
# Words a sentence cut off by the token budget often ends on.
_DANGLING = frozenset(
    "and or the a an of to is are so then but we that with for by as in if let since because".split()
)
_LAST_WORD = re.compile(r"\w+$")
_WORDS_BEFORE_NAMES = frozenset(
    "the so therefore thus hence i a an in on at if how what which who when then this that it we they he she "
    "there final answer yes no each every since because after before for and but or of to let now note".split()
)
# A question sentence (what runs up to a question mark) and, in it, "who" as the question word: at
# its start ("Who ran farthest?") or after a clause ("If ..., who earns more?"), but not in a
# relative clause of a question that another word asks ("What is the number whose digits ...?").
_QUESTION = re.compile(r"[^.?!\n]+\?")
_WHO = re.compile(r"^\W*(?:who|whom|whose)\b|,\s*(?:who|whom|whose)\b", re.IGNORECASE)
_OTHER_QUESTION_WORD = re.compile(
    r"^\W*(?:what|how|which|where|why|find|compute|determine|calculate|evaluate|is|are|does|do|can)\b", re.IGNORECASE
)
# A modulus (`x \equiv 44 \pmod{83}`, `44 mod 83`) is not an answer candidate.
_MODULUS = re.compile(r"(?:\bmod|\\pmod\{?|\\bmod|\(mod)\s*$")
_OPTION = re.compile(r"\(([A-E])\)")
# An option named by its letter alone: "the correct option is C", "choice D".
_NAMED_OPTION = re.compile(r"\b(?:option|choice)\s+(?:is\s+)?([A-E])\b")


def is_cut_off(text: str) -> bool:
    """Whether the response stops mid-work (the token budget ran out): it ends inside a math span
    or a bracket, on an operator, or on a word no sentence ends with."""
    tail = text[-2000:].rstrip()
    if not tail:
        return False
    paragraph = tail.rsplit("\n\n", 1)[-1]
    if paragraph.count("\\(") > paragraph.count("\\)") or paragraph.count("\\[") > paragraph.count("\\]"):
        return True
    last_line = paragraph.rsplit("\n", 1)[-1]
    if _STATED.search(last_line):
        return False  # it ends on its statement of the answer
    if last_line.count("(") > last_line.count(")"):
        return True
    last_word = _LAST_WORD.search(tail, len(tail) - 40)
    return tail[-1] in "=+-*/^_({[,:\\" or bool(last_word and last_word.group(0).lower() in _DANGLING)


def _masked(text: str) -> str:
    """The text with every math span blanked out (same length), so prose rules skip formulas."""
    for pattern in (_DISPLAY_SPAN, _DOLLAR_MATH):
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return text


def number_words(text: str) -> str | None:
    """The number a run of number words at the start of `text` names, in digits ("twenty-five"
    is 25, "one half" is 1/2), or None."""
    m = _NUMBER_WORD.match(text.strip())
    return _words_value(m.group(0)) if m else None


def _words_value(phrase: str) -> str | None:
    total = current = 0
    for word in re.split(r"[\s-]+", phrase.lower()):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _SCALES:
            if _SCALES[word] == 100:
                current = max(current, 1) * 100
            else:
                total, current = total + max(current, 1) * _SCALES[word], 0
        elif word in _PARTS:
            return f"{total + current}/{_PARTS[word]}" if total + current else None
    return str(total + current)


def states_a_value(text: str) -> bool:
    """Whether a text holds a value (digits, LaTeX or number words), not only words."""
    return bool(re.search(r"\d|\\[a-zA-Z]", text)) or number_words(text) is not None


def _span_value(body: str) -> str:
    """The value a concluding math span states: an inequality whole, an exact value before
    `\\approx`, the whole of a single equation between expressions (`x^2 + y^2 = 13`), else what
    follows the last `=` of a computation chain."""
    body = _APPROX.split(body, 1)[0]
    if _RELATION.search(body):
        return body.strip().rstrip(".,").strip()
    sides = body.split("=")
    if len(sides) == 2:
        try:
            parse(canonical(sides[0]))
            return body.strip().rstrip(".,").strip()
        except ParseError:
            pass
    return sides[-1].strip().rstrip(".,").strip()


def _token(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """Grow the number at text[start:end] to the whole value it belongs to: glued characters
    (`2/3`, `\\frac{10}{9}`, `5\\pi`), the brackets of a tuple around it (`(7, 6)`) and a
    leading `y =`."""
    while start > lo and text[start - 1] in _GLUE:
        start -= 1
    while end < hi and text[end] in _GLUE and (text[end] != "." or text[end + 1 : end + 2].isdigit()):
        end += 1
    while end > start and text[end - 1] in ".:,'":
        end -= 1  # sentence punctuation, not part of the value
    factor = _FACTOR_AFTER.match(text, end, hi)
    if factor:
        end = factor.end()
    for _ in range(12):  # a computation written out in prose: `5 + 3 = 8`
        link = _LINK.match(text, end, hi)
        if not link:
            break
        end = link.end()
        while end < hi and text[end] in _GLUE:
            end += 1
        while text[end - 1] in ".:,'":
            end -= 1
    for _ in range(3):  # the brackets around it, while what they enclose is math, not words
        open_at = _balance_left(text, start, lo, 1)
        close = _balance_right(text, end, hi, 1) if open_at >= 0 else -1
        if close < 0 or re.search(r"[A-Za-z]{3,}|[.!?]\s", text[open_at:close].replace("\\", " \\")):
            break
        start, end = open_at, close
    relation = _LEFT_RELATION.search(text, max(lo, start - 8), start)
    if relation:
        start = relation.start()
    return start, end


def _balance_right(text: str, at: int, hi: int, depth: int) -> int:
    for i in range(at, min(hi, at + 80)):
        depth += (text[i] in _OPEN) - (text[i] in _CLOSE)
        if depth == 0:
            return i + 1
    return -1


def _balance_left(text: str, at: int, lo: int, depth: int) -> int:
    for i in range(at - 1, max(lo, at - 80) - 1, -1):
        depth += (text[i] in _CLOSE) - (text[i] in _OPEN)
        if depth == 0:
            return i
    return -1


def _words_around(text: str, start: int, end: int) -> tuple[list[str], list[str]]:
    before = re.findall(r"\w+", text[max(0, start - 60) : start].lower())
    after = re.findall(r"\w+", text[end : end + 60].lower())
    return before, after


def _copied(text: str, start: int, end: int, problem: str | None) -> int:
    """How surely the value at text[start:end] is a quantity the problem gave: 2 when it occurs
    there with the word before and after it (or the two after it, at a sentence start), or is a
    long expression the problem wrote out; 1 when it occurs with the noun after it; else 0."""
    if not problem:
        return 0
    words = _problem_words(problem)
    value = re.findall(r"\w+", text[start:end].lower())
    if not value:
        return 0
    if len(value) >= 4 and _occurs(words, value):
        return 2  # an expression the problem wrote out, repeated
    before, after = _words_around(text, start, end)
    if before and after:
        probe = [before[-1], *value, after[0]]
    elif len(after) >= 2:
        probe = [*value, *after[:2]]
    elif len(before) >= 2:
        probe = [*before[-2:], *value]
    else:
        probe = []
    if probe and _occurs(words, probe):
        return 2
    return int(bool(after) and after[0].isalpha() and _occurs(words, [*value, after[0]]))


@lru_cache(maxsize=256)
def _problem_words(problem: str) -> list[str]:
    return re.findall(r"\w+", problem.lower())


def _occurs(words: list[str], probe: list[str]) -> bool:
    n = len(probe)
    return any(words[i : i + n] == probe for i in range(len(words) - n + 1))


def _sentences(text: str, masked: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or line; math spans never split one."""
    out, start = [], 0
    for m in re.finditer(r"[.!?](?=\s)|\n", masked):
        if text[start : m.start()].strip():
            out.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text)))
    return out


def _candidates(text: str, masked: str, lo: int, hi: int) -> list[tuple[int, int, str, int]]:
    """(start, end, value, rank) of the answer candidates in text[lo:hi]; a lower rank is preferred
    (0 a math span or bold value, 1 a bare value, 2 number words)."""
    found: list[tuple[int, int, str, int]] = []
    for pattern in (_DISPLAY_SPAN, _BOLD, _DOLLAR_MATH):
        for m in list(pattern.finditer(text, lo, hi))[-2 * _MAX_CANDIDATES :]:
            body = next(g for g in m.groups() if g is not None)
            aside = text[m.start() - 1 : m.start()] == "(" and text[m.end() : m.end() + 1] == ")"
            if re.search(r"\d", body) and not aside and not any(f[0] <= m.start() < f[1] for f in found):
                value = _span_value(body)
                if value:
                    found.append((m.start(), m.end(), value, 0))
    spans = [(a, b) for a, b, _, _ in found]
    bare: list[tuple[int, int, str, int]] = []
    taken = -1
    for m in list(_NUMBER.finditer(masked, lo, hi))[-2 * _MAX_CANDIDATES :]:
        if m.start() < taken or any(a <= m.start() < b for a, b in spans):
            continue
        if _MODULUS.search(masked, max(lo, m.start() - 8), m.start()):
            continue
        start, end = _token(masked, m.start(), m.end(), lo, hi)
        taken = end
        while bare and start <= bare[-1][0]:
            bare.pop()  # a part of this value
        bare.append((start, end, _span_value(text[start:end]), 1))
    found += bare
    for m in _NUMBER_WORD.finditer(masked, lo, hi):
        if m.group(0).lower() == "one" and re.match(r"\s+(?:of|more|another|way)\b", masked[m.end() :]):
            continue
        if masked[m.start() - 1 : m.start()] == "-" or masked[m.end() : m.end() + 1] == "-":
            continue  # part of a compound word: "non-zero", "eight-hour", "two-digit"
        value = _words_value(m.group(0))
        if value is not None:
            found.append((m.start(), m.end(), value, 2))
    return sorted(found)


def _names(text: str, lo: int, hi: int, problem: str) -> list[str]:
    """Capitalised words of text[lo:hi] that the problem also names (the people it asks about)."""
    named = set(re.findall(r"\b[A-Z][a-z]+\b", problem))
    return [w for w in re.findall(r"\b[A-Z][a-z]+\b", text[lo:hi]) if w in named and w.lower() not in _WORDS_BEFORE_NAMES]


@lru_cache(maxsize=256)
def _asks_who(problem: str) -> bool:
    """Whether the problem's question asks for a person."""
    return any(
        _WHO.search(q.group(0)) and not _OTHER_QUESTION_WORD.match(q.group(0)) for q in _QUESTION.finditer(problem)
    )


def _choose(text: str, masked: str, lo: int, hi: int, problem: str | None) -> str | None:
    """The answer one sentence states, or None when it holds no candidate."""
    if problem and _asks_who(problem):
        names = _names(text, lo, hi, problem)
        if names:
            return names[0]
    if problem and _OPTION.search(problem):
        options = _OPTION.findall(masked, lo, hi) or _NAMED_OPTION.findall(masked, lo, hi)
        if options:
            return f"({options[-1]})"
    found = _candidates(text, masked, lo, hi)[-_MAX_CANDIDATES:]
    if not found:
        return None
    scored = [(f, _copied(text, f[0], f[1], problem)) for f in found]
    # The candidates after the sentence's last conclusion word ("is", "so", "=") come first.
    for marker in reversed(list(_CONCLUSION.finditer(masked, lo, hi))):
        after = [x for x in scored if x[0][0] >= marker.end()]
        if after:
            chosen = _fresh(after, first=True)
            if chosen is not None:
                return _with_joined(chosen, found, masked)
            break
    chosen = _fresh(scored, first=False)
    return chosen[2] if chosen is not None else found[-1][2]


def _fresh(scored: list[tuple[tuple[int, int, str, int], int]], first: bool) -> tuple[int, int, str, int] | None:
    """The first (right after a conclusion word) or else the last candidate not taken from the
    problem: values in math or digits before number words, those not seen in the problem at all
    before those seen there with their noun, results before arithmetic left undone."""
    for kind in ((0, 1), (2,)):
        for allowed in (0, 1):
            fresh = [f for f, level in scored if f[3] in kind and level <= allowed]
            done = [f for f in fresh if "=" in f[2] or not _UNDONE.search(f[2])]
            if done or fresh:
                return (done or fresh)[0 if first else -1]
    return None


def _with_joined(chosen: tuple[int, int, str, int], found: list[tuple[int, int, str, int]], text: str) -> str:
    """The chosen value and the values joined to it by "and", "or" or a comma (`the solutions are
    $x = 2$ and $x = -3$`), as one list answer."""
    values, end = [chosen[2]], chosen[1]
    for start, stop, value, rank in found:
        if start < end or rank != chosen[3]:
            continue
        if not _JOINER.fullmatch(text, end, start) or start == end:
            break
        values.append(value)
        end = stop
    return ", ".join(values)


def ends_giving_up(text: str) -> bool:
    """Whether the response ends by giving up its last result and states no value after that
    ("= 14749 wait, that doesn't make sense ... Let me try again"): a reconsideration it was cut
    off in, so the earlier result is not its answer. Only the words after the last digit or math
    delimiter are searched: a value written later would be a new result."""
    last_value = max(text.rfind(mark) for mark in _VALUE_MARKS)
    return bool(_RETRACTION.search(text, max(last_value + 1, len(text) - _TAIL)))


def gives_up(text: str, position: int) -> bool:
    """Whether the result that ends at `position` (a box, a stated answer) is given up right after
    it, before any other value is written ("\\boxed{20}. Hmm, this is not right; ...")."""
    found = _RETRACTION.search(text, position, position + _GIVE_UP_REACH)
    return bool(found) and not any(mark in text[position : found.start()] for mark in _VALUE_MARKS)


def concluding_answer(text: str, problem: str | None = None) -> str | None:
    """The answer of a response that neither boxes nor states one: the value its last sentence
    with a candidate gives, checks and rejected tries after it passed over; None when the
    response is cut off or gives its result up."""
    if is_cut_off(text) or ends_giving_up(text):
        return None
    lo = max(0, len(text) - _TAIL)
    tail = text[lo:]
    masked = _masked(tail)
    sentences = _sentences(tail, masked)
    fallback = None
    for start, end in reversed(sentences[-_MAX_SENTENCES:]):
        answer = _choose(tail, masked, start, end, problem)
        if answer is None:
            continue
        if not (_CHECK.search(masked[start:end]) or _REJECT.search(masked[start:end])):
            return answer
        fallback = fallback or answer
    return fallback


def _statement_value(line: str, problem: str | None) -> str | None:
    """The value a statement's line gives: the math spans it opens with (several joined by a
    comma or "or" are one list answer), the value after a label, number words, else the line."""
    line = _FILLER.sub("", line)
    masked = _masked(line)
    first = re.search(r"[.!?](?:\s|$)", masked)
    sentence_end = first.start() if first else len(line)
    label = None
    for label in _COPULA.finditer(masked, 0, sentence_end):
        pass
    if label is not None and states_a_value(line[label.end() : sentence_end]):
        line = _FILLER.sub("", line[label.end() :])
        masked = _masked(line)
        first = re.search(r"[.!?](?:\s|$)", masked)
        sentence_end = first.start() if first else len(line)
    spans = list(_MATH_SPAN.finditer(line))
    if spans and spans[0].start() < sentence_end:
        count = 1
        while count < len(spans) and _JOINER.fullmatch(line, spans[count - 1].end(), spans[count].start()):
            count += 1
        return ", ".join(next(g for g in m.groups() if g is not None).strip() for m in spans[:count])
    words = number_words(line)
    if words is not None:
        return words
    ans = line[:sentence_end].strip().rstrip(".").strip("* ")
    if re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}", ans):
        chosen = _choose(ans, _masked(ans), 0, len(ans), problem)
        ans = chosen if chosen is not None else ans
    return ans.strip().rstrip(".").strip() or None


class Statement(NamedTuple):
    """An answer stated in prose: where its phrase starts, the answer, whether the value comes
    right after the phrase ("the answer is 15", not "the final answer is positive"), and where the
    sentence that states it ends."""

    start: int
    answer: str
    direct: bool
    end: int


def _statement_phrases(text: str) -> Iterator[re.Match[str]]:
    """The matches of `_STATED`, the last first. Every phrase holds "answer" or "####", so the
    phrase is only looked for around those words (found in the lower-cased text, which is fast)."""
    taken = len(text) + 1
    keys = [m.start() for m in _STATED_KEY.finditer(text.lower())]
    for at in reversed(keys):
        if at >= taken:
            continue
        for found in _STATED.finditer(text, max(0, at - 32), min(len(text), at + 24)):
            if found.start() <= at < found.end() and found.end() <= taken:
                taken = found.start()
                yield found
                break


def stated_answer(text: str, problem: str | None = None) -> Statement | None:
    """The answer after the last 'final answer is' / 'the answer is' / 'Answer:' / '####' phrase
    that is not a check of it, or None."""
    last = None
    for found in _statement_phrases(text):
        window = max(0, found.start() - 200)
        line_start = text.rfind("\n", window, found.start()) + 1 or window
        if not _CHECKING.search(text, line_start, found.start()):  # "we may check our answer: ..."
            last = found
            break
    if last is None:
        return None
    rest = text[last.end() : last.end() + _MAX_STATED * 4].lstrip(" \t:*")
    if rest.startswith("\n"):
        rest = rest.lstrip()
    line = rest if rest.startswith(("$$", "\\[")) else rest.split("\n\n", 1)[0].split("\n", 1)[0]
    ans = _statement_value(line, problem)
    # A statement with a box in it is read as that box; an unclosed one states nothing.
    direct = bool(_LEADING_VALUE.match(_FILLER.sub("", line))) and not re.search(r"\\(?:boxed|fbox)", line)
    stop = re.search(r"[.!?](?=\s|$)", _masked(line))
    end = text.find(line, last.end()) + (stop.end() if stop else len(line))
    return Statement(last.start(), ans[: _MAX_STATED * 4], direct, end) if ans else None
