"""Quote type and source resolution rules."""

import claimcls
from claimcls.rules import quote_type, resolve_source
from claimcls.schema import Span
from conftest import ROOT


def _spans(*texts):
    return [Span(0, len(t), t) for t in texts]


def test_quote_type():
    assert quote_type(_spans('"We will win."')) == "direct"
    assert quote_type(_spans("“The turbines,”", "“will be visible.”")) == "direct"
    assert quote_type(_spans('against "drawing conclusions" too early')) == "mixed"
    assert quote_type(_spans("that the plan had failed")) == "indirect"
    assert quote_type(_spans("that the mayor’s plan had failed")) == "indirect"  # an apostrophe is no quote


def _resolve_all(doc):
    earlier, out = [], []
    for att in sorted(doc.attributions, key=lambda a: a.cue.start):
        if att.source is not None:
            name = resolve_source(att.source, doc.text, earlier)
            earlier.append((att.source, name))
            out.append((att, name))
    return out


def test_seed_sources_resolve_to_names():
    (seed,) = claimcls.read_corpus(ROOT / "seeds" / "000_5d75374b60e88995.jsonl")
    got = {(a.source.text, a.cue.text): name for a, name in _resolve_all(seed)}
    assert got[("He", "also stressed")] == "Abbas Araghchi"
    assert got[("They", "called for")] == "Sergey Lavrov and Abbas Araghchi"
    assert got[("Interior Minister Mohsin Naqvi", "according to")] == "Mohsin Naqvi"
    assert got[("Lavrov", "emphasized")] == "Sergey Lavrov"


def test_resolution_agrees_with_the_bundled_annotation(bundled):
    pairs = [(a.resolved_source, name) for doc in bundled for a, name in _resolve_all(doc)]
    accuracy = sum(g.lower() == p.lower() for g, p in pairs) / len(pairs)
    # 0.752 on the 384-document corpus of 2026-11-30 (0.86 on its first 84 documents, whose
    # sources were simpler): a guard against the rules getting worse, not a target
    assert accuracy >= 0.74, accuracy
