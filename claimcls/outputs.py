"""What ``claimcls predict`` writes: ``jsonl`` (the document shape), ``csv`` (a row per
attribution), ``brat`` (a folder), ``table`` (for people) or ``html`` (one page), through
``OUTPUT.partial`` renamed into place; and the checks of an output location before any work."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import IO

from .atomic import FILE_MODE
from .corpus import BRAT_INDEX, BratWriter, read_brat_index, text_fingerprint
from .errors import ClaimclsError, InputError
from .jsonl import dumps_line, split_lines
from .schema import Document

logger = logging.getLogger(__name__)

CSV_FIELDS = ["id", "sentence", "source", "cue", "content", "target", "kind", "quote", "resolved_source", "score",
              "source_start", "source_end", "cue_start", "cue_end", "content_spans", "target_start", "target_end"]


def csv_rows(doc: Document) -> list[list]:
    rows = []
    for a in doc.attributions:
        rows.append([
            doc.id, doc.sentence_index(a.cue.start), a.source.text if a.source else "", a.cue.text,
            " … ".join(s.text for s in a.content), a.target.text if a.target else "", a.kind, a.quote,
            a.resolved_source or "", a.score if a.score is not None else "",
            a.source.start if a.source else "", a.source.end if a.source else "", a.cue.start, a.cue.end,
            ";".join(f"{s.start}-{s.end}" for s in a.content),
            a.target.start if a.target else "", a.target.end if a.target else "",
        ])
    return rows


def format_table(doc: Document) -> str:
    """Per sentence, who asserted what, readable at a glance."""
    lines = [f"== {doc.id}"]
    by_sent: dict[int, list] = {}
    for a in doc.attributions:
        by_sent.setdefault(doc.sentence_index(a.cue.start), []).append(a)
    if not by_sent:
        lines.append("   (no attributions)")
    for i in sorted(by_sent):
        sent = doc.sentences[i].text if 0 <= i < len(doc.sentences) else ""
        lines.append(f"[{i + 1}] {sent}")
        for a in by_sent[i]:
            who = a.source.text if a.source else "(no source)"
            if a.resolved_source and a.source and a.resolved_source != a.source.text:
                who += f" = {a.resolved_source}"
            what = " … ".join(s.text for s in a.content)
            target = f"  → target: {a.target.text}" if a.target else ""
            lines.append(f"    {a.kind.upper():<10} {who}  «{a.cue.text}»  {what}  ({a.quote}){target}")
    return "\n".join(lines) + "\n"


PARTIAL = ".partial"  # OUT is built as OUT.partial and renamed into place when the run ends


class ResumeMismatch(InputError):
    """``--resume`` over an output written from other input: nothing is written."""


class Writer:
    """Writes documents one at a time in a format, flushing each.

    With an ``output``, the documents go to ``OUTPUT.partial`` and :meth:`finish` renames it
    into place: an existing ``OUTPUT`` is untouched until the run has something to put there,
    and a killed run leaves ``OUTPUT.partial`` for ``--resume``. ``done`` lists the
    ``(id, text fingerprint or None)`` of the documents an earlier run already wrote, in order.
    """

    def __init__(self, fmt: str, output: str | None, resume: bool, *, atomic: bool = True):
        self.fmt, self.output = fmt, output
        self.done: list[tuple[str, str | None]] = []
        self.written = 0
        self.stream: IO[str] | None = None
        self.brat: BratWriter | None = None
        # html is one page for the whole file: the documents are kept and drawn at close
        self.pending: list[Document] | None = [] if fmt == "html" else None
        if fmt == "html" and resume:
            raise InputError("--resume works with --format jsonl, csv or brat, not html; write jsonl, then claimcls view it")
        if output is None:
            if fmt == "brat":
                raise InputError("--format brat writes a folder: give it with --output DIR")
            if resume:
                raise InputError("--resume needs --output: the file an earlier run was writing")
            self.stream = sys.stdout
            self.csv = csv.writer(self.stream) if fmt == "csv" else None
            if self.csv is not None:
                self.csv.writerow(CSV_FIELDS)
            self.target = None
            return
        if resume and fmt == "table":
            raise InputError("--resume works with --format jsonl, csv or brat, not table")
        self.final = Path(output)
        self.target = self.final.with_name(self.final.name + PARTIAL) if atomic else self.final
        self.copied = copied = False
        if atomic and not resume:
            _remove(self.target)  # a stale OUTPUT.partial of an earlier, abandoned run
        elif atomic and not self.target.exists() and self.final.exists():
            _copy(self.final, self.target)  # continue a finished or killed (pre-.partial) output
            self.copied = copied = True
        if resume and self.target.exists():
            try:
                self.done = self._recover(self.target)
            except BaseException:
                if copied:
                    _remove(self.target)
                raise
        if fmt == "brat":
            entries = read_brat_index(self.target) if (self.target / BRAT_INDEX).is_file() else []
            self.brat = BratWriter(self.target, entries)
            return
        append = resume and self.target.exists()
        self.stream = open(self.target, "a" if append else "w", encoding="utf-8", newline="")
        self.csv = csv.writer(self.stream) if fmt == "csv" else None
        if self.csv is not None and not append:
            self.csv.writerow(CSV_FIELDS)

    def _recover(self, path: Path) -> list[tuple[str, str | None]]:
        """Documents already written; a last line cut off by an interruption is removed."""
        def refuse(why: str) -> InputError:
            name = self.output if self.copied else str(path)
            return InputError(f"--resume: {name} {why}; move it away or run without --resume")

        if self.fmt == "brat":
            if not path.is_dir():
                raise refuse("is not a folder")
            if not (path / BRAT_INDEX).is_file():
                if any(path.iterdir()):
                    raise refuse(f"has no {BRAT_INDEX}: it was not written by claimcls predict")
                return []
            try:
                return [(e["id"], e["sha"]) for e in read_brat_index(path)]
            except ClaimclsError as err:
                raise refuse(f"is damaged ({err})") from None
        if not path.is_file():
            raise refuse("is not a file")
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with open(path, "r+b") as f:
                f.truncate(end)
        try:
            text = data[:end].decode("utf-8")
        except UnicodeDecodeError as err:
            raise refuse(f"is not a claimcls output (not UTF-8 at byte {err.start})") from None
        if self.fmt == "jsonl":
            out = []
            for lineno, line in enumerate(split_lines(text), 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    ok = isinstance(obj, dict) and isinstance(obj.get("id"), str) and isinstance(obj.get("text"), str)
                except json.JSONDecodeError:
                    ok = False
                if not ok:
                    raise refuse(f"line {lineno} is not a document claimcls wrote ({line!r:.40})")
                out.append((obj["id"], text_fingerprint(obj["text"])))
            return out
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
        if not rows:
            return []
        if rows[0] != CSV_FIELDS:
            raise refuse(f"is not a claimcls CSV (its first row is {','.join(rows[0])[:40]!r})")
        if len(rows) == 1:
            return []
        # documents are written in order, so only the last one can be incomplete: redo it
        last = rows[-1][0]
        if any(len(r) != len(CSV_FIELDS) for r in rows if r[0] != last):
            raise refuse("has rows of the wrong width; it is not a claimcls CSV or was edited")
        keep = [r for r in rows if r[0] != last or r is rows[0]]
        with open(path, "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(keep)
        ids: list[tuple[str, str | None]] = []
        for r in keep[1:]:
            if not ids or ids[-1][0] != r[0]:
                ids.append((r[0], None))
        return ids

    def write(self, doc: Document) -> None:
        if self.pending is not None:
            self.pending.append(doc)
        elif self.brat is not None:
            self.brat.write(doc)
        elif self.fmt == "jsonl":
            self.stream.write(dumps_line(doc.to_dict()))
        elif self.fmt == "csv":
            rows = csv_rows(doc) or [[doc.id, "", "", "", "", "", "", "", "", ""] + [""] * 7]
            self.csv.writerows(rows)  # a document without attributions still gets a row
        else:
            self.stream.write(format_table(doc))
        if self.stream is not None:
            self.stream.flush()
        self.written += 1

    def close(self) -> None:
        """Close the output, leaving ``OUTPUT.partial`` where it is (for ``--resume``)."""
        if self.pending is not None and self.stream is not None:
            from .html_view import render_html

            self.stream.write(render_html(self.pending, title=Path(self.output).stem if self.output else "claimcls predictions"))
            self.pending = None
        if self.brat is not None:
            self.brat.close()
        if self.stream is not None and self.stream is not sys.stdout:
            self.stream.close()

    def finish(self) -> None:
        """Close and rename ``OUTPUT.partial`` into place (replacing an earlier ``OUTPUT``)."""
        self.close()
        if self.target is None or self.target == self.final:
            return
        if self.brat is not None:
            _replace_dir(self.target, self.final)
        else:
            os.chmod(self.target, FILE_MODE)
            os.replace(self.target, self.final)

    def discard(self) -> None:
        """Close and remove ``OUTPUT.partial``: the user's ``OUTPUT`` stays as it was."""
        self.close()
        if self.target is not None and self.target != self.final:
            _remove(self.target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copyfile(src, dst)


def _replace_dir(src: Path, dst: Path) -> None:
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def probe_writable(folder: Path, what: str) -> None:
    """Create and remove a file in ``folder``: the only sure test (``os.access`` says yes to
    root on /proc and knows nothing of a full disk's quota)."""
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=".claimcls-probe-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        raise InputError(f"{what}: cannot write in {str(folder)!r} ({err.strerror}); choose another location") from None


def check_output(fmt: str, output: str | None, resume: bool) -> None:
    """Refuse an output that cannot be written, before any work: a folder where a file is
    expected (or the reverse), a device or pipe (``/dev/full``), a missing or read-only
    parent folder, or a brat folder claimcls did not write."""
    if output is None:
        return
    path = Path(output)
    if fmt == "brat":
        if path.exists() and not path.is_dir():
            raise InputError(f"--output {output}: exists and is not a folder; --format brat writes a folder")
        if path.is_dir() and any(path.iterdir()) and not (path / BRAT_INDEX).is_file():
            raise InputError(f"--output {output}: the folder is not empty and was not written by claimcls predict; "
                             "give a new or empty folder (nothing was written)")
    elif path.is_dir():
        raise InputError(f"--output {output}: is a folder; give a file name (only --format brat writes a folder)")
    elif path.exists() and not path.is_file():
        raise InputError(f"--output {output}: is not a regular file (a device or pipe); give a file path, or leave "
                         "--output out to write to stdout")
    parent = path.parent
    if not parent.is_dir():
        raise InputError(f"--output {output}: the folder {str(parent)!r} does not exist; create it first")
    probe_writable(parent, f"--output {output}")
    if path.exists() and not os.access(path, os.R_OK):
        raise InputError(f"--output {output}: exists and cannot be read; choose another location")


