"""Loading, saving and running a trained model: :func:`load` and :class:`AttributionModel`.

The engine: documents are split into sentence windows, windows are sorted by length and
packed into batches with dynamic padding, the encoder runs under ``torch.inference_mode``
(in bf16 where that pays and agrees with fp32), and spans, links and kinds are decoded
into the data layer's :class:`~claimcls.schema.Document`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .batching import Example, collate, inference_examples
from .config import Config, config_from_dict, default_encoder_path
from .encoding import char_span, decode_spans, encode_document
from .errors import ModelFolderError
from .model_card import write_model_card
from .modeling import LINK_ROLES, ClaimModel
from .rules import quote_type, resolve_source
from .schema import KINDS, ROLES, Attribution, Document
from .sentences import split_sentences

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
LABELS = {"roles": list(ROLES), "tags": ["O", "B", "I"], "kinds": list(KINDS), "link_roles": list(LINK_ROLES)}
FILES = ("config.json", "model.safetensors", "encoder/config.json")
# documents are prepared (sentences, tokens) in chunks of about this many characters, the
# next chunk in a thread while the model runs on this one
CHUNK_CHARS = 100_000


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: the first CUDA device if there is one, else the CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but no CUDA device is available; use device='cpu'")
    return dev


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX or AVX512-BF16)."""
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(torch.cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:  # pragma: no cover - private probes may change
            pass
    return False


def build_encoder(name: str):
    """An encoder and its tokenizer for a new model: ``default``, ``tiny``, a folder or a hub name."""
    from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

    if name == "tiny":  # random, small, for tests: the default tokenizer with a 2-layer encoder
        tokenizer = AutoTokenizer.from_pretrained(default_encoder_path(), local_files_only=True)
        cfg = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=128, max_position_embeddings=512)
        return BertModel(cfg, add_pooling_layer=False), tokenizer
    path = default_encoder_path() if name == "default" else name
    local = Path(path).is_dir()  # a local folder never asks the hub (which would retry for ~50 s offline)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local)
    if not getattr(tokenizer, "is_fast", False):
        raise ModelFolderError(f"encoder {name!r} has no fast tokenizer; claimcls needs character offsets from a fast tokenizer")
    kwargs = {"add_pooling_layer": False} if _is_bert(path) else {}
    return AutoModel.from_pretrained(path, local_files_only=local, **kwargs), tokenizer


def _is_bert(path: str) -> bool:
    try:
        with open(Path(path) / "config.json") as f:
            return json.load(f).get("model_type") == "bert"
    except OSError:
        return False


