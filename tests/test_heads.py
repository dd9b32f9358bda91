"""The head protocol: decoding hand-built scores, the loss from forward(labels=...), and the
decoder config saved in the model folder."""

import itertools
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

import claimcls
from claimcls import heads
from claimcls.batching import LABEL_KEYS, collate, inference_examples, training_examples
from claimcls.config import DecodeConfig, ModelConfig, config_from_dict
from claimcls.encoding import B, I, O, encode_document
from claimcls.errors import ConfigError
from claimcls.schema import KINDS, ROLES, Document
from conftest import FIXTURES

TEXT = "Ana Ruiz said the bridge would reopen. It rained."


@pytest.fixture()
def window(tokenizer):
    doc = Document("d", TEXT, claimcls.split_sentences(TEXT))
    enc = encode_document(tokenizer, doc, 0)
    (ex,) = inference_examples(tokenizer, enc, 64, 1, 0.9)
    return ex, enc


def tag_logits(ex, enc, marks):
    """Logits ``(1, T, roles, 3)`` whose argmax tags each ``(role, phrase)`` B I I..., else O."""
    logits = torch.zeros((1, len(ex.input_ids), len(ROLES), 3))
    logits[..., O] = 5.0
    for role, phrase in marks:
        start = TEXT.index(phrase)
        toks = [t for t, (a, b) in enumerate(enc.offsets) if start <= a and b <= start + len(phrase)]
        for k, t in enumerate(toks):
            logits[0, t - ex.window.start + 1, ROLES.index(role)] = 0.0
            logits[0, t - ex.window.start + 1, ROLES.index(role), B if k == 0 else I] = 10.0
    return logits


def scorer(ex, enc, link_by_text, kind="warning"):
    """A Scorer giving each candidate the logit ``link_by_text[its text]``, "none" 0."""

    def score(cues, cands, pairs):
        text = {j: TEXT[enc.offsets[a - 1 + ex.window.start][0] : enc.offsets[b - 2 + ex.window.start][1]]
                for j, (_, a, b, _) in enumerate(cands)}
        kinds = np.zeros((len(cues), len(KINDS)))
        kinds[:, KINDS.index(kind)] = 1.0
        return heads.Scores(np.array([link_by_text[text[j]] for _, j in pairs]), np.zeros((len(cues), 3)), kinds)

    return score


def run(window, marks, links, config=DecodeConfig()):
    ex, enc = window
    return [att for _, att in heads.decode([ex], [enc], tag_logits(ex, enc, marks), scorer(ex, enc, links), config)]


MARKS = [("source", "Ana Ruiz"), ("cue", "said"), ("content", "the bridge would reopen")]
P60 = float(np.log(0.6 / 0.4))  # a link logit of probability 0.6


def test_decoding_hand_built_scores_gives_the_attribution_they_describe(window):
    (att,) = run(window, MARKS, {"Ana Ruiz": 3.0, "the bridge would reopen": P60})
    assert (att.source.text, att.cue.text, [c.text for c in att.content], att.target) == (
        "Ana Ruiz", "said", ["the bridge would reopen"], None)
    assert att.kind == "warning" and att.quote == "indirect"
    assert att.score == pytest.approx(0.6, abs=1e-3)  # cue tag probability (~1) x content link probability
    for _, span in att.spans():
        assert TEXT[span.start : span.end] == span.text
    (none,) = run(window, MARKS, {"Ana Ruiz": -1.0, "the bridge would reopen": P60})
    assert none.source is None  # "no source" (logit 0) beats a candidate at -1


def test_the_content_thresholds_decide_which_cues_become_attributions(window):
    links = {"Ana Ruiz": 3.0, "the bridge would reopen": P60}
    assert len(run(window, MARKS, links, DecodeConfig(content_threshold=0.7, content_fallback=0.2))) == 1  # best kept
    assert run(window, MARKS, links, DecodeConfig(content_threshold=0.7, content_fallback=0.65)) == []
    assert run(window, MARKS, {**links, "the bridge would reopen": -3.0}) == []  # nothing said: no attribution


