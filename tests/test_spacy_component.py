"""The spaCy component: same attributions as model.predict, spans aligned to spaCy tokens."""

import logging
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import claimcls
from claimcls.schema import Attribution, Document, Span

spacy = pytest.importorskip("spacy", reason="the spaCy extra is not installed: pip install -e '.[spacy]'")
from claimcls.spacy_component import set_attributions  # noqa: E402  (needs spacy)


@pytest.fixture(scope="module")
def nlp(tiny_model_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("claimcls", config={"model": str(tiny_model_dir), "device": "cpu"})
    return nlp


def test_pipe_gives_the_attributions_of_predict(nlp, tiny_model, bundled):
    texts = [d.text for d in claimcls.read_corpus("bundled", split="test")[:12]]
    expected = tiny_model.predict(texts)
    assert sum(len(d.attributions) for d in expected) > 0, "the tiny model predicts nothing: the test would prove nothing"
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
    doc_ = Document("d", text, attributions=(Attribution(cue=Span.of(text, 16, 20), content=(Span.of(text, 21, 23),),
                                                          source=Span.of(text, 4, 9)),))  # spaCy: "mayor" "'s"
    nlp = spacy.blank("en")
    doc = nlp(text)
    assert set_attributions(doc, doc_) == {"exact": 3, "expanded": 0, "unaligned": 0}
    inside = Document("d", text, attributions=(Attribution(cue=Span.of(text, 16, 19), content=(Span.of(text, 21, 23),)),))
    with caplog.at_level(logging.WARNING, logger="claimcls.spacy_component"):
        counts = set_attributions(doc, inside)
    assert counts == {"exact": 1, "expanded": 1, "unaligned": 0}
    assert doc._.attributions[0].cue.text == "said" and "expanded cue span 16-19 'sai'" in caplog.text
    blank = Document("d", text + "   x", attributions=(Attribution(cue=Span.of(text + "   x", 25, 27),
                                                                     content=(Span.of(text + "   x", 28, 29),)),))
    counts = set_attributions(nlp(text + "   x"), blank)
    assert counts["unaligned"] == 1  # a whitespace-only cue: no spaCy span, the attribution is left out, and said so
    with pytest.raises(ValueError, match="text differs"):
        set_attributions(nlp("other"), doc_)


def test_displacy_shows_the_spans(nlp):
    from spacy import displacy

    doc = nlp(claimcls.read_corpus("bundled")[0].text)
    html = displacy.render(doc, style="span", options={"spans_key": "claimcls"}, page=False)
    for span in doc.spans["claimcls"]:
        assert span.label_ in html


def test_component_needs_a_model():
    with pytest.raises(ValueError, match="needs a model folder"):
        spacy.blank("en").add_pipe("claimcls")


def test_entry_point_registers_the_factory_without_an_import(tiny_model_dir):
    if not any(ep.name == "claimcls" for ep in entry_points(group="spacy_factories")):
        pytest.skip("claimcls is installed without its spacy_factories entry point here; pip install -e '.[spacy]' registers it")
    code = ("import spacy; nlp = spacy.blank('en'); "
            f"nlp.add_pipe('claimcls', config={{'model': {str(tiny_model_dir)!r}, 'device': 'cpu'}}); print(nlp.pipe_names)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "['claimcls']" in run.stdout
