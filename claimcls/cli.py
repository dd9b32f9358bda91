"""The ``claimcls`` command: train, evaluate, predict, view, export, stats.

Errors in what the user gave (files, options, configs, model folders, corpora, texts) print
one line on stderr and exit with status 2, without a traceback; status 1 means a bug. Each
command checks its arguments, inputs, model folder and output location before any work.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from .errors import ClaimclsError, ConfigError, InputError

logger = logging.getLogger("claimcls")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage errors: one line, status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _overrides(extra: list[str]) -> dict[str, str]:
    """``--train.lr 3e-5 --data.polnear true`` -> ``{"train.lr": "3e-5", ...}``."""
    out: dict[str, str] = {}
    k = 0
    while k < len(extra):
        arg = extra[k]
        if not arg.startswith("--") or "." not in arg:
            raise ClaimclsError(f"unexpected argument {arg!r}; config overrides look like --train.lr 3e-5")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if k + 1 >= len(extra):
                raise ClaimclsError(f"override {arg} has no value")
            value = extra[k + 1]
            k += 1
        out[key] = value
        k += 1
    return out


def _check_train_output(output: Path, config, *, resume: bool, overwrite: bool) -> None:
    """Before any work: the output can be written, and writing it loses nothing."""
    from .predict_io import probe_writable

    if output.exists() and not output.is_dir():
        raise InputError(f"--output {output}: exists and is not a folder; a model is a folder: choose another path")
    # (another process of an `accelerate launch` may be probing the same folder meanwhile)
    held = [p for p in output.iterdir() if not p.name.startswith(".claimcls-probe-")] if output.is_dir() else []
    if held and not (resume or overwrite):
        what = "a trained model" if (output / "model.safetensors").exists() else "files"
        raise InputError(f"--output {output}: the folder already holds {what}; pass --overwrite to replace it, "
                         "--resume to continue its training, or choose another folder")
    if resume:
        ckpt = output / "checkpoint" / "trainer_state.json"
        if not ckpt.is_file():
            raise InputError(f"--resume: no checkpoint in {output / 'checkpoint'}; start without --resume")
        saved = None
        for name in ("training.json", "config.json"):
            try:
                data = json.loads((output / name).read_text(encoding="utf-8"))
                saved = data.get("config", {}).get("model")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(saved, dict):
                break
        if isinstance(saved, dict):
            now = config.to_dict()["model"]
            changed = [f"model.{k} was {saved[k]!r}, now {now.get(k)!r}" for k in saved if now.get(k) != saved[k]]
            if changed:
                raise ConfigError(f"--resume: the checkpoint in {output} was trained with another model config "
                                  f"({'; '.join(changed)}); resume with the same settings, or train into a new --output")
    try:  # last, as it creates the folder (training would)
        output.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--output {output}: cannot create the folder ({err.strerror}); choose another location") from None
    probe_writable(output, f"--output {output}")


def cmd_train(args, extra) -> int:
    from .config import load_config
    from .training import train

    config = load_config(args.config, _overrides(extra))
    output = args.output or str(Path("models") / Path(args.config or "default").stem)
    d = config.data
    if not (d.bundled or d.polnear or d.train_files):  # training would stop on this only after building the encoder
        raise ConfigError("no training data: data.bundled, data.polnear and data.train_files are all off; enable one "
                          "(--data.bundled true) or list files with --data.train_files A.jsonl,B.jsonl")
    _check_train_output(Path(output), config, resume=args.resume, overwrite=args.overwrite)
    model = train(config, output, resume=args.resume)
    if model is not None:
        print(f"model saved to {output}")
    return 0


def cmd_evaluate(args, extra) -> int:
    from .atomic import write_atomic
    from .corpus import read_corpus
    from .evaluation import format_metrics, format_overlay, predict_gold, score, score_overlay
    from .folder_checks import check_model_folder
    from .inference import load
    from .overlay import apply_overlay, read_overlay
    from .predict_io import check_output

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be 1 or more, got {args.batch_size}")
    check_output("json", args.output, False)
    check_model_folder(args.model)
    _check_device_only(args.device, args.precision)
    docs = read_corpus(args.data, split=args.split, on_invalid="skip" if args.skip_invalid else "raise")
    overlaid = apply_overlay(docs, read_overlay(args.overlay)) if args.overlay else None  # refused before any work
    model = load(args.model, device=args.device, precision=args.precision)
    pred = predict_gold(model, docs, batch_size=args.batch_size)
    metrics = score(docs, pred)
    print(format_metrics(metrics))
    if overlaid is not None:
        metrics["overlay"] = score_overlay(overlaid, pred)
        print()
        print(format_overlay(metrics["overlay"]))
    if args.output:
        write_atomic(args.output, json.dumps(metrics, indent=2) + "\n")
        print(f"metrics written to {args.output}", file=sys.stderr)
    return 0


def cmd_stats(args, extra) -> int:
    from .corpus import read_corpus
    from .stats import corpus_stats, format_stats

    docs = read_corpus(args.corpus, split=args.split, on_invalid="skip" if args.skip_invalid else "raise")
    stats = corpus_stats(docs)
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0


def cmd_predict(args, extra) -> int:
    if args.engine == "ray":
        from .ray_engine import run_ray_predict

        if args.min_score:
            raise InputError("--min-score is not applied by --engine ray; filter its output shards on \"score\" instead")

        return run_ray_predict(args)
    if args.format == "parquet":
        raise ClaimclsError("--format parquet writes shards with --engine ray; without it use jsonl, csv, brat, table or html")
    from .predict_io import run_predict

    return run_predict(args)


def _check_device_only(device: str, precision: str = "fp32") -> None:
    from types import SimpleNamespace

    from .predict_io import _check_device

    _check_device(SimpleNamespace(device=device, precision=precision, backend="torch"))


def cmd_view(args, extra) -> int:
    from .corpus import read_corpus
    from .html_view import write_html

    docs = read_corpus(args.input, split=args.split)
    n = write_html(docs, args.output)
    print(f"wrote {args.output} ({n} documents)", file=sys.stderr)
    return 0


def cmd_export(args, extra) -> int:
    from .export import export_onnx
    from .folder_checks import check_model_folder

    if not args.onnx:
        raise ClaimclsError("say what to export: --onnx")
    check_model_folder(args.model)
    if not os.access(args.model, os.W_OK):
        raise InputError(f"{args.model}: the model folder is not writable; model.onnx is written into it: copy the folder")
    path = export_onnx(args.model, quantize=not args.no_quantize)
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .config import DEFAULT_PRECISION, config_help

    parser = _Parser(prog="claimcls", description="Who said what, in news: attribution extraction.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    keys = "\n".join(f"  --{k:<30} {h} (default: {d!r})" for k, h, d in config_help())
    p = sub.add_parser("train", help="fine-tune a model", formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=f"config keys, each settable as --SECTION.KEY VALUE:\n{keys}")
    p.add_argument("--config", help="YAML config (configs/*.yaml); omitted: the built-in defaults")
    p.add_argument("--output", help="model folder to write (default: models/CONFIG_NAME)")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint after an interruption")
    p.add_argument("--overwrite", action="store_true", help="replace the model already in OUTPUT (refused without it)")
    p.set_defaults(func=cmd_train, extra=True)

    p = sub.add_parser("evaluate", help="score a model on an annotated corpus")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--data", required=True, help="JSONL file, brat folder, or 'bundled'")
    p.add_argument("--split", help="split of a corpus folder (train, dev)")
    p.add_argument("--output", help="write the metrics as JSON here")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default=DEFAULT_PRECISION, help="auto (the fastest path that agrees with fp32), fp32, bf16, fp16 (GPU), int8 (CPU, ONNX Runtime)")
    p.add_argument("--skip-invalid", action="store_true", help="skip brat attributions without cue or content (reported)")
    p.add_argument("--overlay", help="kinds and targets for some of the corpus's documents (a .jsonl file or a folder of them, "
                   "e.g. ../shared/data/polnear_overlay): also scores kinds and targets on those documents, beside the cue-table baseline")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("stats", help="count documents, sentences, attributions, kinds and spans of a corpus")
    p.add_argument("corpus", help="JSONL file, brat folder, or 'bundled'")
    p.add_argument("--split", help="split of a corpus folder (train, dev)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--skip-invalid", action="store_true", help="skip brat attributions without cue or content (reported)")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("predict", help="label texts: .txt files, JSONL {id, text} lines, Parquet/Arrow, or stdin")
    p.add_argument("inputs", nargs="*", help=".txt, .jsonl, .parquet or .arrow files; none or '-': read stdin (JSONL lines or plain text)")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--output", help="output file (brat: a folder); default stdout")
    p.add_argument("--format", choices=("jsonl", "csv", "brat", "table", "html", "parquet"), default="jsonl",
                   help="html: one self-contained page to look at (see claimcls view); parquet: --engine ray only")
    p.add_argument("--batch-size", type=int, default=32, help="windows per forward pass")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--precision", default=DEFAULT_PRECISION, help="auto (the fastest path that agrees with fp32), fp32, bf16, fp16 (GPU), int8 (CPU, ONNX Runtime)")
    p.add_argument("--backend", default="torch", choices=("torch", "onnx"))
    p.add_argument("--resume", action="store_true", help="continue an interrupted run: skip documents already in --output "
                   "(refused if --output was written from another input)")
    p.add_argument("--skip-invalid", action="store_true", help="skip (and count) malformed input lines instead of stopping at the first")
    p.add_argument("--input-format", choices=("auto", "jsonl", "text"), default="auto",
                   help="auto: .jsonl/.ndjson/.json files (any case) and stdin starting with a JSON object are JSONL, the rest text")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--min-score", type=float, default=0.0, metavar="X",
                   help="drop attributions scored below X, in [0, 1] (with a calibrated model, the score is the "
                        "probability that the attribution is right; the count dropped is printed on stderr)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="ray: label JSONL/Parquet shards on a Ray cluster, one output shard each in --output DIR (claimcls[ray])")
    p.add_argument("--address", help="--engine ray: the cluster (auto, ray://HOST:10001); default: a local Ray instance")
    p.add_argument("--actors", type=int, default=0, help="--engine ray: model actors (default: one per GPU, or as many as the CPUs fit)")
    p.add_argument("--cpus-per-actor", type=int, default=0, help="--engine ray on CPUs: CPUs and torch threads per actor (default: up to 4)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("view", help="write one self-contained HTML page of predictions or a gold corpus")
    p.add_argument("input", help="JSONL file (claimcls predict's output or a gold corpus), brat folder, or 'bundled'")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write")
    p.add_argument("--split", help="split of a corpus folder or of 'bundled'")
    p.set_defaults(func=cmd_view)

    p = sub.add_parser("export", help="export a model for another runtime")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--onnx", action="store_true", help="write model.onnx (int8 quantized) into the model folder")
    p.add_argument("--no-quantize", action="store_true", help="keep fp32 weights in the ONNX file")
    p.set_defaults(func=cmd_export)
    return parser


def _one_line(message: str) -> str:
    """The promise is one line: line breaks inside a message (YAML's, a quoted text's) become spaces."""
    import re

    return re.sub(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*", " ", message).strip()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``claimcls`` command."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO if args.verbose or args.command == "train" else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args, extra)
    except ClaimclsError as err:
        print(f"claimcls {args.command}: error: {_one_line(str(err))}", file=sys.stderr)
        return 2
    except OSError as err:  # the file system refused what the user asked for (no space, no permission...)
        if isinstance(err, BrokenPipeError):
            return 0
        where = f"{err.filename}: " if err.filename else ""
        print(f"claimcls {args.command}: error: {_one_line(where + str(err.strerror or err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"claimcls {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
