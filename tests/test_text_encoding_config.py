"""Sentences, span <-> label encoding, configuration."""

import pytest

import claimcls
from claimcls.config import load_config
from claimcls.encoding import case_features, decode_spans, encode_document, make_windows, round_trip
from claimcls.errors import ConfigError
from claimcls.schema import Document


def test_sentences_keep_abbreviations_and_quotes_and_offsets():
    text = ('Dr. Ana Ruiz of the U.S. Army said the plan failed at 3 p.m. on Monday.\n'
            '"We are done. We will leave," he said. The U.S. economy grew 2.5 percent.')
    sents = claimcls.split_sentences(text)
    assert [s.text for s in sents] == [
        "Dr. Ana Ruiz of the U.S. Army said the plan failed at 3 p.m. on Monday.",
        '"We are done. We will leave," he said.',
        "The U.S. economy grew 2.5 percent.",
    ]
    assert all(text[s.start : s.end] == s.text for s in sents)
    with pytest.raises(TypeError, match="expects a str"):
        claimcls.split_sentences(["a list"])


def _roundtrip(tokenizer, docs, max_length=256):
    total = ok = 0
    for i, doc in enumerate(docs):
        got = round_trip(encode_document(tokenizer, doc, i), doc, max_length)
        spans = [(role, s.start, s.end) for att in doc.attributions for role, s in att.spans()]
        # one BIO tag per token and role cannot hold two overlapping spans of one role (a report
        # nested in a quote's content: the inner content cuts the outer one); both are left out
        gold = {a for a in spans if not any(b != a and b[0] == a[0] and b[1] < a[2] and a[1] < b[2] for b in spans)}
        total += len(gold)
        ok += len(gold & got)
    return ok / total


def test_label_round_trip_on_the_bundled_corpus(tokenizer, bundled):
    assert _roundtrip(tokenizer, bundled) >= 0.995


def test_windows_cover_every_token_once_within_the_length_limit(tokenizer, bundled):
    for i, doc in enumerate(bundled[:20]):
        enc = encode_document(tokenizer, doc, i)
        for max_length in (32, 128, 256):
            windows = make_windows(enc, max_length)
            cores = [t for w in windows for t in range(w.core_start, w.core_end)]
            assert cores == list(range(len(enc.input_ids)))
            assert all(len(w) <= max_length - 2 and w.start <= w.core_start <= w.core_end <= w.end for w in windows)


def test_content_running_into_the_next_sentence_survives_the_window_edge(tokenizer):
    text = "Filler one here. Filler two here. " * 6 + 'The chief said "we will win. We always do." Then rain fell.'
    start = text.index('"we will win')
    end = text.index("do.\"") + 4
    doc = Document("x", text, claimcls.split_sentences(text), (
        claimcls.Attribution(cue=claimcls.Span(text.index("said"), text.index("said") + 4, "said"),
                             content=(claimcls.Span(start, end, text[start:end]),), kind="statement", quote="direct"),
    ))
    assert _roundtrip(tokenizer, [doc], max_length=48) == 1.0


def test_case_features_give_back_capitalisation_and_quotes(tokenizer):
    text = 'NATO chief Ana said "we win" today.'
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    feats = case_features(text, enc["offset_mapping"])
    words = [text[s:e] for s, e in enc["offset_mapping"]]
    by_word = dict(zip(words, feats))
    assert by_word["NATO"] % 8 == 3 and by_word["Ana"] % 8 == 2 and by_word["chief"] % 8 == 1
    assert by_word["we"] >= 8 and by_word["today"] < 8  # inside / outside the quotation


