"""Reading and writing corpora: native JSONL, and brat standoff (PolNeAR's layout).

Every reader validates what it reads: offsets inside the text, span text equal to the
text at its offsets, a cue and a content in every attribution, known kinds. A problem
raises :class:`~claimcls.errors.CorpusError` naming the file, document, line and offsets.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .errors import CorpusError
from .rules import quote_type
from .schema import KINDS, QUOTES, Attribution, Document, Span
from .sentences import split_sentences

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "brat")


def bundled_path() -> Path:
    """The path of the annotated corpus that ships inside the package."""
    return Path(str(resources.files("claimcls") / "data" / "bundled.jsonl"))


BUNDLED_SPLITS = ("train", "dev", "test")
BUNDLED_TEST_SHARE = 0.1


def bundled_split(doc_id: str, dev_fraction: float = 0.1) -> str:
    """The split of a bundled document: ``"test"`` for about 10% of documents, ``"dev"`` for
    about ``dev_fraction``, else ``"train"``.

    Decided by a hash of the document id alone, so a document keeps its split when others are
    added, and the test split is the same whatever ``dev_fraction`` a config asks for:
    training never sees it.
    """
    u = int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") / 2**64
    if u < BUNDLED_TEST_SHARE:
        return "test"
    return "dev" if u < BUNDLED_TEST_SHARE + dev_fraction else "train"


# --------------------------------------------------------------------------- validation


def _check_span(doc: Document, span: Span, role: str, where: str) -> None:
    n = len(doc.text)
    if not (0 <= span.start < span.end <= n):
        raise CorpusError(
            f"{where}: document {doc.id!r}: {role} span {span.start}-{span.end} is outside the "
            f"text (0-{n}) or empty; offsets are character offsets into the document text"
        )
    actual = doc.text[span.start : span.end]
    if actual != span.text:
        raise CorpusError(
            f"{where}: document {doc.id!r}: {role} span {span.start}-{span.end} says "
            f"{span.text!r:.60} but the text there is {actual!r:.60}; fix the offsets or the span text"
        )


def validate_document(doc: Document, where: str = "<memory>", *, labels: str = "full") -> None:
    """Raise :class:`CorpusError` unless ``doc`` is consistent.

    Args:
        doc: the document to check.
        where: the file and line to name in the error.
        labels: ``"full"`` requires a known kind and quote on every attribution; ``"roles"``
            (corpora such as PolNeAR that label spans only) allows ``kind=None``.
    """
    if not isinstance(doc.id, str) or not doc.id:
        raise CorpusError(f"{where}: a document has no id; give every document a non-empty string id")
    if not isinstance(doc.text, str) or not doc.text.strip():
        raise CorpusError(f"{where}: document {doc.id!r} has an empty text; drop it or give it text")
    for i, sent in enumerate(doc.sentences):
        _check_span(doc, Span(sent.start, sent.end, sent.text), f"sentence {i}", where)
    for i, att in enumerate(doc.attributions):
        here = f"{where}: attribution {i}"
        if att.cue is None:
            raise CorpusError(f"{here}: document {doc.id!r}: the attribution has no cue; every attribution needs one")
        if not att.content:
            raise CorpusError(
                f"{here}: document {doc.id!r}: the attribution with cue {att.cue.text!r} at "
                f"{att.cue.start}-{att.cue.end} has no content; every attribution needs one"
            )
        for role, span in att.spans():
            _check_span(doc, span, role, here)
        if att.kind is None and labels == "roles":
            pass
        elif att.kind not in KINDS:
            raise CorpusError(
                f"{here}: document {doc.id!r}: unknown kind {att.kind!r} (cue {att.cue.text!r} at "
                f"{att.cue.start}); use one of {', '.join(KINDS)}"
            )
        if att.quote not in QUOTES:
            raise CorpusError(
                f"{here}: document {doc.id!r}: unknown quote {att.quote!r}; use one of {', '.join(QUOTES)}"
            )


def with_sentences(doc: Document) -> Document:
    """``doc`` with sentences filled in by :func:`split_sentences` when it has none."""
    return doc if doc.sentences else replace(doc, sentences=split_sentences(doc.text))


# --------------------------------------------------------------------------- JSONL


def _read_text(path: Path) -> str:
    try:
        # newline="" keeps "\r\n" as it is: offsets index the file's exact characters
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except UnicodeDecodeError as err:
        raise CorpusError(
            f"{path}: not UTF-8 (byte {err.start} is {err.object[err.start:err.start + 1]!r}); "
            "re-encode the file as UTF-8"
        ) from None
    except OSError as err:
        raise CorpusError(f"{path}: cannot read: {err.strerror}") from None


def iter_jsonl(path: str | os.PathLike, *, labels: str = "full") -> Iterator[Document]:
    """Yield validated documents from a JSONL file, one JSON object per line."""
    path = Path(path)
    text = _read_text(path)
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(f"{where}: not valid JSON ({err.msg} at column {err.colno}); each line must be one JSON document") from None
        try:
            doc = Document.from_dict(data)
        except (KeyError, TypeError, ValueError) as err:
            raise CorpusError(f"{where}: {err.args[0] if err.args else err}") from None
        validate_document(doc, where, labels=labels)
        if doc.id in seen:
            raise CorpusError(f"{where}: document id {doc.id!r} appears twice; ids must be unique")
        seen.add(doc.id)
        yield with_sentences(doc)


def write_jsonl(docs: Iterable[Document], path: str | os.PathLike) -> int:
    """Write documents as JSONL; returns how many were written."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


