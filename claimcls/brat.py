"""brat standoff (PolNeAR's layout): ``.txt``/``.ann`` pairs read, and written with an ``index.jsonl``."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .atomic import atomic_dir, write_atomic
from .errors import CorpusError
from .jsonl import dumps_line, split_lines
from .rules import quote_type
from .schema import KINDS, QUOTES, Attribution, Document, Span, check_text
from .sentences import split_sentences
from .validation import read_text, text_fingerprint, validate_document

logger = logging.getLogger(__name__)

_ANN_LINE = re.compile(r"^([TEARMN#*]\d*)\t")
_BRAT_ROLES = {"Source": "source", "Cue": "cue", "Content": "content", "Target": "target"}


def _parse_ann(path: Path, text: str, doc_id: str, on_invalid: str, report: dict) -> list[Attribution]:
    """Attributions of one brat ``.ann`` file over ``text``."""
    raw = read_text(path)
    lines: list[tuple[int, str]] = []
    for lineno, line in enumerate(raw.split("\n"), 1):
        if _ANN_LINE.match(line) or not lines:
            lines.append((lineno, line))
        else:  # a span text with a newline in it continues on the next line
            prev_no, prev = lines[-1]
            lines[-1] = (prev_no, prev + "\n" + line)
    spans: dict[str, tuple[str, list[Span], int]] = {}
    events: list[tuple[int, str, dict[str, list[str]]]] = []
    kinds: dict[str, str] = {}
    notes: dict[str, str] = {}
    for lineno, line in lines:
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        if not _ANN_LINE.match(line):
            raise CorpusError(
                f"{where}: document {doc_id!r}: {line!r:.60} is not a brat annotation line (expected an id such as "
                "T1, E1, A1 or #1, a tab, then the annotation); is this file a brat .ann file?"
            )
        parts = line.split("\t")
        ident = parts[0]
        if ident.startswith("T"):
            if len(parts) < 3:
                raise CorpusError(f"{where}: document {doc_id!r}: malformed text-bound line {line!r:.80}")
            label, _, offsets = parts[1].partition(" ")
            frags: list[Span] = []
            for frag in offsets.split(";"):
                try:
                    start, end = (int(x) for x in frag.split())
                except ValueError:
                    raise CorpusError(f"{where}: document {doc_id!r}: bad offsets {offsets!r}; expected 'START END[;START END]'") from None
                if not (0 <= start <= end <= len(text)):
                    raise CorpusError(
                        f"{where}: document {doc_id!r}: {label} span {start}-{end} is outside the text (0-{len(text)})"
                    )
                frags.append(Span.of(text, start, end))
            joined_space = " ".join(f.text for f in frags)
            joined_nl = "\n".join(f.text for f in frags)
            given = "\t".join(parts[2:]).rstrip("\n")  # blank lines after it are not part of it
            if given not in (joined_space, joined_nl):
                raise CorpusError(
                    f"{where}: document {doc_id!r}: {label} span {offsets} says {given!r:.60} but the "
                    f"text there is {joined_space!r:.60}; the .ann does not belong to this .txt, or its offsets are wrong"
                )
            spans[ident] = (label, frags, lineno)
        elif ident.startswith("E"):
            roles: dict[str, list[str]] = {}
            fields = parts[1].split() if len(parts) > 1 else []
            for i, arg in enumerate(fields):
                role, _, ref = arg.partition(":")
                if i == 0:
                    continue  # the event type and its trigger (the cue again)
                roles.setdefault(re.sub(r"\d+$", "", role), []).append(ref)
            events.append((lineno, ident, roles))
        elif ident.startswith("A") and len(parts) > 1:
            fields = parts[1].split()
            if len(fields) == 3 and fields[0] in ("Kind", "Quote"):
                kinds[f"{fields[0]}:{fields[1]}"] = fields[2]
        elif ident.startswith("#") and len(parts) > 2:
            kind, _, ref = parts[1].partition(" ")
            if kind == "AnnotatorNotes":
                notes[ref] = parts[2]
    out: list[Attribution] = []
    for lineno, ident, roles in events:
        where = f"{path}:{lineno}"

        def get(role: str) -> list[Span]:
            frags: list[Span] = []
            for ref in roles.get(role, []):
                if ref not in spans:
                    raise CorpusError(f"{where}: document {doc_id!r}: event {ident} refers to {ref}, which is not defined")
                frags.extend(spans[ref][1])
            return sorted(frags, key=lambda s: s.start)

        def one(role: str) -> Span | None:
            frags = get(role)
            if not frags:
                return None
            if len(frags) > 1:  # a discontinuous source or cue keeps its full extent
                report["covering"] = report.get("covering", 0) + 1
                return Span.of(text, frags[0].start, frags[-1].end)
            return frags[0]

        cue = one("Cue")
        content = tuple(get("Content"))
        if cue is None or not content:
            missing = "cue" if cue is None else "content"
            msg = f"{where}: document {doc_id!r}: attribution {ident} has no {missing}"
            if on_invalid == "raise":
                raise CorpusError(msg + "; every attribution needs a cue and a content (pass on_invalid='skip' to skip such attributions with a report)")
            report.setdefault("skipped", []).append(msg)
            continue
        source = one("Source")
        target = one("Target")
        kind = kinds.get(f"Kind:{ident}")
        quote = kinds.get(f"Quote:{ident}") or quote_type(content)
        resolved = None
        if source is not None:
            src_ref = roles["Source"][0]
            resolved = notes.get(src_ref) or source.text
        score = None
        if ident in notes and notes[ident].startswith("score="):
            score = float(notes[ident][6:])
        out.append(Attribution(cue, content, source, target, kind, quote, resolved, score))
    return out


def _brat_pairs(folder: Path, annotator: str | None) -> list[tuple[Path, Path]]:
    """``(txt, ann)`` pairs of a brat folder: PolNeAR layout or brat's flat layout."""
    if (folder / "text").is_dir() and (folder / "attributions").is_dir():
        txt_dir, ann_dir = folder / "text", folder / "attributions"
    else:
        txt_dir = ann_dir = folder
    pairs = []
    for txt in sorted(txt_dir.glob("*.txt")):
        stem = re.sub(r"([\[\]*?])", r"[\1]", txt.stem)  # glob's special characters, escaped
        candidates = sorted(ann_dir.glob(f"{stem}*.ann"))
        candidates = [a for a in candidates if a.stem == txt.stem or a.stem.rsplit("_", 1)[0] == txt.stem]
        if annotator is not None:
            candidates = [a for a in candidates if a.stem.rsplit("_", 1)[-1] == annotator]
        if not candidates:
            raise CorpusError(
                f"{txt}: no annotation file for it in {ann_dir} (expected {txt.stem}.ann or {txt.stem}_<annotator>.ann)"
            )
        pairs.append((txt, candidates[0]))
    if not pairs:
        raise CorpusError(f"{folder}: no .txt files found; a brat folder holds NAME.txt with NAME.ann, or text/ and attributions/")
    return pairs


