"""Normalise a LaTeX answer string: drop decorations that never change the value."""

from __future__ import annotations

import re
from functools import lru_cache

_MAX_LEN = 2000

# Wrappers whose content is kept: formatting and text commands.
_KEEP_CONTENT = re.compile(
    r"\\(?:textbf|mathbf|boldsymbol|bm|mathrm|textrm|text|mbox|textit|mathit|emph|"
    r"operatorname|mathsf|textsf|displaystyle|textstyle|hbox)\s*\{"
)
_DROP = [
    (re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|biggl|biggr|bigg|Bigg)(?![a-zA-Z])"), ""),
    (re.compile(r"\\(?:displaystyle|textstyle|limits)(?![a-zA-Z])"), ""),
    (re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree(?![a-zA-Z])"), ""),
    (re.compile(r"\^\s*\{\s*\\prime\s*\}|\^\s*\\prime"), "'"),
    (re.compile(r"(?<!\\)\\!"), ""),
    (re.compile(r"(?<!\\)\\[,;:>]|\\quad|\\qquad|~|(?<!\\)\\ "), " "),
    (re.compile(r"(?<!\\)\\(?=\d)"), ""),  # `\15`: a broken `\$15`
    (re.compile(r"\{,\}"), ","),
    (re.compile(r"\\[dt]frac(?![a-zA-Z])"), r"\\frac"),
    (re.compile(r"\\(?:le|leq|leqslant)(?![a-zA-Z])"), r"\\le "),
    (re.compile(r"\\(?:ge|geq|geqslant)(?![a-zA-Z])"), r"\\ge "),
    (re.compile(r"\\(?:ne|neq)(?![a-zA-Z])"), r"\\ne "),
    (re.compile(r"\\(?:varnothing)(?![a-zA-Z])"), r"\\emptyset "),
    (re.compile(r"\\%|%"), ""),
    (re.compile(r"\\\$|\$"), ""),
    (re.compile(r"\*\*"), ""),
    (re.compile(r"\\\(|\\\)|\\\[|\\\]"), ""),
]
# Trailing plain words (units, "dollars", "square feet", "degrees") after a value, with powers.
_UNITS = re.compile(r"(?<=[\w}).\s])\s*(?:(?<!\\)\b[a-zA-Z]{2,}\.?(?:\s*\^\s*\{?[23]\}?)?\s*(?:/\s*)?)+$")
# "x = 1 or x = 2", "2 and 3": words joining several answers act as commas.
_ALTERNATIVES = re.compile(r"\s+(?:or|and)\s+")
# `4:30 p. m.`: the half-day marker of a clock time, its spaces to be closed up.
_CLOCK_WORDS = re.compile(r"(?<=\d)\s*\b[ap]\.?\s*m\.?$", re.IGNORECASE)
# A space only matters right after a command name (`\\pi r`); every other space is dropped.
_SPACE = re.compile(r"(\\[a-zA-Z]+)?\s+(?=([a-zA-Z])?)")
_SHORT_FRAC = re.compile(r"\\frac\s*(\d)\s*(\d)")
_SHORT_FRAC2 = re.compile(r"\\frac\s*(\{[^{}]*\})\s*(\d)")
_SHORT_SQRT = re.compile(r"\\sqrt\s*(\d)")
_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3})((?:,\d{3})+)(?![\d,]|\.\d*,)")
# Thousands separators no one writes as a list comma: `1{,}024`, `1,\!024`, `1,\! 024`.
_MARKED_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|,\\!\s*)(?=\d{3}(?!\d))")
# `12^{th}`, `3rd`: an ordinal suffix after a number.
_ORDINAL = re.compile(r"(\d)\s*(?:\^\s*)?\{?\s*(st|nd|rd|th)\s*\}?(?![a-zA-Z])")
_ASCII_RELATIONS = [(re.compile(r"!="), r"\\ne "), (re.compile(r"<="), r"\\le "), (re.compile(r">="), r"\\ge ")]
# `(1,3)or(3,1)`: a word joining two bracketed answers without spaces.
_GLUED_ALTERNATIVES = re.compile(r"(?<=[)\]])\s*(?:or|and)\s*(?=[(\[])")
_VULGAR = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5), "⅖": (2, 5),
           "⅗": (3, 5), "⅘": (4, 5), "⅙": (1, 6), "⅚": (5, 6), "⅛": (1, 8), "⅜": (3, 8), "⅝": (5, 8), "⅞": (7, 8)}