# --------------------------------------------------------------------------- brat

_ANN_LINE = re.compile(r"^([TEARMN#*]\d*)\t")
_BRAT_ROLES = {"Source": "source", "Cue": "cue", "Content": "content", "Target": "target"}


def _parse_ann(path: Path, text: str, doc_id: str, on_invalid: str, report: dict) -> list[Attribution]:
    """Attributions of one brat ``.ann`` file over ``text``."""
    raw = _read_text(path)
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
        candidates = sorted(ann_dir.glob(f"{glob_escape(txt.stem)}*.ann"))
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


def glob_escape(name: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", name)


def iter_brat(folder: str | os.PathLike, *, annotator: str | None = None, on_invalid: str = "raise", labels: str = "roles") -> Iterator[Document]:
    """Yield documents of a brat folder (one annotator per article: the first ``.ann`` in
    sorted order unless ``annotator`` names one)."""
    report: dict = {}
    for txt, ann in _brat_pairs(Path(folder), annotator):
        text = _read_text(txt)
        atts = _parse_ann(ann, text, txt.stem, on_invalid, report)
        atts.sort(key=lambda a: (a.cue.start, a.cue.end))
        doc = Document(txt.stem, text, split_sentences(text), tuple(atts))
        if not text.strip():
            raise CorpusError(f"{txt}: document {txt.stem!r} has an empty text; remove it or give it text")
        validate_document(doc, str(ann), labels=labels)
        yield doc
    if report.get("skipped"):
        logger.warning(
            "%s: skipped %d attributions without a cue or content, e.g. %s",
            folder, len(report["skipped"]), "; ".join(report["skipped"][:3]),
        )
    if report.get("covering"):
        logger.info("%s: %d discontinuous sources or cues read as their full extent", folder, report["covering"])


def write_brat(docs: Iterable[Document], folder: str | os.PathLike) -> int:
    """Write documents as brat standoff (``ID.txt`` + ``ID.ann`` side by side) with an
    ``annotation.conf``, so predictions can be corrected in brat and read back losslessly."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "annotation.conf").write_text(_BRAT_CONF, encoding="utf-8")
    n = 0
    for doc in docs:
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
        safe = re.sub(r"[^\w.\-]", "_", doc.id)
        (folder / f"{safe}.txt").write_text(doc.text, encoding="utf-8")
        (folder / f"{safe}.ann").write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
        n += 1
    return n


_BRAT_CONF = """[entities]
Source
Cue
Content
Target

[relations]

[events]
Attribution\tSource:Source, Cue:Cue, Content+:Content, Target?:Target
Attribution-no-source\tCue:Cue, Content+:Content, Target?:Target

[attributes]
Kind\tArg:<EVENT>, Value:statement|belief|accusation|denial|criticism|support|appeal|warning|promise
Quote\tArg:<EVENT>, Value:direct|indirect|mixed
"""


# --------------------------------------------------------------------------- entry points


def _guess_format(path: Path) -> str:
    if path.suffix in (".jsonl", ".json"):
        return "jsonl"
    if path.is_dir():
        return "brat"
    raise CorpusError(f"{path}: cannot tell the format from the name; pass format='jsonl' or format='brat'")


def _resolve_brat_folder(path: Path, split: str | None) -> Path:
    """The folder holding text/attributions (or flat brat files) for ``split``."""
    for base in (path, path / "data"):
        if split is not None and (base / split).is_dir():
            return base / split
    if split is not None:
        raise CorpusError(f"{path}: no split folder {split!r} (looked in {path} and {path / 'data'})")
    splits = sorted(p.name for p in (path / "data" if (path / "data").is_dir() else path).iterdir()
                    if p.is_dir() and ((p / "text").is_dir() or any(p.glob("*.txt"))))
    if splits and not any(path.glob("*.txt")) and not (path / "text").is_dir():
        raise CorpusError(f"{path}: holds several splits ({', '.join(splits)}); pass split=NAME")
    return path


def read_corpus(
    source: str | os.PathLike,
    format: str | None = None,
    split: str | None = None,
    *,
    annotator: str | None = None,
    on_invalid: str = "raise",
) -> list[Document]:
    """Read a corpus into documents.

    Args:
        source: a JSONL file, a brat folder (PolNeAR's root, one of its splits, or a flat
            brat folder), ``"bundled"`` for the corpus that ships with claimcls, or a
            ``datasets.Dataset`` in the shape :func:`claimcls.to_dataset` writes.
        format: ``"jsonl"`` or ``"brat"``; guessed from the path when ``None``.
        split: for a corpus folder with splits (``data/train``, ``data/dev``), which one;
            for ``"bundled"``, ``"train"``, ``"dev"`` or ``"test"`` (see :func:`bundled_split`;
            ``None`` gives every document).
        annotator: brat only: read this annotator's files (default: the first ``.ann`` in
            sorted order for each article).
        on_invalid: ``"raise"`` (default) or ``"skip"``: what to do with a brat attribution
            that lacks a cue or content. Skipped ones are counted in one warning.

    Returns:
        The documents, with sentences.

    Raises:
        CorpusError: for any malformed file, naming the file, document, line and offsets.

    Example:
        >>> docs = read_corpus("bundled")
        >>> docs[0].attributions[0].cue.text  # doctest: +SKIP
        'said'
    """
    if on_invalid not in ("raise", "skip"):
        raise ValueError(f"on_invalid must be 'raise' or 'skip', got {on_invalid!r}")
    from .hf_datasets import from_dataset, is_dataset

    if is_dataset(source):
        return from_dataset(source)
    if isinstance(source, str) and source == "bundled":
        docs = list(iter_jsonl(bundled_path()))
        if split is None:
            return docs
        if split not in BUNDLED_SPLITS:
            raise ValueError(f"the bundled corpus has splits {', '.join(BUNDLED_SPLITS)}; got split={split!r}")
        return [d for d in docs if bundled_split(d.id) == split]
    path = Path(source)
    if not path.exists():
        raise CorpusError(f"{path}: no such file or folder")
    format = format or _guess_format(path)
    if format == "jsonl":
        return list(iter_jsonl(path))
    if format == "brat":
        return list(iter_brat(_resolve_brat_folder(path, split), annotator=annotator, on_invalid=on_invalid))
    raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")


def write_corpus(docs: Iterable[Document], path: str | os.PathLike, format: str = "jsonl") -> int:
    """Write documents as ``jsonl`` (a file) or ``brat`` (a folder). Returns the count."""
    if format == "jsonl":
        return write_jsonl(docs, path)
    if format == "brat":
        return write_brat(docs, path)
    raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
