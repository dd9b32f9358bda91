"""The data shape, the corpus readers and writers, and their error messages."""

import json
from collections import Counter

import pytest

import claimcls
from claimcls import Attribution, CorpusError, Document, Span
from claimcls.corpus import validate_document
from claimcls.schema import KINDS
from claimcls.stats import corpus_stats
from conftest import FIXTURES


def _sp(text, piece):
    start = text.index(piece)
    return Span(start, start + len(piece), piece)


def _doc():
    text = "Both incidents, according to Minister Ola Berg, involved suspects. He denied it."
    return Document(
        "d1",
        text,
        claimcls.split_sentences(text),
        (
            Attribution(
                cue=_sp(text, "according to"),
                content=(_sp(text, "Both incidents"), _sp(text, "involved suspects")),
                source=_sp(text, "Minister Ola Berg"),
                kind="statement",
                quote="indirect",
                resolved_source="Ola Berg",
            ),
            Attribution(cue=_sp(text, "denied"), content=(_sp(text, "it."),), source=_sp(text, "He"),
                        kind="denial", resolved_source="Ola Berg", score=0.9),
        ),
    )


def test_document_json_shape_round_trips():
    doc = _doc()
    validate_document(doc)
    data = json.loads(json.dumps(doc.to_dict()))
    assert set(data) == {"id", "text", "sentences", "attributions"}
    assert set(data["attributions"][0]) == {"source", "cue", "content", "target", "kind", "quote", "resolved_source", "score"}
    assert data["attributions"][0]["target"] is None
    assert [c["text"] for c in data["attributions"][0]["content"]] == ["Both incidents", "involved suspects"]
    assert Document.from_dict(data) == doc


def test_jsonl_and_brat_writers_round_trip(tmp_path):
    doc = _doc()
    claimcls.write_corpus([doc], tmp_path / "c.jsonl")
    assert claimcls.read_corpus(tmp_path / "c.jsonl") == [doc]
    claimcls.write_corpus([doc], tmp_path / "brat", format="brat")
    assert (tmp_path / "brat" / "annotation.conf").is_file()
    back = claimcls.read_corpus(tmp_path / "brat")
    assert len(back) == 1
    assert back[0].attributions == doc.attributions


def test_bundled_corpus_is_complete_and_valid(bundled):
    stats = corpus_stats(bundled)
    assert stats["documents"] >= 80
    assert stats["sentences"] >= 800
    assert stats["sentences_without_attribution"] / stats["sentences"] >= 0.30
    assert all(stats["kinds"].get(k, 0) >= 30 for k in KINDS), stats["kinds"]
    assert all(stats["quotes"][q] > 0 for q in ("direct", "indirect", "mixed"))
    assert stats["spans"]["target"] > 0
    for doc in bundled:
        validate_document(doc, "bundled")
        for att in doc.attributions:
            assert att.source is None or att.resolved_source, (doc.id, att.cue)
    assert len({d.id for d in bundled}) == len(bundled)
    cues = Counter(a.cue.text.lower() for d in bundled for a in d.attributions)
    assert cues["according to"] >= 6
    assert sum(len(a.content) > 1 for d in bundled for a in d.attributions) >= 20  # content split by the cue


