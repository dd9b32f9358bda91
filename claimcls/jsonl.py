"""JSON Lines as claimcls writes and reads them: one JSON value per ``"\\n"``-ended line.

Lines are split on ``"\\n"`` only. Python's ``str.splitlines`` also splits on U+2028,
U+2029, U+0085 and a few control characters, which ``json.dumps(..., ensure_ascii=False)``
writes raw inside strings; scraped news carries them, and a file split that way no longer
reads back. Writing escapes those three as well (``json.dumps`` already escapes the control
characters), so even a reader that splits with ``splitlines`` gets the lines claimcls wrote.
"""

from __future__ import annotations

import json
from typing import Any

_SEPARATORS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def dumps_line(obj: Any) -> str:
    """``obj`` as one JSON line ending in ``"\\n"``: UTF-8 readable, no raw line separators."""
    return json.dumps(obj, ensure_ascii=False).translate(_SEPARATORS) + "\n"


def split_lines(text: str) -> list[str]:
    """The lines of a JSONL text, split on ``"\\n"`` (a ``"\\r"`` before it is JSON whitespace)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