def test_config_validation_and_overrides(tmp_path):
    cfg = load_config(None, {"train.lr": "3e-5", "model.max_length": "128", "data.bundled": "false"})
    assert cfg.train.lr == 3e-5 and cfg.model.max_length == 128 and cfg.data.bundled is False
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 1e-5\n  epochs: 2\n")
    assert load_config(path).train.lr == 1e-5  # PyYAML reads 1e-5 as a string
    with pytest.raises(ConfigError, match=r"unknown key train\.lrr; valid keys of train: epochs, batch_size, lr"):
        load_config(None, {"train.lrr": "1"})
    with pytest.raises(ConfigError, match=r"unknown section 'optim' in override 'optim.lr'; valid sections: model, data, train"):
        load_config(None, {"optim.lr": "1"})
    with pytest.raises(ConfigError, match=r"train\.epochs must be int, got 'two'"):
        load_config(None, {"train.epochs": "two"})
    with pytest.raises(ConfigError, match=r"model\.max_length must be between 16 and 512, got 4"):
        load_config(None, {"model.max_length": "4"})
    with pytest.raises(ConfigError, match=r"config file .*nope\.yaml' does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"data\.polnear is true but no PolNeAR folder is given"):
        load_config(None, {"data.polnear": "true", "data.polnear_dir": ""}).data.polnear_path()


def test_every_shipped_config_loads():
    from conftest import ROOT

    for path in sorted((ROOT / "configs").glob("*.yaml")):
        load_config(path)


def test_decoding_repair_joins_words_and_lists_but_not_separate_cues(tokenizer):
    text = "Officials from France, Germany, and Britain reaffirmed it, according to Smith, adding more."
    doc = Document("x", text, claimcls.split_sentences(text))
    enc = encode_document(tokenizer, doc)
    words = [text[a:b] for a, b in enc.offsets]

    def tag(*marks):  # (token text, tag) in order of appearance
        tags, k = [0] * len(words), 0
        for word, t in marks:
            k = words.index(word, k)
            tags[k] = t
        return tags

    def spans(tags, **kw):
        return [text[enc.offsets[a][0] : enc.offsets[b - 1][1]] for a, b in decode_spans(enc, tags, 0, len(words), (0, len(words)), **kw)]

    listed = tag(("France", 1), ("Germany", 1), ("Britain", 1))
    assert spans(listed) == ["France", "Germany", "Britain"]  # gold-style decoding changes nothing
    assert spans(listed, repair=True) == ["France, Germany, and Britain"]
    assert spans(listed, repair=True, bridge=False) == ["France", "Germany", "Britain"]
    assert spans(tag(("firmed", 1)), repair=True) == ["reaffirmed"]  # a word cut by the tagger is made whole
    assert spans(tag(("re", 1), ("firmed", 1)), repair=True) == ["reaffirmed"]  # once, not twice
    # "according/B to/B" is one cue; two spans a comma apart stay two without bridging
    assert spans(tag(("according", 1), ("to", 1)), repair=True, bridge=False) == ["according to"]
    two = tag(("Smith", 1), ("adding", 1))
    assert spans(two, repair=True) == ["Smith, adding"]
    assert spans(two, repair=True, bridge=False) == ["Smith", "adding"]


def test_content_pieces_join_unless_the_cue_or_source_lies_between():
    from claimcls.heads import merge_pieces

    # "The ministry said both ministers welcomed the agreement": content tagged as pieces
    # around a nested report (tokens 3-4 and 6-8) is one content
    cue, source = (2, 3), (0, 2)
    assert merge_pieces([(3, 4), (6, 8)], [cue, source]) == [(3, 8)]
    # "Both incidents, according to Naqvi, involved suspects": the cue and the source sit
    # between the pieces, which stay apart
    cue, source = (3, 5), (5, 6)
    assert merge_pieces([(0, 2), (7, 10)], [cue, source]) == [(0, 2), (7, 10)]
    assert merge_pieces([(0, 2), (7, 10)], [(3, 5)]) == [(0, 2), (7, 10)]  # the cue alone is enough
    assert merge_pieces([(0, 2), (2, 4), (5, 6)], [(8, 9)]) == [(0, 6)]
    assert merge_pieces([], [(0, 1)]) == []
