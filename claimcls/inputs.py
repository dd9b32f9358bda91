"""What ``claimcls predict`` reads: ``.txt`` files (one document each, id = the file name
without extension), JSONL files of ``{"id", "text"}`` lines, Parquet or Arrow files with
``id`` and ``text`` columns, or stdin (JSONL lines, or else one plain-text document)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .corpus import is_jsonl_path
from .errors import InputError
from .schema import check_text

logger = logging.getLogger(__name__)

INPUT_FORMATS = ("auto", "jsonl", "text")


class InputReport:
    """What reading the inputs skipped (``--skip-invalid``)."""

    def __init__(self, skip_invalid: bool):
        self.skip_invalid = skip_invalid
        self.skipped: list[str] = []

    def bad(self, message: str) -> None:
        if not self.skip_invalid:
            raise InputError(message)
        self.skipped.append(message)


def _jsonl_record(line: str, where: str) -> tuple[str, str]:
    """``(id, text)`` of one JSONL input line, or :class:`InputError`."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise InputError(f"{where}: not valid JSON ({err.msg} at column {err.colno}); each line must be "
                         '{"id": ..., "text": ...}') from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        got = type(obj).__name__ if not isinstance(obj, dict) else f"text {obj.get('text')!r:.30}"
        raise InputError(f'{where}: each line must be a JSON object with a string "text" (and an "id"), got {got}')
    doc_id = obj.get("id", where)
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)) or doc_id == "":
        raise InputError(f"{where}: \"id\" must be a non-empty string or an integer, got {doc_id!r:.40}; "
                         "give every line its own id, or leave \"id\" out to use FILE:LINE")
    check_text(obj["text"], where)
    return str(doc_id), obj["text"]


def _jsonl_items(lines, name: str, report: InputReport, first_lineno: int = 1) -> Iterator[tuple[str, str]]:
    for lineno, line in enumerate(lines, first_lineno):
        if not line.strip():
            continue
        try:
            yield _jsonl_record(line, f"{name}:{lineno}")
        except InputError as err:
            report.bad(str(err))


def _looks_like_jsonl(line: str) -> bool:
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    return isinstance(obj, dict) and isinstance(obj.get("text"), str)


def _stdin_items(stream: IO[str], input_format: str, report: InputReport) -> Iterator[tuple[str, str]]:
    head: list[str] = []
    for line in stream:  # the first line with something on it decides (auto)
        head.append(line)
        if line.strip():
            break
    first = head[-1] if head else ""
    jsonl = input_format == "jsonl" or (input_format == "auto" and _looks_like_jsonl(first))
    if input_format == "auto" and not jsonl and first.lstrip().startswith("{"):
        logger.warning("stdin: the first line starts with '{' but is not a JSON object with a \"text\"; reading stdin "
                       "as one plain-text document (pass --input-format jsonl to read it as JSONL)")
    if jsonl:
        yield from _jsonl_items(_chain(head, stream), "<stdin>", report)
        return
    text = "".join(head) + stream.read()
    if text.strip():
        check_text(text, "<stdin>")
        yield "stdin", text


def iter_inputs(paths: list[str], stdin: IO[str] | None = None, *, input_format: str = "auto",
                report: InputReport | None = None) -> Iterator[tuple[str, str]]:
    """``(id, text)`` of every input document, in order, read lazily.

    Files named ``*.jsonl``, ``*.ndjson`` or ``*.json`` (any case) are JSONL, others one
    plain-text document each (id = the name without extension); ``input_format`` overrides
    that. Stdin is JSONL when its first line is a JSON object with a ``"text"``.
    A malformed line raises :class:`InputError` where it is met (or, with a report that
    skips, is counted and skipped).
    """
    report = report or InputReport(False)
    if not paths or paths == ["-"]:
        stream = stdin or sys.stdin
        try:
            yield from _stdin_items(stream, input_format, report)
        except UnicodeDecodeError as err:
            raise InputError(f"<stdin>: not UTF-8 (byte {err.object[err.start:err.start + 1]!r}); "
                             "re-encode it, e.g. iconv -f latin1 -t utf-8") from None
        return
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise InputError(f"input {p!r} does not exist or is not a file")
        if path.suffix.lower() in (".parquet", ".arrow"):  # columns id, text (claimcls.hf_datasets)
            from .hf_datasets import iter_table_items

            yield from iter_table_items(path)
            continue
        jsonl = input_format == "jsonl" or (input_format == "auto" and is_jsonl_path(path))
        try:
            if jsonl:
                with open(path, encoding="utf-8", newline="") as f:
                    # split on "\n" only: U+2028 and friends inside a text are not line ends
                    yield from _jsonl_items(_read_lines(f), str(path), report)
            else:
                with open(path, encoding="utf-8", newline="") as f:
                    text = f.read()
                try:
                    check_text(text, str(path))
                except InputError as err:
                    report.bad(str(err))
                    continue
                yield path.stem, text
        except UnicodeDecodeError as err:
            raise InputError(f"input {p}: not UTF-8 (byte {err.start}); re-encode it as UTF-8") from None
        except OSError as err:
            raise InputError(f"input {p}: cannot read it ({err.strerror})") from None


def _read_lines(f: IO[str]) -> Iterator[str]:
    """Lines of a text file opened with ``newline=""``, split on ``"\n"`` only (iterating
    such a file splits on "\r" too)."""
    rest = ""
    while True:
        block = f.read(1 << 16)
        if not block:
            break
        parts = (rest + block).split("\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def _chain(first, rest):
    yield from first
    yield from rest