def test_content_pieces_merge_only_when_the_config_says_so(window):
    marks = [("source", "Ana Ruiz"), ("cue", "said"), ("content", "the bridge"), ("content", "reopen")]
    links = {"Ana Ruiz": 3.0, "the bridge": 2.0, "reopen": 2.0}
    (merged,) = run(window, marks, links)
    assert [c.text for c in merged.content] == ["the bridge would reopen"]
    (apart,) = run(window, marks, links, DecodeConfig(merge_content=False))
    assert [c.text for c in apart.content] == ["the bridge", "reopen"]
    assert apart.quote == merged.quote == "indirect"


def test_forward_returns_the_weighted_loss_with_labels_and_scores_without():
    from claimcls.modeling import ClaimModel, build_encoder

    torch.manual_seed(0)
    encoder, tok = build_encoder("tiny")
    module = ClaimModel(ModelConfig(encoder="tiny", span_dim=32), encoder).eval()
    docs = claimcls.read_corpus(FIXTURES / "tiny.jsonl")
    batch = collate([ex for i, d in enumerate(docs) for ex in training_examples(tok, d, i, 64, 1, True)], tok.pad_token_id)
    inputs = [batch["input_ids"], batch["attention_mask"], batch["case_ids"], batch["sent_ids"]]
    labels = {k: batch[k] for k in LABEL_KEYS}
    plain = module(*inputs)
    assert plain.loss is None and plain.tag_logits.shape == (*batch["input_ids"].shape, len(ROLES), 3)
    with torch.no_grad():
        out = module(*inputs, labels=labels, loss_weights={"link": 1.0, "kind": 1.0})
        no_kind = module(*inputs, labels=labels, loss_weights={"link": 1.0, "kind": 0.0})
    assert set(out.loss_parts) == {"tag", "link", "kind"} and all(v > 0 for v in out.loss_parts.values())
    assert out.loss.item() == pytest.approx(sum(out.loss_parts.values()), rel=1e-5)
    assert out.loss.item() - no_kind.loss.item() == pytest.approx(out.loss_parts["kind"], rel=1e-4)
    with pytest.raises(ValueError, match="needs sent_ids"):
        module(*inputs[:3], labels=labels)


def test_decode_config_is_saved_in_the_model_folder_and_read_back(tiny_model_dir, tmp_path):
    meta = json.loads((tiny_model_dir / "config.json").read_text())
    assert meta["config"]["decode"] == config_from_dict({}).to_dict()["decode"]
    model = claimcls.load(tiny_model_dir, device="cpu", precision="fp32")
    assert model.decode == DecodeConfig()
    model.decode = replace(model.decode, content_threshold=0.6, bridge_roles=("target",))
    model.save(tmp_path / "m")
    again = claimcls.load(tmp_path / "m", device="cpu", precision="fp32")
    assert again.decode == DecodeConfig(content_threshold=0.6, bridge_roles=("target",))


def test_folders_saved_before_the_decode_section_load_with_the_values_of_then(tiny_model_dir, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(tiny_model_dir, old)
    meta = json.loads((old / "config.json").read_text())
    del meta["config"]["decode"]
    meta["config"]["model"]["predict_core_share"] = 0.8  # where the core share was kept then
    (old / "config.json").write_text(json.dumps(meta))
    assert claimcls.load(old, device="cpu", precision="fp32").decode == DecodeConfig(core_share=0.8, tag_decoder="argmax")


def test_folders_saved_before_the_viterbi_decoder_keep_decoding_token_by_token(tiny_model_dir, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(tiny_model_dir, old)
    meta = json.loads((old / "config.json").read_text())
    del meta["config"]["decode"]["tag_decoder"]
    (old / "config.json").write_text(json.dumps(meta))
    assert claimcls.load(old, device="cpu", precision="fp32").decode.tag_decoder == "argmax"
    assert claimcls.load(tiny_model_dir, device="cpu", precision="fp32").decode.tag_decoder == "viterbi"


def _brute_force_bio(logp):
    """The best tag sequence with no I after an O or at the start, by trying them all."""
    best, best_path = -np.inf, None
    for path in itertools.product((O, B, I), repeat=len(logp)):
        if any(t == I and (k == 0 or path[k - 1] == O) for k, t in enumerate(path)):
            continue
        total = sum(logp[k, t] for k, t in enumerate(path))
        if total > best:
            best, best_path = total, path
    return list(best_path)


def test_viterbi_finds_the_best_well_formed_tag_sequence():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 6, 3)) * 3
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    got = heads.bio_viterbi(logp)
    for row in range(len(logp)):
        assert got[row].tolist() == _brute_force_bio(logp[row])
        assert not any(t == I and (k == 0 or got[row][k - 1] == O) for k, t in enumerate(got[row]))