_VULGAR_CHAR = re.compile("[" + "".join(_VULGAR) + "]")
# `2.5e-3`, `3E5`: scientific notation written the programming way.
_E_NOTATION = re.compile(r"(?<![\w\\.])(\d+(?:\.\d+)?)[eE]([-+]?\d+)(?![\w.])")
# An exact value followed by its decimal approximation: the exact value is the answer.
_APPROX = re.compile(r"(?<=\S)\s*(?:\\approx|≈).*$", re.DOTALL)
_BARE_PI = re.compile(r"(?<![\\a-zA-Z])pi(?![a-zA-Z])")
# Plain-text and programming notation: `sqrt(2)`, `sqrt 2`, `exp(2)`, `3**(1/3)`.
_BARE_FUNCTION = re.compile(
    r"(?<![\\a-zA-Z])(sqrt(?=\s*[({\d])|(?:arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|sec|csc|cot|exp|ln|log)(?=\s*\())"
)
_POWER_STARS = re.compile(r"(?<=[\w)\]}])\s*\*\*\s*(?=[\w(\[{\\-])")
# `2 1/3`: a whole number, a space and a proper fraction is a mixed number.
_SPACED_MIXED = re.compile(r"(?<![\w.,/{}\\])(\d+)\s+(\d+)\s*/\s*(\d+)(?![\w./])")
# Degrees inside a trigonometric function are an angle: `\cos(90^\circ - x)` is cos(pi/2 - x).
_TRIG = re.compile(r"\\(?:sin|cos|tan|sec|csc|cot)(?![a-zA-Z])")
_DEGREES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°|\\degree(?![a-zA-Z]))")
# `y \approx 3.2`: a name followed by an approximate value states that value.
_NAMED_APPROX = re.compile(r"^(\s*[A-Za-z](?:_\{?\w+\}?)?\s*)(?:\\approx|≈)")
_TIME = re.compile(r"^(\d{1,2}):(\d{2}(?::\d{2})?)(?:\s*([ap])\.?\s*m\.?)?$", re.IGNORECASE)
# Answers given in words, and their usual spellings, mapped to one form.
_WORD_ANSWERS = {
    **dict.fromkeys(["no solution", "no solutions", "no real solutions", "no real solution", "none",
                     "empty set", "the empty set", "\\{\\}", "\\{ \\}"], "\\emptyset"),
    **dict.fromkeys(["all real numbers", "all reals", "all real values", "all real x", "real numbers",
                     "\\mathbb{r}", "\\mathbb r"], "(-\\infty,\\infty)"),
    **dict.fromkeys(["infinity", "infinite", "positive infinity", "+\\infty", "inf"], "\\infty"),
    **dict.fromkeys(["undefined", "does not exist", "dne", "not defined", "no value"], "undefined"),
    **{day[:3]: day for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
    **{"tues": "tuesday", "wed": "wednesday", "thur": "thursday", "thurs": "thursday"},
    **{month[:3]: month for month in ("january", "february", "march", "april", "may", "june", "july",
                                      "august", "september", "october", "november", "december")},
    "sept": "september",
}


def brace_end(text: str, start: int) -> int:
    """Index just past the group opened by text[start] == '{', or -1 when it never closes."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2  # an escaped character such as `\\{` never opens or closes a group
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _unwrap(text: str, pattern: re.Pattern[str]) -> str:
    """Replace every `\\cmd{X}` matched by `pattern` (ending at '{') with ` X` (`5\\text{cm}` is `5 cm`)."""
    for _ in range(50):
        m = pattern.search(text)
        if not m:
            return text
        end = brace_end(text, m.end() - 1)
        if end < 0:
            return text[: m.start()] + text[m.end() :]
        text = text[: m.start()] + " " + text[m.end() : end - 1] + text[end:]
    return text


def strip_box(text: str) -> str:
    """Remove an outer `\\boxed{...}` wrapping the whole string."""
    text = text.strip()
    m = re.match(r"\\(?:boxed|fbox)\s*\{", text)
    if m:
        end = brace_end(text, m.end() - 1)
        if end == len(text):
            return text[m.end() : -1].strip()
    return text


def canonical(text: str) -> str:
    """Decoration-free form of an answer: no $, \\text, units, degrees, %, spacing or \\left."""
    if len(text) > _MAX_LEN:
        return "".join(text.split())  # too long to be an answer: compared verbatim, not cached
    return _canonical(text)


def _merge_thousands(m: re.Match[str]) -> str:
    """`1,234` is a thousand-and-more, except inside a bracket, where a comma separates items."""
    before = m.string[: m.start()]
    if before.count("(") + before.count("[") > before.count(")") + before.count("]"):
        return m.group(0)
    return m.group(1) + m.group(2).replace(",", "")


def _clock(text: str) -> str:
    """`4:30 p.m.` as `16:30` and `09:15` as `9:15`, so a time without a.m./p.m. stays ambiguous."""
    m = _TIME.match(text)
    if not m:
        return text
    hour, minute, half = int(m.group(1)), m.group(2), (m.group(3) or "").lower()
    if half:
        hour = hour % 12 + (12 if half == "p" else 0)
    return f"{hour}:{minute}"


def _ordinal(m: re.Match[str]) -> str:
    """`21st`, `12th`: the number without its suffix; a suffix that does not fit (`3st`) stays."""
    digit, suffix = m.groups()
    teen = m.string[m.start() - 1 : m.start()] == "1"  # 11th, 12th, 13th
    fits = "th" if teen or digit not in "123" else {"1": "st", "2": "nd", "3": "rd"}[digit]
    return digit if suffix == fits else m.group(0)


def _mixed(m: re.Match[str]) -> str:
    whole, num, den = m.groups()
    return f"{whole}\\frac{{{num}}}{{{den}}}" if int(num) < int(den) else m.group(0)


@lru_cache(maxsize=16384)
def _canonical(text: str) -> str:
    text = strip_box(text)
    text = _NAMED_APPROX.sub(r"\1=", text)
    text = _APPROX.sub("", text)
    text = _MARKED_THOUSANDS.sub("", text)
    text = _unwrap(text, _KEEP_CONTENT)
    text = _GLUED_ALTERNATIVES.sub(",", text)
    text = _ALTERNATIVES.sub(",", text)
    text = _BARE_FUNCTION.sub(r"\\\1", text)
    text = _POWER_STARS.sub("^", text)
    if _TRIG.search(text):
        text = _DEGREES.sub(r"(\1\\pi/180)", text)
    for pattern, repl in _DROP:
        text = pattern.sub(repl, text)
    for pattern, repl in _ASCII_RELATIONS:
        text = pattern.sub(repl, text)
    text = _ORDINAL.sub(_ordinal, text)
    text = _VULGAR_CHAR.sub(lambda m: "\\frac{%d}{%d}" % _VULGAR[m.group(0)], text)
    text = _E_NOTATION.sub(r"\1\\times10^{\2}", text)
    text = _BARE_PI.sub(r"\\pi ", text)
    text = _SHORT_FRAC.sub(r"\\frac{\1}{\2}", text)
    text = _SHORT_FRAC2.sub(r"\\frac\1{\2}", text)
    text = _SHORT_SQRT.sub(r"\\sqrt{\1}", text)
    text = _THOUSANDS.sub(_merge_thousands, text)
    text = _SPACED_MIXED.sub(_mixed, text)
    text = " ".join(text.split()).strip().rstrip(".").rstrip("\\ ").strip()
    text = _WORD_ANSWERS.get(text.lower(), text)
    text = _clock(_CLOCK_WORDS.sub(lambda m: m.group(0).replace(" ", ""), text))
    stripped = _UNITS.sub("", text).strip()
    if stripped and re.search(r"[\d}]", stripped):
        text = stripped
    return _SPACE.sub(lambda m: (m.group(1) or "") + (" " if m.group(1) and m.group(2) else ""), text)
