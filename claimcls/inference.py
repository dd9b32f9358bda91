"""Running a trained model: :func:`load` and :class:`AttributionModel`.

The engine: documents are split into sentence windows, windows are sorted by length and
packed into batches with dynamic padding, the encoder runs under ``torch.inference_mode``
(or in bf16, or as int8 in ONNX Runtime, where that pays and agrees with fp32, see
``device.py``), and ``heads.decode``
turns the scores into the data layer's :class:`~claimcls.schema.Document`; the folder's
score calibration (``calibration.py``), when it has one, turns each raw score into the
probability that the attribution is right. The folder format is ``folder.py``'s; the ONNX
encoder is ``onnx_backend.py``'s.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import heads
from .batching import Example, collate, inference_examples, special_ids
from .calibration import Calibrator, check_min_score, filter_min_score
from .config import DEFAULT_PRECISION, Config, DecodeConfig
from .device import (
    DTYPES,
    label_agreement,
    precision_candidates,
    precision_name,
    resolve_device,
)
from .encoding import encode_document
from .folder import read_folder, write_folder
from .model_card import write_model_card
from .modeling import ClaimModel
from .onnx_backend import OnnxEncoder, int8_onnx
from .rules import resolve_source
from .schema import Attribution, Document, check_text
from .sentences import split_sentences

logger = logging.getLogger(__name__)

# documents are prepared (sentences, tokens) in chunks of about this many characters, the
# next chunk in a thread while the model runs on this one
CHUNK_CHARS = 100_000
MIN_AGREEMENT = 0.99  # "auto" keeps a reduced precision only if its token labels agree this well with fp32


def calibration_texts() -> list[str]:
    """The small text shipped for checking reduced precisions and backends against fp32
    (``claimcls/data/calibration.jsonl``: 8 bundled articles, about 10,000 characters)."""
    path = resources.files("claimcls") / "data" / "calibration.jsonl"
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class AttributionModel:
    """A trained attribution extractor: ``predict`` texts into documents, ``save`` a folder.

    Get one with :func:`load` or from training. How it decodes is ``config.decode``
    (:class:`~claimcls.config.DecodeConfig`), saved with it; change it with
    ``model.decode = dataclasses.replace(model.decode, content_threshold=0.6)``.

    ``calibration`` (a :class:`~claimcls.calibration.Calibrator`, saved as the folder's
    ``calibration.json``) maps each attribution's raw score to the probability that it
    matches a gold attribution whole; ``None`` leaves the raw score (cue tag probability x
    content link probability). It was fitted under the saved ``decode``: refit it after
    changing that.
    """

    def __init__(self, module: ClaimModel, tokenizer, config: Config, *, device: str | torch.device = "auto",
                 encoder_name: str = "", metrics: Mapping[str, Any] | None = None,
                 calibration: Calibrator | None = None):
        self.module = module.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.encoder_name = encoder_name
        self.metrics = dict(metrics or {})
        self.calibration = calibration
        self.device = resolve_device(device)
        self.module.to(self.device)
        self.dtype = torch.float32
        self.onnx = None  # an OnnxEncoder: backend="onnx", or precision int8
        self.folder: Path | None = None  # the folder it was loaded from, if any

    @property
    def decode(self) -> DecodeConfig:
        """The decoding thresholds and switches (part of :attr:`config`, saved with it)."""
        return self.config.decode

    @decode.setter
    def decode(self, value: DecodeConfig) -> None:
        if not isinstance(value, DecodeConfig):
            raise TypeError(f"decode must be a DecodeConfig, got {type(value).__name__}")
        self.config = replace(self.config, decode=value)

    # ------------------------------------------------------------------ precision

    def set_precision(self, precision: str = DEFAULT_PRECISION, check_docs: Sequence[str] | None = None) -> str:
        """Choose ``fp32``, ``bf16``, ``fp16`` (GPU) or ``int8`` (CPU: the encoder in ONNX
        Runtime, exported once and cached, see ``export.int8_onnx``). ``auto`` tries the
        device's reduced paths fastest first (``device.precision_candidates``) and keeps the
        first whose token labels agree with fp32 on ``check_docs`` (int8: on the shipped text,
        measured when it was exported) at least 99%, else fp32. Returns the choice."""
        candidates = precision_candidates(precision, self.device)
        for chosen in candidates:
            if chosen == "int8":
                path, check = int8_onnx(self, self.folder, calibration_texts())
                if precision == "auto" and not self._int8_pays(check, candidates):
                    continue
                self._use(torch.float32)
                self.onnx = OnnxEncoder(path)
                return chosen
            if precision == "auto" and chosen != "fp32" and check_docs:
                agreement = self.agreement(check_docs, chosen)
                if agreement < MIN_AGREEMENT:
                    logger.warning("%s agrees with fp32 on only %.2f%% of token labels; not used", chosen, 100 * agreement)
                    continue
            self._use(DTYPES[chosen])
            return chosen
        self._use(torch.float32)
        return "fp32"

    @staticmethod
    def _int8_pays(check: Mapping[str, Any], candidates: Sequence[str]) -> bool:
        """Whether ``auto`` keeps int8: its labels agree with fp32 at least 99%, and it was not
        slower than the next path (bf16) when both were timed at its export: for a small
        encoder such as MiniLM-L6, bf16 torch can be the faster (``export.write_onnx``)."""
        agreement = float(check["token_label_agreement_with_fp32"])
        if agreement < MIN_AGREEMENT:
            logger.warning("int8 agrees with fp32 on only %.2f%% of token labels; not used", 100 * agreement)
            return False
        seconds = check.get("seconds", {})
        rival = next((p for p in candidates if p != "int8" and p in seconds), None)
        if rival is not None and seconds[rival] < seconds.get("int8", 0):
            logger.info("int8 was slower than %s at export (%.2f s against %.2f s); using %s", rival, seconds["int8"],
                        seconds[rival], rival)
            return False
        return True

    def _use(self, dtype: torch.dtype) -> None:
        """Run the torch module in ``dtype`` (and not the ONNX encoder)."""
        self.onnx = None
        self.dtype = dtype
        self.module.to(dtype)

    @property
    def precision(self) -> str:
        """``int8`` when the encoder runs in ONNX Runtime, else the torch weights' precision."""
        return "int8" if self.onnx is not None else precision_name(self.dtype)

    def token_labels(self, texts: Sequence[str], batch_size: int = 32) -> list[np.ndarray]:
        """Argmax tag of every role for every window token, in a fixed window order (for
        comparing backends and precisions)."""
        out = []
        for batch, _ in self._batches(self._examples(list(texts))[1], batch_size):
            hidden, logits = self._encode(collate(batch, special_ids(self.tokenizer)[2]))
            tags = logits.argmax(-1).cpu().numpy()
            for row, ex in enumerate(batch):
                out.append(tags[row, 1 : len(ex.input_ids) - 1])
        return out

    def agreement(self, texts: Sequence[str], precision: str) -> float:
        """Share of token labels on which torch ``precision`` (fp32, bf16, fp16) agrees with
        fp32; the model is left as it was."""
        old_dtype, old_onnx = self.dtype, self.onnx
        try:
            self._use(torch.float32)
            ref = self.token_labels(texts)
            self._use(DTYPES[precision])
            got = self.token_labels(texts)
        finally:
            self._use(old_dtype)
            self.onnx = old_onnx
        return label_agreement(ref, got)

    # ------------------------------------------------------------------ prediction

    def predict(self, texts: Sequence[str], batch_size: int = 32, min_score: float = 0.0) -> list[Document]:
        """Label every text.

        Args:
            texts: the documents' texts (or ``{"id", "text"}`` mappings). A bare ``str`` is
                a ``TypeError``: wrap a single text in a list.
            batch_size: windows per forward pass.
            min_score: drop attributions scored below this (a filter: precision up, recall
                down; with a calibrated model the score is the probability of being right).
                Between 0 and 1, else ``InputError``.

        Returns:
            One :class:`Document` per text, in order, with sentences and attributions.

        Example:
            >>> model = claimcls.load("models/default")  # doctest: +SKIP
            >>> doc = model.predict(["The mayor said the bridge would reopen."])[0]  # doctest: +SKIP
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError("predict expects a sequence of texts, got a single str; use predict([text])")
        return list(self.predict_stream(texts, batch_size=batch_size, chunk_size=max(len(texts), 1), min_score=min_score))

    def predict_stream(self, items: Iterable[str | Mapping[str, str]], batch_size: int = 32,
                       chunk_size: int = 256, chunk_chars: int = CHUNK_CHARS, min_score: float = 0.0) -> Iterator[Document]:
        """Label an iterable of texts or ``{"id", "text"}`` mappings lazily, in input order,
        holding at most ``chunk_size`` documents (and about ``chunk_chars`` characters) in
        memory. While the model runs on one chunk, the next is split into sentences and
        tokenized in a thread. ``min_score``: as in :meth:`predict`."""
        if isinstance(items, (str, bytes)):
            raise TypeError("predict_stream expects an iterable of texts, got a single str")
        min_score = check_min_score(min_score)
        if batch_size < 1 or chunk_size < 1:
            raise ValueError(f"batch_size and chunk_size must be 1 or more, got {batch_size} and {chunk_size}")
        chunks = _chunked(items, chunk_size, chunk_chars)
        # sentence splitting and tokenization of the next chunk run in a thread while the
        # model works on this one (torch releases the GIL while it computes)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self._prepare, next(chunks, None), batch_size)
            while True:
                prepared = pending.result()
                if prepared is None:
                    return
                pending = pool.submit(self._prepare, next(chunks, None), batch_size)
                for doc in self._run(prepared):
                    yield filter_min_score(doc, min_score)[0]

    def predict_dataset(self, ds, text_column: str = "text", **kwargs):
        """A ``datasets.Dataset`` with an ``attributions`` column added, batched through
        ``ds.map``; see :func:`claimcls.hf_datasets.predict_dataset` for the options."""
        from .hf_datasets import predict_dataset

        return predict_dataset(self, ds, text_column, **kwargs)

    def _examples(self, texts: Sequence[str]):
        docs = [Document(str(i), t, split_sentences(t)) for i, t in enumerate(texts)]
        encs = [encode_document(self.tokenizer, d, i) for i, d in enumerate(docs)]
        examples = [ex for enc in encs for ex in inference_examples(self.tokenizer, enc, self.config.model.max_length,
                                                                     self.config.model.context, self.decode.core_share)]
        return (docs, encs), examples

    def _batches(self, examples: list[Example], batch_size: int):
        """Windows sorted by length, longest first, in batches of ``batch_size``."""
        order = sorted(range(len(examples)), key=lambda i: -len(examples[i].input_ids))
        for k in range(0, len(order), batch_size):
            idx = order[k : k + batch_size]
            yield [examples[i] for i in idx], idx

    @contextmanager
    def encoder_cache(self):
        """Within this block the encoder runs once per distinct batch: for decoding the same
        documents under several settings (the cue threshold tuned after training, score
        calibration, scripts/decode_sweep.py). Decoding settings may change inside; the
        weights and the precision must not."""
        cache: dict[bytes, Any] = {}
        encode = self._encode

        def cached(t):
            key = t["input_ids"].numpy().tobytes() + b"|" + t["case_ids"].numpy().tobytes()
            if key not in cache:
                cache[key] = encode(t)
            return cache[key]

        own = self.__dict__.get("_encode")  # an instance override (tests, nesting) to put back
        self._encode = cached
        try:
            yield self
        finally:
            if own is None:
                del self._encode  # the method again
            else:
                self._encode = own

    @torch.inference_mode()
    def _encode(self, t: dict[str, torch.Tensor]):
        """Hidden states and tag logits of a collated batch."""
        if self.onnx is not None:
            return self.onnx(t["input_ids"], t["attention_mask"], t["case_ids"])
        return self.module.encode(t["input_ids"].to(self.device), t["attention_mask"].to(self.device), t["case_ids"].to(self.device))

    def _prepare(self, items: list[tuple[str, str]] | None, batch_size: int):
        """Sentences, tokens, windows and padded batches of a chunk of ``(id, text)``;
        ``None`` passes through."""
        if items is None:
            return None
        for doc_id, text in items:
            if not isinstance(text, str):
                raise TypeError(f"document {doc_id!r}: text must be a str, got {type(text).__name__}")
            check_text(text, f"document {doc_id!r}")
        (docs, encs), examples = self._examples([t for _, t in items])
        pad = special_ids(self.tokenizer)[2]
        batches = [(batch, collate(batch, pad)) for batch, _ in self._batches(examples, batch_size)]
        return [i for i, _ in items], (docs, encs), batches

    @torch.inference_mode()
    def _run(self, prepared) -> list[Document]:
        ids, (docs, encs), batches = prepared
        found: list[list[Attribution]] = [[] for _ in docs]
        for batch, tensors in batches:
            hidden, logits = self._encode(tensors)
            score = heads.scorer(self.module, hidden, tensors["sent_ids"])
            for doc_index, att in heads.decode(batch, encs, logits, score, self.decode):
                if self.calibration is not None:
                    att = replace(att, score=self.calibration(att.score))
                found[doc_index].append(att)
        out = []
        for doc, doc_id, atts in zip(docs, ids, found):
            atts.sort(key=lambda a: (a.cue.start, a.cue.end))
            out.append(replace(doc, id=doc_id, attributions=tuple(_resolve_sources(doc.text, atts))))
        return out

    # ------------------------------------------------------------------ saving

    def save(self, path: str | os.PathLike, *, training: Mapping[str, Any] | None = None) -> Path:
        """Write a complete model folder (``folder.py``): ``config.json`` (resolved config
        with its ``decode`` section, label maps, library version, encoder name),
        ``model.safetensors``, ``encoder/`` (encoder config and tokenizer), ``metrics.json``,
        ``README.md`` (the model card, ``model_card.py``) and, when the model has one, its
        score calibration (``calibration.json``)."""
        path = write_folder(path, self.module, self.tokenizer, self.config, self.encoder_name, self.metrics, training,
                            self.calibration)
        write_model_card(path)  # from the files just written
        return path


def _chunked(items: Iterable, size: int, max_chars: int) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    chars = 0
    for n, item in enumerate(items):
        chunk.append(_as_item(item, n))
        chars += len(chunk[-1][1]) if isinstance(chunk[-1][1], str) else 0
        if len(chunk) >= size or chars >= max_chars:
            yield chunk
            chunk = []
            chars = 0
    if chunk:
        yield chunk


def _as_item(item: str | Mapping[str, str], n: int) -> tuple[str, str]:
    if isinstance(item, str):
        return str(n), item
    if isinstance(item, Mapping):
        if "text" not in item:
            raise ValueError(f"input {n}: a mapping needs a 'text' field (and optionally 'id'), got keys {sorted(item)}")
        return str(item.get("id", n)), item["text"]
    raise TypeError(f"input {n}: expected a str or a mapping with 'text', got {type(item).__name__}")


def _resolve_sources(text: str, atts: list[Attribution]) -> list[Attribution]:
    out, earlier = [], []
    for att in atts:
        if att.source is not None:
            name = resolve_source(att.source, text, earlier)
            earlier.append((att.source, name))
            att = replace(att, resolved_source=name)
        out.append(att)
    return out


def load(path: str | os.PathLike, device: str | torch.device = "auto", precision: str = DEFAULT_PRECISION,
         backend: str = "torch") -> AttributionModel:
    """Load a model folder written by :meth:`AttributionModel.save` (or training).

    Never unpickles and never runs remote code: weights are safetensors, the encoder is
    rebuilt from its config.

    Args:
        path: the model folder.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda:0"``...
        precision: ``"auto"`` (default: on a CPU, int8 where ONNX Runtime is installed and
            the CPU has VNNI or AMX, else bf16 where the CPU has native bf16; on a GPU, bf16
            where it has it; each kept only if its token labels agree with fp32 on a small
            shipped text, else the next, then fp32), ``"fp32"``, ``"bf16"``, ``"fp16"`` (GPU)
            or ``"int8"`` (CPU: the encoder in ONNX Runtime with int8 weights, exported on
            first use and cached under ``$CLAIMCLS_CACHE/onnx``).
        backend: ``"torch"`` or ``"onnx"`` (the int8 encoder written by
            ``claimcls export --onnx``; CPU only, precision ignored).

    Raises:
        ModelFolderError: a missing or mismatched file, naming it.
        ValueError: a device this machine lacks (``"cuda"`` without CUDA), or ``backend="onnx"``
            with a device other than the CPU: never a silent run elsewhere.
    """
    if backend not in ("torch", "onnx"):
        raise ValueError(f"backend must be 'torch' or 'onnx', got {backend!r}")
    if backend == "onnx" and str(device) not in ("auto", "cpu"):  # not a silent CPU run instead of the device asked for
        raise ValueError(f"backend='onnx' runs on the CPU, got device={str(device)!r}; use device='cpu' or backend='torch'")
    folder = read_folder(path)
    model = AttributionModel(folder.module, folder.tokenizer, folder.config, device="cpu" if backend == "onnx" else device,
                             encoder_name=folder.encoder_name, metrics=folder.metrics, calibration=folder.calibration)
    model.folder = Path(path)
    if backend == "onnx":
        model.onnx = OnnxEncoder(path)
    elif precision != "fp32":
        model.set_precision(precision, calibration_texts() if precision == "auto" else None)
    return model
