"""Names of the files and folders commands write that come from names read in input files.

A task or filter name read from a results file, or the name a replay is filed under, becomes part
of a file name; a name with a path separator or ``..`` in it would put the file outside the folder
the user named. :func:`path_component` makes any such name one plain path component, and refuses
a name that cannot be one.
"""

from __future__ import annotations

import re

# Anything but letters, digits and these marks becomes "_": no separator survives.
_UNSAFE = re.compile(r"[^\w.+=@,-]+")
# Longer names than this are refused: most file systems allow 255 bytes, and a plot's name adds a suffix.
MAX_LENGTH = 200


class UnsafeNameError(ValueError):
    """A name read from an input file that cannot be made one path component; the message says which."""


def path_component(name: str, what: str) -> str:
    """``name`` as one path component: every run of characters other than letters, digits and
    ``. _ - + = @ ,`` becomes ``_``. A name that is then empty or only dots (``.``, ``..``), or
    longer than :data:`MAX_LENGTH`, raises :class:`UnsafeNameError`; ``what`` says where the name
    was read, for the message."""
    safe = _UNSAFE.sub("_", name)
    if not safe.strip("."):
        raise UnsafeNameError(f"{what} {name!r} cannot be a file name; rename it to letters, digits, '_', '-' or '.'")
    if len(safe) > MAX_LENGTH:
        raise UnsafeNameError(f"{what} {name[:40]!r}... is longer than {MAX_LENGTH} characters; give it a shorter name")
    return safe


def is_component(name: str) -> bool:
    """Whether ``name`` names an entry inside a folder: not empty, not only dots, no path separator."""
    return bool(name.strip(".")) and not re.search(r"[/\\\0]", name)