def iter_brat(folder: str | os.PathLike, *, annotator: str | None = None, on_invalid: str = "raise", labels: str = "roles") -> Iterator[Document]:
    """Yield documents of a brat folder (one annotator per article: the first ``.ann`` in
    sorted order unless ``annotator`` names one)."""
    report: dict = {}
    # a folder claimcls wrote maps its file names back to the documents' ids
    ids = {e["file"]: e["id"] for e in read_brat_index(folder)} if (Path(folder) / BRAT_INDEX).is_file() else {}
    for txt, ann in _brat_pairs(Path(folder), annotator):
        text = read_text(txt)
        doc_id = ids.get(txt.stem, txt.stem)
        atts = _parse_ann(ann, text, doc_id, on_invalid, report)
        atts.sort(key=lambda a: (a.cue.start, a.cue.end))
        doc = Document(doc_id, text, split_sentences(text), tuple(atts))
        if not text.strip():
            raise CorpusError(f"{txt}: document {doc_id!r} has an empty text; remove it or give it text")
        validate_document(doc, str(ann), labels=labels)
        yield doc
    if report.get("skipped"):
        logger.warning(
            "%s: skipped %d attributions without a cue or content, e.g. %s",
            folder, len(report["skipped"]), "; ".join(report["skipped"][:3]),
        )
    if report.get("covering"):
        logger.info("%s: %d discontinuous sources or cues read as their full extent", folder, report["covering"])


BRAT_INDEX = "index.jsonl"  # id -> file name, one {"id", "file", "sha"} per line, in writing order
_MAX_NAME_BYTES = 100  # file names stay far below the 255-byte limit of common file systems


