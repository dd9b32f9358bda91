"""The spaCy component: same attributions as model.predict, spans aligned to spaCy tokens."""

import logging
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import claimcls
from claimcls.schema import Attribution, Document, Span

spacy = pytest.importorskip("spacy", reason="the spaCy extra is not installed: pip install -e '.[spacy]'")
from claimcls.spacy_component import set_attributions  # noqa: E402  (needs spacy)


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def nlp(overfit):
    nlp = spacy.blank("en")
    nlp.add_pipe("claimcls", config={"model": str(overfit[1]), "device": "cpu"})
    return nlp


@pytest.fixture(scope="module")
def texts():
    """Texts the overfitted tiny model labels (its own three) and bundled test articles."""
    return [d.text for d in claimcls.read_corpus(FIXTURES / "tiny.jsonl")] + \
        [d.text for d in claimcls.read_corpus("bundled", split="test")[:9]]


def test_pipe_gives_the_attributions_of_predict(nlp, overfit, texts):
    model = overfit[0]
    # nlp.pipe(batch_size=5) hands claimcls 5, 5 and 2 documents: the same calls give the same floats
    expected = [d for k in range(0, 12, 5) for d in model.predict(texts[k : k + 5])]
    assert sum(len(d.attributions) for d in expected) > 0, "the model predicts nothing: the test would prove nothing"
    component = nlp.get_pipe("claimcls")
    before = sum(component.alignment.values())
    docs = list(nlp.pipe(texts, batch_size=5))  # three claimcls batches
    for doc, want in zip(docs, expected):
        counts = doc._.claimcls_alignment
        assert sum(counts.values()) == sum(len(a.spans()) for a in want.attributions)  # every span counted
        kept = [a for a in want.attributions if doc.char_span(a.cue.start, a.cue.end, alignment_mode="expand")]
        assert [s.attribution for s in doc._.attributions] == kept
        for sa in doc._.attributions:
            a = sa.attribution
            assert (sa.kind, sa.quote, sa.resolved_source, sa.score) == (a.kind, a.quote, a.resolved_source, a.score)
            for role, span in a.spans():
                got = {"source": [sa.source], "cue": [sa.cue], "target": [sa.target], "content": list(sa.content)}[role]
                assert any(g is not None and g.label_ == role.upper() and g.start_char <= span.start and span.end <= g.end_char
                           for g in got), (role, span)
        labels = {(s.start_char, s.end_char, s.label_) for s in doc.spans["claimcls"]}
        assert labels == {(s.start_char, s.end_char, s.label_) for sa in doc._.attributions
                          for s in [sa.source, sa.cue, sa.target, *sa.content] if s is not None}
    assert sum(component.alignment.values()) - before == sum(len(a.spans()) for d in expected for a in d.attributions)
    assert [d.text for d in docs] == texts


def test_gold_bundled_test_split_aligns_exactly():
    nlp = spacy.blank("en")
    total = {"exact": 0, "expanded": 0, "unaligned": 0}
    for gold in claimcls.read_corpus("bundled", split="test"):
        for k, v in set_attributions(nlp(gold.text), gold).items():
            total[k] += v
    assert total["expanded"] == total["unaligned"] == 0 and total["exact"] > 1000


def test_span_inside_a_token_is_widened_counted_and_logged(caplog):
    text = "The mayor's aide said no."
    said, no = text.index("said"), text.index("no")
    doc_ = Document("d", text, attributions=(Attribution(cue=Span.of(text, said, said + 4), content=(Span.of(text, no, no + 2),),
                                                          source=Span.of(text, 4, 9)),))  # spaCy: "mayor" "'s"
    nlp = spacy.blank("en")
    doc = nlp(text)
    assert set_attributions(doc, doc_) == {"exact": 3, "expanded": 0, "unaligned": 0}
    inside = Document("d", text, attributions=(Attribution(cue=Span.of(text, said, said + 3), content=(Span.of(text, no, no + 2),)),))
    with caplog.at_level(logging.WARNING, logger="claimcls.spacy_component"):
        counts = set_attributions(doc, inside)
    assert counts == {"exact": 1, "expanded": 1, "unaligned": 0}
    assert doc._.attributions[0].cue.text == "said" and f"expanded cue span {said}-{said + 3} 'sai'" in caplog.text
    # the space before "said" belongs to no spaCy token: no spaCy span, the attribution is left out, and said so
    blank = Document("d", text, attributions=(Attribution(cue=Span.of(text, said - 1, said), content=(Span.of(text, no, no + 2),)),))
    assert set_attributions(doc, blank) == {"exact": 1, "expanded": 0, "unaligned": 1}
    assert doc._.attributions == [] and [s.text for s in doc.spans["claimcls"]] == ["no"]
    with pytest.raises(ValueError, match="text differs"):
        set_attributions(nlp("other"), doc_)


def test_displacy_shows_the_spans(nlp, texts):
    from spacy import displacy

    doc = nlp(texts[0])
    assert {s.label_ for s in doc.spans["claimcls"]} >= {"SOURCE", "CUE", "CONTENT"}
    html = displacy.render(doc, style="span", options={"spans_key": "claimcls"}, page=False)
    for label in ("SOURCE", "CUE", "CONTENT"):
        assert f">{label}<" in html.replace(" ", "").replace("\n", "")


def test_component_needs_a_model():
    with pytest.raises(ValueError, match="needs a model folder"):
        spacy.blank("en").add_pipe("claimcls")


def test_entry_point_registers_the_factory_without_an_import(tiny_model_dir):  # a fresh process: no import of ours
    if not any(ep.name == "claimcls" for ep in entry_points(group="spacy_factories")):
        pytest.skip("claimcls is installed without its spacy_factories entry point here; pip install -e '.[spacy]' registers it")
    code = ("import spacy; nlp = spacy.blank('en'); "
            f"nlp.add_pipe('claimcls', config={{'model': {str(tiny_model_dir)!r}, 'device': 'cpu'}}); print(nlp.pipe_names)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "['claimcls']" in run.stdout