def test_viterbi_reads_a_span_as_a_whole_where_argmax_reads_it_token_by_token(window):
    """"said" tagged O 0.45 / B 0.40 / I 0.15 then I: token by token the span starts at the
    I; the best well-formed reading starts it one token earlier, on the B."""
    ex, enc = window
    logits = tag_logits(ex, enc, [("source", "Ana Ruiz"), ("content", "the bridge would reopen")])
    said = TEXT.index("said")
    (t,) = [t for t, (a, b) in enumerate(enc.offsets) if a == said]
    row = t - ex.window.start + 1
    logits[0, row - 1, ROLES.index("cue")] = torch.log(torch.tensor([0.45, 0.40, 0.15]))  # "Ruiz"
    logits[0, row, ROLES.index("cue")] = torch.log(torch.tensor([0.10, 0.10, 0.80]))  # "said"
    links = {"Ana Ruiz": 3.0, "Ruiz said": -3.0, "said": -3.0, "the bridge would reopen": 3.0}
    score = scorer(ex, enc, links)
    argmax = [a.cue.text for _, a in heads.decode([ex], [enc], logits, score, DecodeConfig(tag_decoder="argmax"))]
    viterbi = [a.cue.text for _, a in heads.decode([ex], [enc], logits, score, DecodeConfig(tag_decoder="viterbi"))]
    assert argmax == ["said"] and viterbi == ["Ruiz said"]


@pytest.mark.parametrize("values, message", [
    ({"content_threshold": 0.3, "content_fallback": 0.4}, r"content_fallback <= decode.content_threshold"),
    ({"bridge_roles": "target,speaker"}, r"unknown role 'speaker'; roles: source, cue, content, target"),
    ({"core_share": 0.1}, r"decode.core_share must be between 0.2 and 1, got 0.1"),
    ({"tag_decoder": "crf"}, r"decode.tag_decoder must be 'viterbi' or 'argmax', got 'crf'"),
], ids=["thresholds", "roles", "core", "tag decoder"])
def test_decode_config_errors(values, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"decode": values})


def test_cue_bias_moves_the_cue_tagger_threshold(window):
    links = {"Ana Ruiz": 3.0, "the bridge would reopen": P60}
    # the hand-built cue tokens have logits O 0, B or I 10: a bias under -10 makes them O
    assert [a.cue.text for a in run(window, MARKS, links, DecodeConfig(cue_bias=-9.0))] == ["said"]
    assert run(window, MARKS, links, DecodeConfig(cue_bias=-11.0)) == []
    # other roles keep their spans: the content is still tagged, only the cue is gone
    with pytest.raises(ConfigError, match="decode.cue_bias must be a finite number"):
        DecodeConfig(cue_bias=float("nan"))


def test_the_encoder_cache_runs_the_encoder_once_and_changes_no_prediction(tiny_model_dir):
    model = claimcls.load(tiny_model_dir, device="cpu", precision="fp32")
    texts = [d.text for d in claimcls.read_corpus(FIXTURES / "tiny.jsonl")]
    plain = [replace(model.decode, cue_bias=b) for b in (0.0, -1.0)]
    expected = []
    for config in plain:
        model.decode = config
        expected.append([d.to_dict() for d in model.predict(texts)])
    calls = []
    encode = model._encode
    model._encode = lambda t: calls.append(1) or encode(t)
    got, counts = [], []
    with model.encoder_cache():
        for config in plain:
            model.decode = config
            got.append([d.to_dict() for d in model.predict(texts)])
            counts.append(len(calls))
    assert got == expected
    assert counts[0] > 0 and counts[1] == counts[0]  # the second setting ran no encoder
