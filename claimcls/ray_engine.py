"""``claimcls predict --engine ray``: label JSONL/Parquet shards on a Ray cluster (``pip install 'claimcls[ray]'``).

    claimcls predict --engine ray [--address ADDR] INPUT_DIR_OR_GLOB --model M --output OUT_DIR

How it runs: the pending input shards are read with ``ray.data`` (only their ``id`` and
``text`` columns), ``map_batches`` sends batches of documents to a pool of actors that each
load the model once (one GPU per actor when the cluster has GPUs, else ``--cpus-per-actor``
CPUs and as many torch threads), and the driver writes one output shard per input shard,
``OUT_DIR/<input name>.jsonl`` (or ``.parquet``), in input order. Each shard is written to a
temporary name and renamed when complete, so a rerun skips the shards already there and
redoes only the rest. The output of a shard is byte for byte what ``claimcls predict`` writes
for the same file.

Writing on the driver keeps OUT_DIR a plain local folder (no shared file system needed); the
model, not the writing, is the bottleneck by orders of magnitude.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ClaimclsError

logger = logging.getLogger(__name__)

SHARD_SUFFIXES = (".jsonl", ".parquet")
OUTPUT_FORMATS = ("jsonl", "parquet")


@dataclass
class RayRun:
    """What a run did: shards written and skipped, documents labelled."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    documents: int = 0


def find_shards(inputs: list[str]) -> list[Path]:
    """The input shards: every ``.jsonl``/``.parquet`` file of a folder, a glob's matches, or files.

    Raises:
        ClaimclsError: nothing matches, an unsupported file, or two shards with one name.
    """
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.suffix in SHARD_SUFFIXES)
        elif any(ch in item for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(item) if Path(p).is_file())
        else:
            matches = [path] if path.is_file() else []
        if not matches:
            raise ClaimclsError(f"input {item!r}: no .jsonl or .parquet shards there; give a folder, a glob "
                                "such as 'data/*.jsonl', or files")
        for p in matches:
            if p.suffix not in SHARD_SUFFIXES:
                raise ClaimclsError(f"input {p}: --engine ray reads .jsonl and .parquet shards, not {p.suffix or 'files without a suffix'}")
        found += matches
    stems: dict[str, Path] = {}
    for p in found:
        if p.stem in stems and stems[p.stem] != p:
            raise ClaimclsError(f"two input shards are both named {p.stem!r} ({stems[p.stem]} and {p}); "
                                "output shards are named after inputs, so rename one")
        stems[p.stem] = p
    return list(dict.fromkeys(found))


class _Predictor:
    """A Ray Data actor: loads the model once, labels batches of ``id``/``text`` rows."""

    def __init__(self, model: str, device: str, precision: str, batch_size: int, threads: int):
        import torch

        import claimcls

        if threads > 0:
            torch.set_num_threads(threads)
        self.model = claimcls.load(model, device=device, precision=precision)
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        items = [{"id": str(i), "text": t} for i, t in zip(batch["id"], batch["text"])]
        docs = self.model.predict(items, batch_size=self.batch_size)
        return {"path": batch["path"], "document": [json.dumps(d.to_dict(), ensure_ascii=False) for d in docs]}


class _ShardWriter:
    """One output shard, written under a temporary name and renamed when complete."""

    def __init__(self, final: Path, fmt: str):
        self.final, self.fmt = final, fmt
        self.tmp = final.with_name(final.name + ".tmp")
        self.count = 0
        if fmt == "jsonl":
            self.stream = open(self.tmp, "w", encoding="utf-8")
        else:
            self.rows: list[dict[str, Any]] = []
            self.parquet = None

    def write(self, document_json: str) -> None:
        self.count += 1
        if self.fmt == "jsonl":
            self.stream.write(document_json + "\n")
            return
        self.rows.append(json.loads(document_json))
        if len(self.rows) >= 1000:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .hf_datasets import document_features

        schema = document_features().arrow_schema
        if self.parquet is None:
            self.parquet = pq.ParquetWriter(self.tmp, schema)
        self.parquet.write_table(pa.Table.from_pylist(self.rows, schema=schema))
        self.rows = []

    def close(self) -> None:
        if self.fmt == "jsonl":
            self.stream.close()
        else:
            if self.rows or self.parquet is None:
                self._flush()
            self.parquet.close()
        os.replace(self.tmp, self.final)


