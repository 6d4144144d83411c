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
_CLOCK = re.compile(r"\s*\b[ap]\.?\s*m\.?$", re.IGNORECASE)
# A space only matters right after a command name (`\\pi r`); every other space is dropped.
_SPACE = re.compile(r"(\\[a-zA-Z]+)?\s+(?=([a-zA-Z])?)")
_SHORT_FRAC = re.compile(r"\\frac\s*(\d)\s*(\d)")
_SHORT_FRAC2 = re.compile(r"\\frac\s*(\{[^{}]*\})\s*(\d)")
_SHORT_SQRT = re.compile(r"\\sqrt\s*(\d)")
_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3})((?:,\d{3})+)(?![\d,]|\.\d*,)")


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


@lru_cache(maxsize=16384)
def _canonical(text: str) -> str:
    text = strip_box(text)
    text = _unwrap(text, _KEEP_CONTENT)
    text = _ALTERNATIVES.sub(",", text)
    for pattern, repl in _DROP:
        text = pattern.sub(repl, text)
    text = _SHORT_FRAC.sub(r"\\frac{\1}{\2}", text)
    text = _SHORT_FRAC2.sub(r"\\frac\1{\2}", text)
    text = _SHORT_SQRT.sub(r"\\sqrt{\1}", text)
    text = _THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), text)
    text = " ".join(text.split()).strip().rstrip(".").strip()
    stripped = _UNITS.sub("", _CLOCK.sub("", text)).strip()
    if stripped and re.search(r"[\d}]", stripped):
        text = stripped
    return _SPACE.sub(lambda m: (m.group(1) or "") + (" " if m.group(1) and m.group(2) else ""), text)