def brat_name(doc_id: str, taken: set[str]) -> str:
    """The file name (without extension) of a document in a brat folder.

    A plain id (letters, digits, ``_ . -``, not starting with a dot, short) is its own name;
    any other id gets a cleaned, bounded prefix and a hash of the id, so "a/b" and "a_b" or
    two 300-character ids sharing a prefix never collide. ``taken`` holds the names in use,
    in lower case (case-insensitive file systems), and receives the new one.
    """
    safe = re.sub(r"[^\w.\-]", "_", doc_id).lstrip(".")
    safe = safe.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", "ignore")
    digest = hashlib.sha256(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    if safe != doc_id or not safe:
        safe = f"{safe or 'doc'}-{digest}"
    if safe.lower() in taken:  # "Doc" after "doc", or an id that looks like a hashed name
        safe = f"{safe}-{digest}"
    taken.add(safe.lower())
    return safe


def _ann_lines(doc: Document) -> list[str]:
    lines: list[str] = []
    t = e = a = note = 0

    def span_line(label: str, frags: Sequence[Span]) -> str:
        nonlocal t
        t += 1
        offsets = ";".join(f"{s.start} {s.end}" for s in frags)
        lines.append(f"T{t}\t{label} {offsets}\t{' '.join(s.text for s in frags)}")
        return f"T{t}"

    for att in doc.attributions:
        args = []
        trigger = span_line("Attribution" if att.source else "Attribution-no-source", [att.cue])
        if att.source:
            src = span_line("Source", [att.source])
            args.append(f"Source:{src}")
            if att.resolved_source is not None:
                note += 1
                lines.append(f"#{note}\tAnnotatorNotes {src}\t{att.resolved_source}")
        args.append(f"Cue:{span_line('Cue', [att.cue])}")
        args.append(f"Content:{span_line('Content', att.content)}")
        if att.target:
            args.append(f"Target:{span_line('Target', [att.target])}")
        e += 1
        kind = "Attribution" if att.source else "Attribution-no-source"
        lines.append(f"E{e}\t{kind}:{trigger} {' '.join(args)}")
        if att.kind is not None:
            a += 1
            lines.append(f"A{a}\tKind E{e} {att.kind}")
        a += 1
        lines.append(f"A{a}\tQuote E{e} {att.quote}")
        if att.score is not None:
            note += 1
            lines.append(f"#{note}\tAnnotatorNotes E{e}\tscore={att.score:.4f}")
    return lines


class BratWriter:
    """Writes documents one by one into a brat folder: ``NAME.txt`` + ``NAME.ann`` (each file
    written whole under a temporary name, then renamed), ``annotation.conf``, and
    ``index.jsonl``, whose line for a document is written last (a document is in the folder
    once its index line is)."""

    def __init__(self, folder: str | os.PathLike, entries: Sequence[dict] = ()):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / "annotation.conf", _BRAT_CONF)
        self.taken = {e["file"].lower() for e in entries}
        self.ids = {e["id"] for e in entries}
        self.index = open(self.folder / BRAT_INDEX, "a", encoding="utf-8", newline="")

    def write(self, doc: Document) -> str:
        check_text(doc.text, f"document {doc.id!r}")
        if doc.id in self.ids:
            raise CorpusError(f"document id {doc.id!r} appears twice; a brat folder holds one .txt/.ann pair per id: "
                              "make ids unique")
        self.ids.add(doc.id)
        name = brat_name(doc.id, self.taken)
        lines = _ann_lines(doc)
        write_atomic(self.folder / f"{name}.txt", doc.text)
        write_atomic(self.folder / f"{name}.ann", "\n".join(lines) + ("\n" if lines else ""))
        self.index.write(dumps_line({"id": doc.id, "file": name, "sha": text_fingerprint(doc.text)}))
        self.index.flush()
        return name

    def close(self) -> None:
        self.index.close()


def read_brat_index(folder: str | os.PathLike) -> list[dict]:
    """The entries of a brat folder's ``index.jsonl`` whose files are all there, in order; a
    last line cut off by an interruption is left out."""
    path = Path(folder) / BRAT_INDEX
    text = read_text(path)
    out = []
    lines = split_lines(text)
    for lineno, line in enumerate(lines, 1):
        last_cut = lineno == len(lines) and not text.endswith("\n")
        try:
            entry = json.loads(line)
            ok = isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("id", "file", "sha"))
        except json.JSONDecodeError:
            ok = False
        if not ok:
            if last_cut:
                break
            raise CorpusError(f"{path}:{lineno}: not an index line claimcls wrote ({line!r:.60}); the folder was edited or damaged")
        if not ((Path(folder) / f"{entry['file']}.txt").is_file() and (Path(folder) / f"{entry['file']}.ann").is_file()):
            raise CorpusError(f"{path}:{lineno}: {entry['file']}.txt or .ann is missing; the folder was edited or damaged")
        out.append(entry)
    return out


def write_brat(docs: Iterable[Document], folder: str | os.PathLike) -> int:
    """Write documents as brat standoff (``NAME.txt`` + ``NAME.ann`` side by side, see
    :func:`brat_name`) with an ``annotation.conf`` and an ``index.jsonl`` mapping ids to file
    names, so predictions can be corrected in brat and read back losslessly.

    The folder is built under a temporary name and renamed into place when complete. An
    existing folder is replaced only if claimcls wrote it (it has ``index.jsonl``) or it is
    empty; any other is refused, so no one's files are deleted.
    """
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise CorpusError(f"{folder}: exists and is not a folder; brat output is a folder: choose another path")
        if any(folder.iterdir()) and not (folder / BRAT_INDEX).is_file():
            raise CorpusError(f"{folder}: the folder is not empty and was not written by claimcls; "
                              "choose a new folder (nothing was written)")
    n = 0
    with atomic_dir(folder) as tmp:
        writer = BratWriter(tmp)
        try:
            for doc in docs:
                writer.write(doc)
                n += 1
        finally:
            writer.close()
    return n


_BRAT_CONF = f"""[entities]
Source
Cue
Content
Target

[relations]

[events]
Attribution\tSource:Source, Cue:Cue, Content+:Content, Target?:Target
Attribution-no-source\tCue:Cue, Content+:Content, Target?:Target

[attributes]
Kind\tArg:<EVENT>, Value:{'|'.join(KINDS)}
Quote\tArg:<EVENT>, Value:{'|'.join(QUOTES)}
"""