def _read(shards: list[Path], read_cpus: float):
    import ray.data

    parts = []
    jsonl = [str(p) for p in shards if p.suffix == ".jsonl"]
    parquet = [str(p) for p in shards if p.suffix == ".parquet"]
    if jsonl:
        # pyarrow's reader (lines=False reads JSONL too); lines=True goes through pandas,
        # which turns string ids such as "001" into numbers
        parts.append(ray.data.read_json(jsonl, include_paths=True, num_cpus=read_cpus))
    if parquet:
        parts.append(ray.data.read_parquet(parquet, include_paths=True, num_cpus=read_cpus))
    ds = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
    columns = ds.columns()
    if columns is not None and not {"id", "text"} <= set(columns):
        raise ClaimclsError(f"the input shards have columns {sorted(c for c in columns if c != 'path')}; "
                            "--engine ray needs 'id' and 'text' in every row")
    return ds.select_columns(["id", "text", "path"])


def predict_shards(inputs: list[str], output_dir: str | os.PathLike, model: str, *, address: str | None = None,
                   output_format: str = "jsonl", actors: int = 0, cpus_per_actor: int = 0, batch_size: int = 32,
                   docs_per_batch: int = 64, device: str = "auto", precision: str = "auto",
                   progress: bool = True) -> RayRun:
    """Label every input shard on a Ray cluster, one output shard each, skipping finished ones.

    Args:
        inputs: folders, globs or files of ``.jsonl`` (``{"id", "text"}`` lines) and
            ``.parquet`` (``id`` and ``text`` columns) shards.
        output_dir: the folder of output shards (created).
        model: the model folder; every node must see it at this path.
        address: the cluster (``auto``, ``ray://HOST:10001``...); ``None``: the running Ray
            instance of this process, or else a new local one.
        output_format: ``jsonl`` or ``parquet``.
        actors: how many model actors; 0: one per GPU, or on CPUs as many as fit in all CPUs
            but one (kept for Ray Data's reading tasks).
        cpus_per_actor: CPUs (and torch threads) per actor on CPU clusters; 0: up to 4.
        batch_size: windows per forward pass.
        docs_per_batch: documents per ``map_batches`` batch.
        device: the model's device inside each actor (``auto``: the actor's GPU, else CPU).
        precision: as for :func:`claimcls.load` (``auto``: bf16 where it agrees with fp32).
        progress: show Ray Data's progress bars.

    Returns:
        The shards written and skipped, and the number of documents labelled.
    """
    import ray
    import ray.data

    if output_format not in OUTPUT_FORMATS:
        raise ClaimclsError(f"--engine ray writes {' or '.join(OUTPUT_FORMATS)} shards, not {output_format!r}; pass --format jsonl or parquet")
    if not Path(model).is_dir():
        raise ClaimclsError(f"model folder {model!r} does not exist; train one with scripts/train.py or pass --model DIR")
    shards = find_shards(inputs)
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise ClaimclsError(f"--output {out} is a file; with --engine ray it is the folder of output shards")
    out.mkdir(parents=True, exist_ok=True)
    run = RayRun()
    pending = []
    for shard in shards:
        final = out / f"{shard.stem}.{output_format}"
        if final.exists():
            run.skipped.append(str(final))
        else:
            final.with_name(final.name + ".tmp").unlink(missing_ok=True)  # left by an interrupted run
            pending.append(shard)
    if run.skipped:
        logger.warning("skipping %d finished shard(s) already in %s", len(run.skipped), out)
    if not pending:
        return run

    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    if gpus:
        per_actor = {"num_gpus": 1, "num_cpus": 1}
        threads = 0
        actors = actors or gpus
    else:
        # one CPU stays free: Ray Data's listing and reading tasks need one, and with every
        # CPU held by actors they wait forever (seen on a 2-CPU instance)
        spare = max(cpus - 1, 1)
        cpus_per_actor = cpus_per_actor or max(1, min(4, spare))
        actors = actors or max(1, spare // cpus_per_actor)
        if cpus > 1 and actors * cpus_per_actor > spare:
            raise ClaimclsError(f"{actors} actor(s) of {cpus_per_actor} CPU(s) would hold all {cpus} CPUs of the cluster and "
                                "leave none to read the shards; ask for fewer with --actors or --cpus-per-actor")
        per_actor = {"num_cpus": cpus_per_actor}
        threads = cpus_per_actor
    logger.info("ray: %d shard(s), %d actor(s) of %s", len(pending), actors, per_actor)

    ctx = ray.data.DataContext.get_current()
    saved = (ctx.execution_options.preserve_order, ctx.enable_progress_bars)
    ctx.execution_options.preserve_order = True  # output shards in input order, as claimcls predict writes
    ctx.enable_progress_bars = progress
    try:
        # reading takes no CPU from the actors: the model needs every core it is given
        # one pipeline per input format: a union of a JSONL and a Parquet read does not keep
        # their order (seen in the local test), and output shards are written in order
        for suffix in SHARD_SUFFIXES:
            group = [p for p in pending if p.suffix == suffix]
            if not group:
                continue
            ds = _read(group, read_cpus=0)
            ds = ds.map_batches(_Predictor, batch_size=docs_per_batch, compute=ray.data.ActorPoolStrategy(size=actors),
                                fn_constructor_kwargs={"model": str(Path(model).resolve()), "device": device,
                                                       "precision": precision, "batch_size": batch_size, "threads": threads},
                                **per_actor)
            for path, writer in _write_in_order(ds.iter_rows(), group, out, output_format):
                run.written.append(str(writer.final))
                run.documents += writer.count
    finally:
        ctx.execution_options.preserve_order, ctx.enable_progress_bars = saved
    return run


def _write_in_order(rows: Iterator[dict[str, Any]], pending: list[Path], out: Path, fmt: str):
    """Write rows to their shards; a shard is complete when the next one's rows begin."""
    order = {p.resolve(): k for k, p in enumerate(pending)}
    current: tuple[int, _ShardWriter] | None = None
    for row in rows:
        k = order[Path(row["path"]).resolve()]
        if current is None or current[0] != k:
            if current is not None:
                if k < current[0]:
                    raise RuntimeError(f"rows of {pending[k]} came after those of {pending[current[0]]}; order was not kept")
                current[1].close()
                yield pending[current[0]], current[1]
            for skipped in range(current[0] + 1 if current else 0, k):  # shards without rows
                empty = _ShardWriter(out / f"{pending[skipped].stem}.{fmt}", fmt)
                empty.close()
                yield pending[skipped], empty
            current = (k, _ShardWriter(out / f"{pending[k].stem}.{fmt}", fmt))
        current[1].write(row["document"])
    if current is not None:
        current[1].close()
        yield pending[current[0]], current[1]
    for skipped in range((current[0] + 1) if current else 0, len(pending)):
        empty = _ShardWriter(out / f"{pending[skipped].stem}.{fmt}", fmt)
        empty.close()
        yield pending[skipped], empty


def run_ray_predict(args) -> int:
    """``claimcls predict --engine ray``."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ClaimclsError("--engine ray needs Ray: pip install 'claimcls[ray]'") from None
    if not args.output:
        raise ClaimclsError("--engine ray writes a folder of output shards: give it with --output DIR")
    if not args.inputs:
        raise ClaimclsError("--engine ray reads shards: give a folder, a glob such as 'data/*.jsonl', or files")
    if args.resume:
        logger.info("--engine ray always resumes: finished shards are skipped")
    fmt = "jsonl" if args.format in (None, "jsonl") else args.format
    run = predict_shards(args.inputs, args.output, args.model, address=args.address, output_format=fmt,
                         actors=args.actors, cpus_per_actor=args.cpus_per_actor, batch_size=args.batch_size,
                         device=args.device, precision=args.precision, progress=not args.no_progress)
    print(f"{len(run.written)} shard(s) written ({run.documents} documents), {len(run.skipped)} already done, in {args.output}",
          file=sys.stderr)
    return 0

