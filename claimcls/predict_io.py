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
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .atomic import FILE_MODE
from .corpus import BRAT_INDEX, BratWriter, is_jsonl_path, read_brat_index, text_fingerprint
from .errors import ClaimclsError, InputError
from .jsonl import dumps_line, split_lines
from .schema import Document, check_text

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- inputs

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


# --------------------------------------------------------------------------- outputs

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


# --------------------------------------------------------------------------- the command


def run_predict(args) -> int:
    from .folder_checks import check_model_folder

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be 1 or more, got {args.batch_size}")
    _check_device(args)
    rank, world = _process()
    paths = [] if args.inputs == ["-"] else list(args.inputs)
    for p in paths:  # all of them, before any work
        if not Path(p).is_file():
            raise InputError(f"input {p!r} does not exist or is not a file")
    check_model_folder(args.model)
    if args.backend == "onnx" and not (Path(args.model) / "model.onnx").is_file():
        raise InputError(f"--backend onnx: {args.model} has no model.onnx; run `claimcls export --onnx --model {args.model}` first")
    if world > 1 and (not args.output or args.format == "brat"):
        raise InputError("under accelerate launch, give --output FILE with --format jsonl, csv or table")
    check_output(args.format, args.output, args.resume)
    report = InputReport(getattr(args, "skip_invalid", False))
    items = iter_inputs(paths, input_format=getattr(args, "input_format", "auto"), report=report)
    if world > 1:
        writer = Writer("jsonl", f"{args.output}.part{rank}", args.resume, atomic=False)
    else:
        writer = Writer(args.format, args.output, args.resume)
    try:
        written = _predict_into(args, writer, items, rank, world)
    except ResumeMismatch:
        writer.discard()
        raise
    except BaseException:  # OUTPUT untouched; OUTPUT.partial kept for --resume if it holds anything
        if writer.written or writer.done:
            writer.close()
        else:
            writer.discard()
        raise
    count, stopped = written
    total = writer.written + len(writer.done)
    if total:
        writer.finish()
    else:
        writer.discard()  # nothing to show: an earlier OUTPUT stays as it was
    if report.skipped:
        print(f"claimcls predict: skipped {len(report.skipped)} invalid input(s) (--skip-invalid); the first: "
              f"{report.skipped[0]}", file=sys.stderr)
    if stopped is not None:
        if not total:
            raise stopped
        where = f"are in {args.output}" if args.output else "were written"
        hint = "fix it and rerun with --resume" if args.output else "fix it"
        raise type(stopped)(f"{stopped} (stopped there; the {total} documents before it {where}: {hint}, or pass --skip-invalid)")
    if count == 0:
        raise InputError("no input documents: the inputs are empty" + (" or every one was skipped" if report.skipped else ""))
    if world > 1:
        _merge_parts(args, world, rank)
    return 0


def _predict_into(args, writer: Writer, items, rank: int, world: int) -> tuple[int, ClaimclsError | None]:
    """Run the model over ``items`` into ``writer``. Returns the number of input documents
    and the input error that ended the stream early (after every document before it was
    written), if any."""
    from .inference import load

    model = load(args.model, device=_device(args.device, rank, world), precision=args.precision, backend=args.backend)
    seen: set[str] = set()
    count = [0]
    stopped: list[ClaimclsError] = []
    done_ids = {doc_id for doc_id, _ in writer.done}
    check_order = world == 1 and args.resume

    def todo():
        try:
            for n, (doc_id, text) in enumerate(items):
                count[0] += 1
                if args.resume or world > 1 or args.format == "brat":
                    if doc_id in seen:
                        raise InputError(f"document id {doc_id!r} appears twice in the input; ids must be unique for "
                                         "--resume, brat output and sharding")
                    seen.add(doc_id)
                if check_order and n < len(writer.done):
                    # documents are written in input order: the output must begin with this input
                    want_id, want_sha = writer.done[n]
                    if doc_id != want_id or (want_sha is not None and text_fingerprint(text) != want_sha):
                        what = f"its document {n + 1} is {want_id!r}" + (" with another text" if doc_id == want_id else "")
                        raise ResumeMismatch(f"--resume: {args.output} was written from another input ({what}, the input's "
                                             f"is {doc_id!r}); give a new --output, or run without --resume to replace it")
                    continue
                if world > 1 and n % world != rank:
                    continue
                if doc_id in done_ids:
                    continue
                yield {"id": doc_id, "text": text}
        except ResumeMismatch:
            raise
        except ClaimclsError as err:  # end the stream here: what came before is still written
            stopped.append(err)

    from tqdm.auto import tqdm

    bar = tqdm(desc="documents", unit="doc", disable=args.no_progress or rank != 0, file=sys.stderr)
    try:
        for doc in model.predict_stream(todo(), batch_size=args.batch_size):
            try:
                writer.write(doc)
            except OSError as err:
                raise InputError(f"cannot write {args.output or 'stdout'}: {err.strerror}; nothing was replaced "
                                 "(free space or choose another --output)") from None
            bar.update(1)
    finally:
        bar.close()
    if check_order and count[0] < len(writer.done) and not stopped:
        raise ResumeMismatch(f"--resume: {args.output} holds {len(writer.done)} documents but the input only {count[0]}: "
                             "it was written from another input; give a new --output")
    return count[0], stopped[0] if stopped else None


def _check_device(args) -> None:
    """Refuse a device or precision this machine cannot give, before any work."""
    import torch

    if args.precision not in PRECISIONS:
        raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}, got {args.precision!r}")
    if args.backend == "onnx" and args.device not in ("auto", "cpu"):
        raise InputError("--backend onnx runs on the CPU; drop --device or pass --device cpu")
    try:
        dev = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                           "cpu" if args.device == "auto" else args.device)
    except (RuntimeError, ValueError):
        raise InputError(f"--device {args.device!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"--device {args.device}: no CUDA device is available on this machine; use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {args.device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise InputError(f"--device {args.device!r}: claimcls runs on cpu or cuda")
    if args.precision == "fp16" and dev.type != "cuda":
        raise InputError("--precision fp16 needs a CUDA device; on a CPU use bf16 or fp32")


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


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
            writer.finish()
        except BaseException:
            writer.close()
            raise
        finally:
            for f in readers:
                f.close()
        for r in range(world):
            os.remove(f"{args.output}.part{r}")
    state.wait_for_everyone()
