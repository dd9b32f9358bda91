"""``claimcls predict``: read inputs, stream them through a model, write results as they come.

Inputs are ``.txt`` files (one document each, id = the file name without extension),
JSONL files of ``{"id", "text"}`` lines, Parquet or Arrow files with ``id`` and ``text``
columns, or stdin (JSONL lines, or else one plain-text
document). Output formats: ``jsonl`` (the document shape), ``csv`` (a row per
attribution), ``brat`` (a folder) and ``table`` (for people). ``--resume`` skips the
documents an earlier, interrupted run already wrote to ``--output``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import ClaimclsError
from .schema import Document


# --------------------------------------------------------------------------- inputs


def _jsonl_items(lines, name: str) -> Iterator[tuple[str, str]]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise ClaimclsError(f"{name}:{lineno}: not valid JSON ({err.msg}); each line must be {{\"id\": ..., \"text\": ...}}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise ClaimclsError(f"{name}:{lineno}: each line must be a JSON object with a string \"text\" (and an \"id\")")
        yield str(obj.get("id", f"{name}:{lineno}")), obj["text"]


def iter_inputs(paths: list[str], stdin: IO[str] | None = None) -> Iterator[tuple[str, str]]:
    """``(id, text)`` of every input document, in order, read lazily."""
    if not paths or paths == ["-"]:
        stream = stdin or sys.stdin
        first = stream.readline()
        if first.lstrip().startswith("{"):
            yield from _jsonl_items(_chain([first], stream), "<stdin>")
        else:
            text = first + stream.read()
            if text.strip():
                yield "stdin", text
        return
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise ClaimclsError(f"input {p!r} does not exist or is not a file")
        if path.suffix in (".parquet", ".arrow"):  # columns id, text (claimcls.hf_datasets)
            from .hf_datasets import iter_table_items

            yield from iter_table_items(path)
            continue
        try:
            if path.suffix in (".jsonl", ".json"):
                with open(path, encoding="utf-8") as f:
                    yield from _jsonl_items(f, str(path))
            else:
                with open(path, encoding="utf-8", newline="") as f:
                    yield path.stem, f.read()
        except UnicodeDecodeError as err:
            raise ClaimclsError(f"input {p}: not UTF-8 (byte {err.start}); re-encode it as UTF-8") from None
        except OSError as err:
            raise ClaimclsError(f"input {p}: cannot read it ({err.strerror})") from None


def _chain(first, rest):
    yield from first
    yield from rest


# --------------------------------------------------------------------------- outputs

CSV_FIELDS = ["id", "sentence", "source", "cue", "content", "target", "kind", "quote", "resolved_source", "score",
              "source_start", "source_end", "cue_start", "cue_end", "content_spans", "target_start", "target_end"]


def _sentence_index(doc: Document, pos: int) -> int:
    for i, s in enumerate(doc.sentences):
        if s.start <= pos < s.end:
            return i
    return -1


def csv_rows(doc: Document) -> list[list]:
    rows = []
    for a in doc.attributions:
        rows.append([
            doc.id, _sentence_index(doc, a.cue.start), a.source.text if a.source else "", a.cue.text,
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
        by_sent.setdefault(_sentence_index(doc, a.cue.start), []).append(a)
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


class Writer:
    """Writes documents one at a time in a format, flushing each so a killed run loses at
    most the document being written."""

    def __init__(self, fmt: str, output: str | None, resume: bool):
        self.fmt, self.output = fmt, output
        self.done: set[str] = set()
        if fmt == "html":  # one page for the whole file: written at close (claimcls.html_view)
            if resume:
                raise ClaimclsError("--resume works with --format jsonl, csv or brat, not html; write jsonl, then claimcls view it")
            self.docs: list[Document] = []
            return
        if fmt == "brat":
            if not output:
                raise ClaimclsError("--format brat writes a folder: give it with --output DIR")
            Path(output).mkdir(parents=True, exist_ok=True)
            if resume:
                self.done = {p.stem for p in Path(output).glob("*.ann")}
            return
        if resume:
            if not output:
                raise ClaimclsError("--resume needs --output: the file an earlier run was writing")
            if fmt == "table":
                raise ClaimclsError("--resume works with --format jsonl, csv or brat, not table")
            self.done = self._recover(Path(output)) if Path(output).exists() else set()
        mode = "a" if resume and output and Path(output).exists() else "w"
        self.stream: IO[str] = open(output, mode, encoding="utf-8", newline="") if output else sys.stdout
        self.csv = csv.writer(self.stream) if fmt == "csv" else None
        if self.csv is not None and mode == "w":
            self.csv.writerow(CSV_FIELDS)

    def _recover(self, path: Path) -> set[str]:
        """Ids already written; a last line cut off by the interruption is removed."""
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with open(path, "r+b") as f:
                f.truncate(end)
        text = data[:end].decode("utf-8")
        if self.fmt == "jsonl":
            return {json.loads(line)["id"] for line in text.splitlines() if line.strip()}
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
        if len(rows) <= 1:
            return set()
        # documents are written in order, so only the last one can be incomplete: redo it
        last = rows[-1][0]
        keep = [r for r in rows if r[0] != last or r is rows[0]]
        with open(path, "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(keep)
        return {r[0] for r in keep[1:]}

    def write(self, doc: Document) -> None:
        if self.fmt == "html":
            self.docs.append(doc)
            return
        if self.fmt == "brat":
            from .corpus import write_brat

            write_brat([doc], self.output)
            return
        if self.fmt == "jsonl":
            self.stream.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            rows = csv_rows(doc) or [[doc.id, "", "", "", "", "", "", "", "", ""] + [""] * 7]
            self.csv.writerows(rows)  # a document without attributions still gets a row
        else:
            self.stream.write(format_table(doc))
        self.stream.flush()

    def close(self) -> None:
        if self.fmt == "html":
            from .html_view import render_html

            page = render_html(self.docs, title=Path(self.output).stem if self.output else "claimcls predictions")
            if self.output:
                Path(self.output).write_text(page, encoding="utf-8")
            else:
                sys.stdout.write(page)
            return
        if self.fmt != "brat" and self.stream is not sys.stdout:
            self.stream.close()


# --------------------------------------------------------------------------- the command


def run_predict(args) -> int:
    from .inference import load

    if not Path(args.model).is_dir():
        raise ClaimclsError(f"model folder {args.model!r} does not exist; train one with scripts/train.py or pass --model DIR")
    if args.batch_size < 1:
        raise ClaimclsError(f"--batch-size must be 1 or more, got {args.batch_size}")
    rank, world = _process()
    items = iter_inputs(args.inputs)
    writer_output = args.output
    if world > 1:
        if not args.output or args.format == "brat":
            raise ClaimclsError("under accelerate launch, give --output FILE with --format jsonl, csv or table")
        writer_output = f"{args.output}.part{rank}"
    writer = Writer("jsonl" if world > 1 else args.format, writer_output, args.resume)
    model = load(args.model, device=_device(args.device, rank, world), precision=args.precision, backend=args.backend)

    seen: set[str] = set()
    count = [0]

    def todo():
        for n, (doc_id, text) in enumerate(items):
            count[0] += 1
            if args.resume or world > 1:
                if doc_id in seen:
                    raise ClaimclsError(f"document id {doc_id!r} appears twice in the input; ids must be unique for --resume and sharding")
                seen.add(doc_id)
            if world > 1 and n % world != rank:
                continue
            if doc_id in writer.done:
                continue
            yield {"id": doc_id, "text": text}

    from tqdm.auto import tqdm

    bar = tqdm(desc="documents", unit="doc", disable=args.no_progress or rank != 0, file=sys.stderr)
    try:
        for doc in model.predict_stream(todo(), batch_size=args.batch_size):
            writer.write(doc)
            bar.update(1)
    finally:
        bar.close()
        writer.close()
    if count[0] == 0:
        raise ClaimclsError("no input documents: the inputs are empty")
    if world > 1:
        _merge_parts(args, world, rank)
    return 0


def _process() -> tuple[int, int]:
    """This process's rank and the number of processes (1 unless under accelerate launch)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    from accelerate import PartialState

    state = PartialState()
    return state.process_index, state.num_processes


def _device(device: str, rank: int, world: int) -> str:
    if world > 1 and device == "auto":
        import torch

        return f"cuda:{rank % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"
    return device


def _merge_parts(args, world: int, rank: int) -> None:
    """Rank 0 interleaves the parts back into input order (document n came from rank n % world)."""
    from accelerate import PartialState

    state = PartialState()
    state.wait_for_everyone()
    if rank == 0:
        readers = [open(f"{args.output}.part{r}", encoding="utf-8") for r in range(world)]
        writer = Writer(args.format, args.output, False)
        try:
            r = 0
            exhausted = 0
            while exhausted < world:
                line = readers[r].readline()
                if line:
                    writer.write(Document.from_dict(json.loads(line)))
                    exhausted = 0
                else:
                    exhausted += 1
                r = (r + 1) % world
        finally:
            writer.close()
            for f in readers:
                f.close()
        for r in range(world):
            os.remove(f"{args.output}.part{r}")
    state.wait_for_everyone()
