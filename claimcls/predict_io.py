"""``claimcls predict``: read inputs, stream them through a model, write results as they come.

Inputs are ``.txt`` files (one document each, id = the file name without extension),
JSONL files of ``{"id", "text"}`` lines, Parquet or Arrow files with ``id`` and ``text``
columns, or stdin (JSONL lines, or else one plain-text
document). Output formats: ``jsonl`` (the document shape), ``csv`` (a row per
attribution), ``brat`` (a folder) and ``table`` (for people). ``--resume`` skips the
documents an earlier, interrupted run already wrote to ``--output``. ``--min-score X``
drops attributions scored below X (counted on stderr at the end).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from .corpus import text_fingerprint
from .errors import ClaimclsError, InputError
from .inputs import INPUT_FORMATS, InputReport, iter_inputs  # noqa: F401
from .outputs import PARTIAL, ResumeMismatch, Writer, check_output, probe_writable  # noqa: F401 - used by cli
from .schema import Document

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- the command


def run_predict(args) -> int:
    from .calibration import check_min_score
    from .folder_checks import check_model_folder

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be 1 or more, got {args.batch_size}")
    try:
        check_min_score(getattr(args, "min_score", 0.0))
    except InputError:
        raise InputError(f"--min-score must be between 0 and 1, got {args.min_score}") from None
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
    count, stopped, (dropped, found) = written
    total = writer.written + len(writer.done)
    if total:
        writer.finish()
    else:
        writer.discard()  # nothing to show: an earlier OUTPUT stays as it was
    if report.skipped:
        print(f"claimcls predict: skipped {len(report.skipped)} invalid input(s) (--skip-invalid); the first: "
              f"{report.skipped[0]}", file=sys.stderr)
    if getattr(args, "min_score", 0.0):
        print(f"claimcls predict: --min-score {args.min_score:g} dropped {dropped} of {found} attribution(s)"
              + (" (this process's share)" if world > 1 else ""), file=sys.stderr)
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


def _predict_into(args, writer: Writer, items, rank: int,
                  world: int) -> tuple[int, ClaimclsError | None, tuple[int, int]]:
    """Run the model over ``items`` into ``writer``. Returns the number of input documents,
    the input error that ended the stream early (after every document before it was
    written), if any, and how many attributions ``--min-score`` dropped of how many found."""
    from .calibration import filter_min_score
    from .inference import load

    device = "cpu" if args.backend == "onnx" else _device(args.device, rank, world)  # ONNX Runtime runs on the CPU only
    model = load(args.model, device=device, precision=args.precision, backend=args.backend)
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

    found = [0, 0]  # attributions dropped by --min-score, found
    bar = tqdm(desc="documents", unit="doc", disable=args.no_progress or rank != 0, file=sys.stderr)
    try:
        for doc in model.predict_stream(todo(), batch_size=args.batch_size):
            found[1] += len(doc.attributions)
            doc, dropped = filter_min_score(doc, getattr(args, "min_score", 0.0))
            found[0] += dropped
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
    return count[0], stopped[0] if stopped else None, (found[0], found[1])


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
        raise InputError("--precision fp16 needs a CUDA device; on a CPU use bf16, int8 or fp32")
    if args.precision == "int8" and dev.type != "cpu":
        raise InputError("--precision int8 runs on the CPU (ONNX Runtime); on a GPU use bf16 or fp16, or pass --device cpu")


PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")


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