def test_seed_annotation_has_the_key_facts():
    from conftest import ROOT

    (seed,) = claimcls.read_corpus(ROOT / "seeds" / "000_5d75374b60e88995.jsonl")
    assert seed.text == (ROOT / "seeds" / "000_5d75374b60e88995.txt").read_text(encoding="utf-8")
    by_cue = {a.cue.text: a for a in seed.attributions}
    naqvi = by_cue["according to"]
    assert naqvi.source.text.endswith("Mohsin Naqvi")
    assert [c.text for c in naqvi.content] == ["Both incidents", "involved suspects from Afghanistan"]
    assert by_cue["has accused"].target.text == "Afghanistan and India"
    assert by_cue["has accused"].kind == "accusation"


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "a", "text": "x"', r"c\.jsonl:2: not valid JSON"),
        ('{"id": "a", "text": "He said it.", "attributions": [{"cue": {"start": 3, "end": 99, "text": "said"}, "content": [{"start": 8, "end": 10, "text": "it"}], "kind": "statement", "quote": "indirect"}]}',
         r"c\.jsonl:2: attribution 0: document 'a': cue span 3-99 is outside the text \(0-11\)"),
        ('{"id": "a", "text": "He said it.", "attributions": [{"cue": {"start": 3, "end": 7, "text": "told"}, "content": [{"start": 8, "end": 10, "text": "it"}], "kind": "statement", "quote": "indirect"}]}',
         r"cue span 3-7 says 'told' but the text there is 'said'"),
        ('{"id": "a", "text": "He said it.", "attributions": [{"content": [{"start": 8, "end": 10, "text": "it"}], "kind": "statement"}]}',
         r"c\.jsonl:2: an attribution is missing the field 'cue'"),
        ('{"id": "a", "text": "He said it.", "attributions": [{"cue": {"start": 3, "end": 7, "text": "said"}, "content": [], "kind": "statement", "quote": "indirect"}]}',
         r"has no content; every attribution needs one"),
        ('{"id": "a", "text": "   "}', r"c\.jsonl:2: document 'a' has an empty text"),
        ('{"id": "a", "text": "He said it.", "attributions": [{"cue": {"start": 3, "end": 7, "text": "said"}, "content": [{"start": 8, "end": 10, "text": "it"}], "kind": "gossip", "quote": "indirect"}]}',
         r"unknown kind 'gossip' \(cue 'said' at 3\); use one of statement, belief"),
        ('["not", "an", "object"]', r"c\.jsonl:2: a document must be a JSON object"),
    ],
    ids=["malformed", "out-of-range", "mismatch", "missing-cue", "no-content", "empty-doc", "unknown-kind", "not-object"],
)
def test_jsonl_errors_name_file_line_document_and_offsets(tmp_path, line, message):
    good = json.dumps({"id": "ok", "text": "Fine."})
    (tmp_path / "c.jsonl").write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        claimcls.read_corpus(tmp_path / "c.jsonl")


def test_non_utf8_file_is_named(tmp_path):
    (tmp_path / "c.jsonl").write_bytes(b'{"id": "a", "text": "caf\xe9"}\n')
    with pytest.raises(CorpusError, match=r"c\.jsonl: not UTF-8 \(byte 24"):
        claimcls.read_corpus(tmp_path / "c.jsonl")


def test_duplicate_ids_and_unknown_format(tmp_path):
    line = json.dumps({"id": "a", "text": "Fine."})
    (tmp_path / "c.jsonl").write_text(line + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="document id 'a' appears twice"):
        claimcls.read_corpus(tmp_path / "c.jsonl")
    (tmp_path / "c.xml").write_text("<x/>")
    with pytest.raises(CorpusError, match="cannot tell the format"):
        claimcls.read_corpus(tmp_path / "c.xml")
    with pytest.raises(CorpusError, match="no such file"):
        claimcls.read_corpus(tmp_path / "missing.jsonl")


def _polnear_like(root, ann: str, text: str):
    split = root / "data" / "train"
    (split / "text").mkdir(parents=True)
    (split / "attributions").mkdir()
    (split / "text" / "art1.txt").write_text(text, encoding="utf-8", newline="")
    (split / "attributions" / "art1_b2.ann").write_text(ann, encoding="utf-8")
    (split / "attributions" / "art1_a1.ann").write_text(ann.replace("Target", "Source"), encoding="utf-8")
    return root


BRAT_TEXT = "Officials said the plan, which\r\nfailed, was sound. It was claimed that taxes rose."


def _o(piece, after=0):
    start = BRAT_TEXT.index(piece, after)
    return f"{start} {start + len(piece)}"