class AttributionModel:
    """A trained attribution extractor: ``predict`` texts into documents, ``save`` a folder.

    Get one with :func:`load` or from training.
    """

    def __init__(self, module: ClaimModel, tokenizer, config: Config, *, device: str | torch.device = "auto",
                 encoder_name: str = "", metrics: Mapping[str, Any] | None = None):
        self.module = module.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.encoder_name = encoder_name
        self.metrics = dict(metrics or {})
        self.device = resolve_device(device)
        self.module.to(self.device)
        self.dtype = torch.float32
        self.onnx = None  # an OnnxEncoder when loaded with backend="onnx"
        self.repair = True  # BIO repair when decoding spans (see encoding.decode_spans)
        # roles whose spans are joined over "," and "and" (encoding.decode_spans): not cues
        # ("said, adding" are two) and not sources ("Beyond South Asia, Lavrov and Araghchi");
        # PolNeAR dev figures in docs/model.md, "Decoding"
        self.bridge_roles = {"target", "content"}
        self.merge_content = True  # join content pieces not separated by the cue or source (_merge_pieces)
        self.core_share = config.model.predict_core_share

    # ------------------------------------------------------------------ precision

    def set_precision(self, precision: str = "auto", check_docs: Sequence[str] | None = None) -> str:
        """Choose ``fp32``, ``bf16`` or ``fp16`` (GPU); ``auto`` takes the fastest reduced
        path whose token labels agree with fp32 on ``check_docs`` (≥ 99%). Returns the choice."""
        if precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("fp16 needs a CUDA device; on a CPU use precision='bf16' or 'fp32'")
        if precision == "auto":
            if self.device.type == "cuda":
                precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            else:
                precision = "bf16" if cpu_has_native_bf16() else "fp32"
            if precision != "fp32" and check_docs:
                agreement = self.agreement(check_docs, precision)
                if agreement < 0.99:
                    logger.warning("%s agrees with fp32 on only %.2f%% of token labels; using fp32", precision, 100 * agreement)
                    precision = "fp32"
        self.dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        self.module.to(self.dtype)
        return precision

    @property
    def precision(self) -> str:
        return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def token_labels(self, texts: Sequence[str], batch_size: int = 32) -> list[np.ndarray]:
        """Argmax tag of every role for every window token, in a fixed window order (for
        comparing backends and precisions)."""
        out = []
        for batch, _ in self._batches(self._examples(list(texts))[1], batch_size):
            hidden, logits = self._encode(collate(batch, self.tokenizer.pad_token_id))
            tags = logits.argmax(-1).cpu().numpy()
            for row, ex in enumerate(batch):
                out.append(tags[row, 1 : len(ex.input_ids) - 1])
        return out

    def agreement(self, texts: Sequence[str], precision: str) -> float:
        """Share of token labels on which ``precision`` agrees with fp32."""
        old = self.dtype
        self.module.to(torch.float32)
        self.dtype = torch.float32
        ref = self.token_labels(texts)
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
        self.module.to(self.dtype)
        got = self.token_labels(texts)
        self.dtype = old
        self.module.to(old)
        same = sum(int((a == b).sum()) for a, b in zip(ref, got))
        return same / max(sum(a.size for a in ref), 1)

    # ------------------------------------------------------------------ prediction

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[Document]:
        """Label every text.

        Args:
            texts: the documents' texts (or ``{"id", "text"}`` mappings). A bare ``str`` is
                a ``TypeError``: wrap a single text in a list.
            batch_size: windows per forward pass.

        Returns:
            One :class:`Document` per text, in order, with sentences and attributions.

        Example:
            >>> model = claimcls.load("models/default")  # doctest: +SKIP
            >>> doc = model.predict(["The mayor said the bridge would reopen."])[0]  # doctest: +SKIP
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError("predict expects a sequence of texts, got a single str; use predict([text])")
        return list(self.predict_stream(texts, batch_size=batch_size, chunk_size=max(len(texts), 1)))

    def predict_stream(self, items: Iterable[str | Mapping[str, str]], batch_size: int = 32,
                       chunk_size: int = 256, chunk_chars: int = CHUNK_CHARS) -> Iterator[Document]:
        """Label an iterable of texts or ``{"id", "text"}`` mappings lazily, in input order,
        holding at most ``chunk_size`` documents (and about ``chunk_chars`` characters) in
        memory. While the model runs on one chunk, the next is split into sentences and
        tokenized in a thread."""
        if isinstance(items, (str, bytes)):
            raise TypeError("predict_stream expects an iterable of texts, got a single str")
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
                yield from self._run(prepared)

    def predict_dataset(self, ds, text_column: str = "text", **kwargs):
        """A ``datasets.Dataset`` with an ``attributions`` column added, batched through
        ``ds.map``; see :func:`claimcls.hf_datasets.predict_dataset` for the options."""
        from .hf_datasets import predict_dataset

        return predict_dataset(self, ds, text_column, **kwargs)

    def _examples(self, texts: Sequence[str]):
        docs = [Document(str(i), t, split_sentences(t)) for i, t in enumerate(texts)]
        encs = [encode_document(self.tokenizer, d, i) for i, d in enumerate(docs)]
        examples = [ex for enc in encs for ex in inference_examples(self.tokenizer, enc, self.config.model.max_length,
                                                                     self.config.model.context, self.core_share)]
        return (docs, encs), examples

    def _batches(self, examples: list[Example], batch_size: int):
        """Windows sorted by length, longest first, in batches of ``batch_size``."""
        order = sorted(range(len(examples)), key=lambda i: -len(examples[i].input_ids))
        for k in range(0, len(order), batch_size):
            idx = order[k : k + batch_size]
            yield [examples[i] for i in idx], idx

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
        (docs, encs), examples = self._examples([t for _, t in items])
        pad = self.tokenizer.pad_token_id
        batches = [(batch, collate(batch, pad)) for batch, _ in self._batches(examples, batch_size)]
        return [i for i, _ in items], (docs, encs), batches

    @torch.inference_mode()
    def _run(self, prepared) -> list[Document]:
        ids, (docs, encs), batches = prepared
        found: list[list[Attribution]] = [[] for _ in docs]
        for batch, tensors in batches:
            hidden, logits = self._encode(tensors)
            for doc_index, att in self._decode(batch, hidden, logits, encs):
                found[doc_index].append(att)
        out = []
        for doc, doc_id, atts in zip(docs, ids, found):
            atts.sort(key=lambda a: (a.cue.start, a.cue.end))
            out.append(replace(doc, id=doc_id, attributions=tuple(_resolve_sources(doc.text, atts))))
        return out

    def _decode(self, batch: list[Example], hidden: torch.Tensor, logits: torch.Tensor, encs):
        probs = logits.float().softmax(-1)
        tags = probs.argmax(-1).cpu().numpy()
        tag_p = probs.max(-1).values.cpu().numpy()
        cue_r, cand_r = ROLES.index("cue"), {role: ROLES.index(role) for role in LINK_ROLES}
        cues, cands = [], []  # (row, a, b) in window positions
        for row, ex in enumerate(batch):
            w, enc = ex.window, encs[ex.window.doc_index]
            T = len(ex.input_ids) - 2
            for a, b in decode_spans(enc, tags[row, 1 : T + 1, cue_r], w.start, w.end, (w.core_start, w.core_end), self.repair,
                                     "cue" in self.bridge_roles):
                cues.append((row, a - w.start + 1, b - w.start + 1))
            for r, role in enumerate(LINK_ROLES):
                for a, b in decode_spans(enc, tags[row, 1 : T + 1, cand_r[role]], w.start, w.end, (w.start, w.end), self.repair,
                                         role in self.bridge_roles):
                    cands.append((row, a - w.start + 1, b - w.start + 1, r))
        if not cues:
            return
        dev = hidden.device
        cue_t = torch.tensor(cues, dtype=torch.long, device=dev)
        csum = self.module.span_sums(hidden)  # shared by the cues' and the candidates' representations
        cue_repr = self.module.span_repr(hidden, cue_t, csum)
        kinds = self.module.kind_logits(cue_repr).float().softmax(-1).cpu().numpy()
        nulls = self.module.null_logits(cue_repr).float().cpu().numpy()
        cands_of_row: dict[int, list[int]] = {}
        for j, d in enumerate(cands):
            cands_of_row.setdefault(d[0], []).append(j)
        pairs = [(i, j) for i, c in enumerate(cues) for j in cands_of_row.get(c[0], ())]
        link_logit = np.zeros(0)
        if pairs:
            cand_t = torch.tensor(cands, dtype=torch.long, device=dev).view(-1, 4)
            cand_repr = self.module.span_repr(hidden, cand_t[:, :3], csum)
            pi_np, pj_np = np.array(pairs).T
            cue_sent = np.array([batch[r].sent_ids[a] for r, a, _ in cues])
            cand_sent = np.array([batch[r].sent_ids[a] for r, a, _, _ in cands])
            pi, pj = torch.from_numpy(pi_np).to(dev), torch.from_numpy(pj_np).to(dev)
            delta = cand_t[pj, 1] - cue_t[pi, 1]
            sent_delta = torch.from_numpy(cand_sent[pj_np] - cue_sent[pi_np]).to(dev)
            link_logit = self.module.link_logits(cue_repr[pi], cand_repr[pj], delta, cand_t[pj, 3], sent_delta).float().cpu().numpy()
        by_cue: dict[int, list[tuple[int, float]]] = {}
        for (i, j), z in zip(pairs, link_logit):
            by_cue.setdefault(i, []).append((j, float(z)))
        for i, (row, a, b) in enumerate(cues):
            ex = batch[row]
            w, enc = ex.window, encs[ex.window.doc_index]

            def span_of(a_, b_):
                return char_span(enc, a_ - 1 + w.start, b_ - 1 + w.start)

            best: dict[int, list[tuple[float, int]]] = {0: [], 1: [], 2: []}
            for j, z in by_cue.get(i, []):
                best[cands[j][3]].append((z, j))
            content_p = [(1 / (1 + np.exp(-z)), j) for z, j in best[1]]
            contents = sorted(j for p, j in content_p if p > 0.5)
            if not contents:
                if not content_p or max(content_p)[0] < 0.2:
                    continue  # a cue with nothing said is not an attribution
                contents = [max(content_p)[1]]
            src = _choose(best[0], nulls[i, 0])
            tgt = _choose(best[2], nulls[i, 2])
            pieces = sorted({tuple(cands[j][1:3]) for j in contents})
            if self.merge_content:
                blockers = [(a, b)] + ([tuple(cands[src][1:3])] if src is not None else [])
                pieces = _merge_pieces(pieces, blockers)
            content = tuple(span_of(*p) for p in pieces)
            cue_score = float(tag_p[row, a:b, cue_r].mean())
            link_score = float(max(p for p, j in content_p if j in contents))
            yield w.doc_index, Attribution(
                cue=span_of(a, b),
                content=content,
                source=span_of(*cands[src][1:3]) if src is not None else None,
                target=span_of(*cands[tgt][1:3]) if tgt is not None else None,
                kind=KINDS[int(kinds[i].argmax())],
                quote=quote_type(content),
                score=round(cue_score * link_score, 4),
            )

    # ------------------------------------------------------------------ saving

    def save(self, path: str | os.PathLike, *, training: Mapping[str, Any] | None = None) -> Path:
        """Write a complete model folder: ``config.json`` (resolved config, label maps,
        library version, encoder name), ``model.safetensors``, ``encoder/`` (encoder config
        and tokenizer), ``metrics.json`` and ``README.md`` (the model card)."""
        from safetensors.torch import save_file

        path = Path(path)
        (path / "encoder").mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in self.module.state_dict().items()}
        save_file(state, str(path / "model.safetensors"), metadata={"format": "pt"})
        self.module.encoder.config.save_pretrained(path / "encoder")
        self.tokenizer.save_pretrained(path / "encoder")
        meta = {
            "format_version": FORMAT_VERSION,
            "claimcls_version": __version__,
            "encoder": self.encoder_name,
            "labels": LABELS,
            "config": self.config.to_dict(),
        }
        (path / "config.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (path / "metrics.json").write_text(json.dumps(self.metrics, indent=2) + "\n", encoding="utf-8")
        if training is not None:
            (path / "training.json").write_text(json.dumps(dict(training), indent=2) + "\n", encoding="utf-8")
        write_model_card(path)  # README.md, from the files above (claimcls.model_card)
        return path


def _choose(scored: list[tuple[float, int]], null: float) -> int | None:
    """The best-scoring candidate, or ``None`` when "none" scores higher."""
    if not scored:
        return None
    z, j = max(scored)
    return j if z > null else None


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


def _merge_pieces(pieces: list[tuple[int, int]], blockers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join consecutive content pieces of one attribution unless its cue or source lies
    between them: "both ministers welcomed the agreement" tagged as "both" + "agreement"
    (the words in between belong to a nested report) is one content; "Both incidents,
    according to Naqvi, involved suspects" stays two pieces around the cue and source."""
    out = [list(pieces[0])] if pieces else []
    for a, b in pieces[1:]:
        if any(out[-1][1] <= x and y <= a for x, y in blockers):
            out.append([a, b])
        else:
            out[-1][1] = max(out[-1][1], b)
    return [(a, b) for a, b in out]


