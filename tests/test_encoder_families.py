"""Every Hugging Face encoder family claimcls claims to read: a tiny random encoder of each
(2 layers, hidden 32) and a fast tokenizer trained here on a few sentences, saved as a local
folder, then trained on, predicted with, saved, loaded back and cut to fewer layers.

The tokenizers copy what matters of each family's real one: WordPiece with ``[CLS]``/``[SEP]``
(BERT, ELECTRA); byte-level BPE whose offsets the post-processor trims (RoBERTa) or does not
(ModernBERT, as its released tokenizer: offsets start at the space before a word); Unigram
with ``▁`` pieces (XLM-R, DeBERTa-v3), whose first ``▁`` shares the first character's offsets.
The XLM-R one declares only ``<s>``/``</s>`` as ``bos``/``eos`` and no ``cls``/``sep``. MPNet
is there for configs/polnear-large.yaml (all-mpnet-base-v2).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import claimcls
from claimcls.config import load_config
from claimcls.errors import ConfigError
from claimcls.training import train
from conftest import FIXTURES, ROOT

SENTENCES = [
    "Mayor Lena Ortiz said the bridge would reopen on Monday.",
    '"It is safe," she added, according to officials.',
    "The minister told reporters that prices rose 5% in 2023, and critics disagreed.",
    "According to the report, the plan would fail; he denied it.",
]
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
SIZE = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def _texts() -> list[str]:
    return SENTENCES + [d.text for d in claimcls.read_corpus(FIXTURES / "tiny.jsonl")]


def _wordpiece(specials):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(_texts(), trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials))
    return tok


def _byte_bpe(specials):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(_texts(), trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def _unigram(specials, unk):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(_texts(), trainers.UnigramTrainer(vocab_size=200, special_tokens=specials, unk_token=unk))
    return tok


def _template(tok, cls, sep):
    from tokenizers import processors

    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, tok.token_to_id(cls)), (sep, tok.token_to_id(sep))])
    return tok


def _bert_like(specials):
    return _template(_wordpiece(specials), "[CLS]", "[SEP]")


def _roberta_tok():
    from tokenizers import processors

    tok = _byte_bpe(ROBERTA_SPECIALS)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True)
    return tok


BERT_NAMES = dict(cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]")
ROBERTA_NAMES = dict(bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>", pad_token="<pad>",
                     unk_token="<unk>", mask_token="<mask>")
# an XLM-R tokenizer that names only bos/eos: claimcls must not need cls_token/sep_token
XLMR_NAMES = dict(bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>")


def _family(name: str):
    """``(config class name, config kwargs, tokenizer, special token names)`` of a family."""
    if name == "bert":
        return "BertConfig", {}, _bert_like(BERT_SPECIALS), BERT_NAMES
    if name == "electra":  # embeddings narrower than the hidden states, as in ELECTRA-small
        return "ElectraConfig", {"embedding_size": 16}, _bert_like(BERT_SPECIALS), BERT_NAMES
    if name == "roberta":
        return "RobertaConfig", {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "max_position_embeddings": 130}, \
            _roberta_tok(), ROBERTA_NAMES
    if name == "xlm-roberta":
        return "XLMRobertaConfig", {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "max_position_embeddings": 130}, \
            _template(_unigram(ROBERTA_SPECIALS, "<unk>"), "<s>", "</s>"), XLMR_NAMES
    if name == "deberta-v2":  # DeBERTa-v3's settings: relative positions only, shared keys, buckets
        specials = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
        return "DebertaV2Config", {"relative_attention": True, "position_biased_input": False, "pos_att_type": ["p2c", "c2p"],
                                   "position_buckets": 32, "max_relative_positions": -1, "norm_rel_ebd": "layer_norm",
                                   "share_att_key": True, "type_vocab_size": 0, "pad_token_id": 0}, \
            _template(_unigram(specials, "[UNK]"), "[CLS]", "[SEP]"), BERT_NAMES
    if name == "modernbert":  # offsets not trimmed (as the released tokenizer); a sliding window shorter than a window
        return "ModernBertConfig", {"local_attention": 16, "global_attn_every_n_layers": 2, "pad_token_id": 0, "cls_token_id": 2,
                                    "sep_token_id": 3, "bos_token_id": 2, "eos_token_id": 3}, \
            _template(_byte_bpe(BERT_SPECIALS), "[CLS]", "[SEP]"), BERT_NAMES
    if name == "mpnet":  # all-mpnet-base-v2's layout: WordPiece with RoBERTa's special tokens, positions after the padding id
        return "MPNetConfig", {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "max_position_embeddings": 130}, \
            _template(_wordpiece(["<s>", "<pad>", "</s>", "[UNK]", "<mask>"]), "<s>", "</s>"), {**ROBERTA_NAMES, "unk_token": "[UNK]"}
    raise KeyError(name)


FAMILIES = ["bert", "roberta", "deberta-v2", "electra", "xlm-roberta", "modernbert", "mpnet"]


def make_encoder_folder(family: str, out):
    """Save a tiny random encoder of ``family`` and its fast tokenizer in ``out``."""
    import torch
    import transformers
    from transformers import AutoModel, PreTrainedTokenizerFast

    cfg_name, kwargs, tok, names = _family(family)
    if not hasattr(transformers, cfg_name):
        pytest.skip(f"transformers {transformers.__version__} has no {cfg_name}")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, **names)
    torch.manual_seed(0)
    config = getattr(transformers, cfg_name)(vocab_size=len(tokenizer), **{**SIZE, **kwargs})
    AutoModel.from_config(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module", params=FAMILIES)
def encoder_dir(request, tmp_path_factory):
    """A local folder with a tiny random encoder of the family and its fast tokenizer."""
    return make_encoder_folder(request.param, tmp_path_factory.mktemp(request.param))


def _config(encoder_dir, **more):
    return load_config(ROOT / "configs" / "tiny.yaml", {
        "model.encoder": str(encoder_dir), "model.max_length": "64", "data.bundled": "false",
        "data.train_files": str(FIXTURES / "tiny.jsonl"), "data.dev_files": str(FIXTURES / "tiny.jsonl"),
        "train.epochs": "2", "train.batch_size": "3", "train.mixed_precision": "no", **more})


def _texts_to_predict() -> list[str]:
    return [d.text for d in claimcls.read_corpus(FIXTURES / "tiny.jsonl")] + SENTENCES + ["  Leading spaces, then words.  "]


def _check_spans(docs) -> None:
    for doc in docs:
        for att in doc.attributions:
            for _, span in att.spans():
                assert doc.text[span.start : span.end] == span.text and span.text == span.text.strip()


def test_family_trains_predicts_saves_and_loads_back(encoder_dir, tmp_path):
    model = train(_config(encoder_dir), tmp_path / "m")
    model_type = json.loads((encoder_dir / "config.json").read_text())["model_type"]
    assert model.module.encoder.config.model_type == model_type
    texts = _texts_to_predict()
    pred = model.predict(texts)
    _check_spans(pred)
    # with the heads untrained on so little, the tag scores must still be finite and differ by input
    labels = model.token_labels(texts)
    assert len(labels) >= len(texts)
    model.save(tmp_path / "saved")
    again = claimcls.load(tmp_path / "saved", device="cpu", precision="fp32")
    assert type(again.module.encoder) is type(model.module.encoder)
    assert [d.to_dict() for d in again.predict(texts)] == [d.to_dict() for d in pred]
    for a, b in zip(again.token_labels(texts), labels):
        assert (a == b).all()


def _n_layers(module) -> int:
    from claimcls.modeling import encoder_layer_list

    return len(encoder_layer_list(module.encoder))


def test_encoder_layers_keeps_the_lower_layers(encoder_dir, tmp_path):
    import torch
    from transformers import AutoModel

    full = AutoModel.from_pretrained(encoder_dir)
    model = train(_config(encoder_dir, **{"model.encoder_layers": "1", "train.epochs": "1", "train.lr": "1e-9"}), tmp_path / "m")
    assert _n_layers(model.module) == 1
    assert json.loads((tmp_path / "m" / "encoder" / "config.json").read_text())["num_hidden_layers"] == 1
    # the layer kept is the pretrained lower one (a learning rate of 1e-9 leaves it nearly as it was)
    kept = dict(model.module.encoder.named_parameters())
    for name, p in full.named_parameters():
        if name in kept:
            assert torch.allclose(kept[name].float(), p.float(), atol=1e-5), name
    assert not any(".1." in n for n in kept)  # no second layer left
    again = claimcls.load(tmp_path / "m", device="cpu", precision="fp32")
    assert _n_layers(again.module) == 1
    texts = _texts_to_predict()
    assert [d.to_dict() for d in again.predict(texts)] == [d.to_dict() for d in model.predict(texts)]


@pytest.mark.parametrize("layers", ["0", "3", "-1"])
def test_encoder_layers_out_of_range_is_refused(encoder_dir, tmp_path, layers):
    with pytest.raises(ConfigError, match="model.encoder_layers"):
        train(_config(encoder_dir, **{"model.encoder_layers": layers}), tmp_path / "m")


@pytest.mark.parametrize("family, limit", [("roberta", 128), ("xlm-roberta", 128), ("mpnet", 128)])
def test_windows_longer_than_the_position_table_are_refused(family, limit, tmp_path):
    # RoBERTa-style tables count from the padding id: 130 rows take 128 tokens
    from claimcls.modeling import ClaimModel, build_encoder

    encoder, _ = build_encoder(str(make_encoder_folder(family, tmp_path)))
    config = _config(tmp_path).model
    ClaimModel(replace(config, max_length=limit), encoder)
    with pytest.raises(ConfigError, match=f"model.max_length is {limit + 1} but the .* takes at most {limit} tokens"):
        ClaimModel(replace(config, max_length=limit + 1), encoder)


def test_no_pooler_is_built_or_saved(tmp_path):
    from claimcls.modeling import build_encoder

    encoder, _ = build_encoder(str(make_encoder_folder("roberta", tmp_path)))
    assert getattr(encoder, "pooler", None) is None


@pytest.mark.parametrize("family", ["roberta", "xlm-roberta", "modernbert"])
def test_token_offsets_are_ordered_disjoint_and_without_spaces(family):
    from transformers import PreTrainedTokenizerFast

    from claimcls.encoding import clean_offsets

    _, _, tok, names = _family(family)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, **names)
    text = '"It is safe," she added.  Officials   said so.'
    raw = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    offsets = clean_offsets(text, raw)
    assert len(offsets) == len(raw)
    for (s, e), (s2, _) in zip(offsets, offsets[1:] + [(len(text), len(text))]):
        assert s <= e <= s2
        assert text[s:e] == text[s:e].strip()
    covered = {i for s, e in offsets for i in range(s, e)}
    assert covered == {i for i, ch in enumerate(text) if not ch.isspace()}
    if family == "modernbert":  # untrimmed byte-level offsets: " said" before cleaning, "said" after
        said = [k for k, (s, e) in enumerate(raw) if text[s:e].strip() == "said"]
        assert said and text[slice(*raw[said[0]])] == " said" and text[slice(*offsets[said[0]])] == "said"