BRAT_ANN = (
    f"T1\tSource {_o('Officials')}\tOfficials\n"
    f"T2\tCue {_o('said')}\tsaid\n"
    f"T3\tContent {_o('the plan')};{_o('was sound')}\tthe plan was sound\n"
    f"T4\tAttribution {_o('said')}\tsaid\n"
    "E1\tAttribution:T4 Source:T1 Cue:T2 Content:T3\n"
    f"T5\tCue {_o('claimed')}\tclaimed\n"
    f"T6\tContent {_o('that taxes rose.')}\tthat taxes rose.\n"
    f"T7\tAttribution-no-source {_o('claimed')}\tclaimed\n"
    "E2\tAttribution-no-source:T7 Cue:T5 Content:T6\n"
    f"T9\tDiscuss {_o('the plan, which')[:2]} {BRAT_TEXT.index('failed,') + 7}\tthe plan, which\r\n"
    "failed,\n"
    "#1\tAnnotatorNotes T9\tcheck this\n"
)


def test_brat_reader_polnear_layout(tmp_path):
    root = _polnear_like(tmp_path / "pn", BRAT_ANN, BRAT_TEXT)
    with pytest.raises(CorpusError, match=r"holds several splits \(train\); pass split=NAME|pass split"):
        claimcls.read_corpus(root)
    (doc,) = claimcls.read_corpus(root, split="train")
    assert doc.id == "art1"
    first, second = doc.attributions
    assert first.source.text == "Officials" and first.cue.text == "said"
    assert [c.text for c in first.content] == ["the plan", "was sound"]
    assert second.source is None and second.content[0].text == "that taxes rose."
    assert second.kind is None  # PolNeAR does not label kinds
    assert first.quote == "indirect"


def test_brat_reader_checks_offsets_and_text(tmp_path):
    root = _polnear_like(tmp_path / "pn", BRAT_ANN.replace("said\n", "says\n", 1), BRAT_TEXT)
    with pytest.raises(CorpusError, match=r"art1_a1\.ann:2: document 'art1': Cue span 10 14 says 'says' but the text there is 'said'"):
        claimcls.read_corpus(root, split="train")
    root = _polnear_like(tmp_path / "pn2", BRAT_ANN.replace(f"Cue {_o('claimed')}", "Cue 60 670"), BRAT_TEXT)
    with pytest.raises(CorpusError, match=r"Cue span 60-670 is outside the text"):
        claimcls.read_corpus(root, split="train")


def test_brat_attribution_without_content_raises_or_is_reported(tmp_path, caplog):
    ann = BRAT_ANN + f"T10\tCue {_o('It')}\tIt\nE3\tAttribution-no-source:T10 Cue:T10\n"
    root = _polnear_like(tmp_path / "pn", ann, BRAT_TEXT)
    with pytest.raises(CorpusError, match=r"attribution E3 has no content; every attribution needs a cue and a content"):
        claimcls.read_corpus(root, split="train")
    docs = claimcls.read_corpus(root, split="train", on_invalid="skip")
    assert len(docs[0].attributions) == 2
    assert "skipped 1 attributions without a cue or content" in caplog.text


def test_brat_annotator_choice(tmp_path):
    root = _polnear_like(tmp_path / "pn", BRAT_ANN, BRAT_TEXT)
    (doc,) = claimcls.read_corpus(root, split="train", annotator="b2")
    assert doc.attributions[0].source.text == "Officials"
    with pytest.raises(CorpusError, match="no annotation file"):
        claimcls.read_corpus(root, split="train", annotator="zz")


@pytest.mark.polnear
def test_polnear_train_and_dev_read_cleanly(polnear):
    dev = claimcls.read_corpus(polnear, split="dev", on_invalid="skip")
    assert len(dev) == 84
    stats = corpus_stats(dev)
    assert stats["attributions"] > 2000
    assert stats["spans"]["cue"] == stats["attributions"]


def test_jsonl_gz_round_trip_is_reproducible(tmp_path):
    from claimcls.corpus import iter_jsonl, write_jsonl

    docs = claimcls.read_corpus(FIXTURES / "tiny.jsonl")
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    assert write_jsonl(docs, a) == len(docs) and write_jsonl(docs, b) == len(docs)
    assert a.read_bytes() == b.read_bytes()  # no timestamp inside: a rebuilt corpus diffs clean
    assert list(iter_jsonl(a)) == docs == claimcls.read_corpus(a)  # read_corpus knows .jsonl.gz