def _resolve_sources(text: str, atts: list[Attribution]) -> list[Attribution]:
    out, earlier = [], []
    for att in atts:
        if att.source is not None:
            name = resolve_source(att.source, text, earlier)
            earlier.append((att.source, name))
            att = replace(att, resolved_source=name)
        out.append(att)
    return out


def load(path: str | os.PathLike, device: str | torch.device = "auto", precision: str = "fp32",
         backend: str = "torch") -> AttributionModel:
    """Load a model folder written by :meth:`AttributionModel.save` (or training).

    Never unpickles and never runs remote code: weights are safetensors, the encoder is
    rebuilt from its config.

    Args:
        path: the model folder.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda:0"``...
        precision: ``"fp32"`` (default), ``"bf16"``, ``"fp16"`` or ``"auto"`` (the fastest
            reduced precision whose labels agree with fp32 on a check sample).
        backend: ``"torch"`` or ``"onnx"`` (the int8 encoder written by
            ``claimcls export --onnx``; CPU only).

    Raises:
        ModelFolderError: a missing or mismatched file, naming it.
    """
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    if backend not in ("torch", "onnx"):
        raise ValueError(f"backend must be 'torch' or 'onnx', got {backend!r}")
    path = Path(path)
    if not path.is_dir():
        raise ModelFolderError(f"model folder {str(path)!r} does not exist; train one with scripts/train.py or pass the right path")
    for name in FILES:
        if not (path / name).is_file():
            raise ModelFolderError(f"model folder {path} is incomplete: {name} is missing; save it again with model.save()")
    try:
        meta = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelFolderError(f"{path / 'config.json'} is not valid JSON ({err.msg}); the folder is damaged") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFolderError(f"{path} has format version {meta.get('format_version')!r}; this claimcls reads {FORMAT_VERSION}")
    if meta.get("labels") != LABELS:
        raise ModelFolderError(f"{path / 'config.json'}: its label maps {meta.get('labels')} differ from this claimcls's {LABELS}")
    config = config_from_dict(meta["config"])
    enc_cfg = AutoConfig.from_pretrained(path / "encoder", trust_remote_code=False, local_files_only=True)
    kwargs = {"add_pooling_layer": False} if enc_cfg.model_type == "bert" else {}
    encoder = AutoModel.from_config(enc_cfg, **kwargs)
    module = ClaimModel(config.model, encoder)
    state = load_file(str(path / "model.safetensors"))
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shapes differ
        first = str(err).split("\n\t")[1] if "\n\t" in str(err) else str(err)
        raise ModelFolderError(f"{path / 'model.safetensors'} does not match the model in config.json: {first}") from None
    if missing or unexpected:
        raise ModelFolderError(
            f"{path / 'model.safetensors'} does not match the model in config.json: "
            f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(path / "encoder", trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError) as err:
        raise ModelFolderError(f"{path / 'encoder'}: the tokenizer cannot be loaded ({err}); save the model again") from None
    metrics = {}
    if (path / "metrics.json").is_file():
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
    if backend == "onnx":
        from .export import OnnxEncoder

        model = AttributionModel(module, tokenizer, config, device="cpu", encoder_name=meta.get("encoder", ""), metrics=metrics)
        model.onnx = OnnxEncoder(path)
        return model
    model = AttributionModel(module, tokenizer, config, device=device, encoder_name=meta.get("encoder", ""), metrics=metrics)
    if precision != "fp32":
        from .corpus import read_corpus

        sample = [d.text for d in read_corpus("bundled")[:8]] if precision == "auto" else None
        model.set_precision(precision, sample)
    return model
