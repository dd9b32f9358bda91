"""Overlays (kinds and targets over PolNeAR by offsets), their scoring, and the cue-table baseline.

The overlay (../shared/data/polnear_overlay, kept out of git) is checked line by line against PolNeAR dev
when the corpus is here; everything else runs on hand-made documents.
"""

import json
import os
from pathlib import Path

import pytest

from claimcls.cue_table import KIND_CUES, cue_table_kind
from claimcls.errors import CorpusError
from claimcls.evaluation import score_overlay
from claimcls.overlay import apply_overlay, overlay_problems, read_overlay
from claimcls.schema import KINDS, Attribution, Document, Sentence, Span

# offsets into PolNeAR are derived from it, so the overlay lives beside the corpus, not in git
OVERLAY = Path(os.environ.get("CLAIMCLS_POLNEAR_OVERLAY") or Path(__file__).parents[2] / "shared" / "data" / "polnear_overlay")
TEXT = "Ana Ruiz accused the mayor of lying. She said the bridge would reopen. Critics urged Ruiz to resign."


def sp(piece):
    start = TEXT.index(piece)
    return Span(start, start + len(piece), piece)


def att(cue, content, source=None, **kw):
    return Attribution(cue=sp(cue), content=(sp(content),), source=sp(source) if source else None, kind=None, **kw)


def gold_doc():
    cut = [0, TEXT.index("She"), TEXT.index("Critics"), len(TEXT)]
    sentences = tuple(Sentence.of(TEXT, a, b) for a, b in zip(cut, cut[1:]))
    return Document("d1", TEXT, sentences, (att("accused", "of lying", "Ana Ruiz"), att("said", "the bridge would reopen", "She"),
                                             att("urged", "Ruiz to resign", "Critics")))


def lines_for(doc, kinds, targets):
    return [{"doc": doc.id, "cue": [a.cue.start, a.cue.end], "kind": k, "target": t} for a, k, t in zip(doc.attributions, kinds, targets)]


def write(tmp_path, rows, name="part.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cue_table_follows_the_guide():
    assert set(KIND_CUES) == set(KINDS)
    cases = {"said": "statement", "also said": "statement", "according to": "statement", "did not deny": "denial",
             "has accused": "accusation", "was criticized": "criticism", "called on": "appeal", "called for": "appeal",
             "urged": "appeal", "expressed concern over": "belief", "is expected to": "belief", "warned": "warning",
             "vowed": "promise", "praised": "support", "called": "statement", "tweeted": "statement"}
    assert {c: cue_table_kind(c) for c in cases} == cases


def test_an_overlay_sets_kind_and_target_of_the_documents_it_names(tmp_path):
    doc, other = gold_doc(), Document("d2", "Nothing here.")
    target = sp("the mayor")
    rows = lines_for(doc, ["accusation", "statement", "appeal"], [[target.start, target.end], None, None])
    (out,) = apply_overlay([doc, other], read_overlay(write(tmp_path, rows).parent))
    assert [a.kind for a in out.attributions] == ["accusation", "statement", "appeal"]
    assert out.attributions[0].target == target and out.attributions[1].target is None


@pytest.mark.parametrize("change, message", [
    ({"doc": "nope"}, r"no document 'nope'"),
    ({"cue": [0, 3]}, r"has no gold cue at \[0, 3\]"),
    ({"target": [0, 999]}, r"ends past the text"),
])
def test_lines_that_do_not_fit_the_corpus_are_refused(tmp_path, change, message):
    doc = gold_doc()
    rows = lines_for(doc, ["accusation", "statement", "appeal"], [None] * 3)
    rows[0].update(change)
    with pytest.raises(CorpusError, match=message):
        apply_overlay([doc], read_overlay(write(tmp_path, rows)))


def test_bad_kinds_missing_and_doubled_attributions_and_content_as_target_are_refused(tmp_path):
    doc = gold_doc()
    rows = lines_for(doc, ["accusation", "statement", "plea"], [None] * 3)
    with pytest.raises(CorpusError, match=r"part.jsonl:3: kind 'plea' is not one of statement, belief"):
        read_overlay(write(tmp_path, rows))
    rows = lines_for(doc, ["accusation", "statement"], [None] * 2)
    assert overlay_problems([doc], read_overlay(write(tmp_path, rows))) == [
        "document 'd1': 1 gold attributions have no overlay line (cues [[79, 84]]); an overlaid document labels every attribution"]
    rows = lines_for(doc, ["accusation", "statement", "appeal"], [None] * 3) + lines_for(doc, ["accusation"], [None])
    with pytest.raises(CorpusError, match=r"part.jsonl:4: the attribution 'd1' cue \[9, 16\] is already labelled at .*part.jsonl:1"):
        apply_overlay([doc], read_overlay(write(tmp_path, rows)))
    content = doc.attributions[1].content[0]
    rows = lines_for(doc, ["accusation", "statement", "appeal"], [None, [content.start, content.end], None])
    with pytest.raises(CorpusError, match=r"is the whole content; a party that is all the content leaves the target null"):
        apply_overlay([doc], read_overlay(write(tmp_path, rows)))
    with pytest.raises(CorpusError, match=r"exactly the fields cue, doc, kind, target; got \['cue', 'doc', 'kind', 'target', 'text'\]"):
        read_overlay(write(tmp_path, [dict(rows[0], text="words")]))
    with pytest.raises(CorpusError, match=r"found none"):
        read_overlay(tmp_path / "empty")


def test_overlay_scores_kinds_and_targets_beside_the_cue_table(tmp_path):
    doc = gold_doc()
    mayor, ruiz = sp("the mayor"), sp("Ruiz to")
    rows = lines_for(doc, ["accusation", "promise", "appeal"], [[mayor.start, mayor.end], None, [ruiz.start, ruiz.start + 4]])
    (gold,) = apply_overlay([doc], read_overlay(write(tmp_path, rows)))
    # the model finds the first two attributions (kinds accusation, statement) and the mayor as target
    a0, a1 = gold.attributions[:2]
    pred = Document("d1", TEXT, gold.sentences, (
        Attribution(cue=a0.cue, content=a0.content, source=a0.source, target=mayor, kind="accusation"),
        Attribution(cue=a1.cue, content=a1.content, source=a1.source, kind="statement"),
    ))
    m = score_overlay([gold], [Document("other", "x"), pred])
    assert m["kind"] == {"accuracy": 50.0, "macro_f1": 50.0, "n": 2}  # accusation right, promise missed
    assert m["target"]["exact"] == {"precision": 100.0, "recall": 50.0, "f1": 66.67, "pred": 1, "gold": 2}
    # the table reads "said" as statement (wrong here), "accused" and "urged" right
    assert m["cue_table"]["all_gold"] == {"accuracy": 66.67, "macro_f1": 66.67, "n": 3}
    assert m["cue_table"]["matched"] == {"accuracy": 50.0, "macro_f1": 50.0, "n": 2}
    assert m["gold_kinds"] == {"accusation": 1, "appeal": 1, "promise": 1}
    assert "resolved_source" not in m


@pytest.mark.polnear
def test_the_committed_overlay_fits_polnear_dev(polnear):
    import claimcls

    if not OVERLAY.is_dir():
        pytest.skip(f"no PolNeAR overlay at {OVERLAY} (set CLAIMCLS_POLNEAR_OVERLAY)")
    lines = read_overlay(OVERLAY)
    docs = claimcls.read_corpus(polnear, split="dev", on_invalid="skip")
    assert overlay_problems(docs, lines) == []
    overlaid = apply_overlay(docs, lines)
    assert len(overlaid) >= 10 and sum(len(d.attributions) for d in overlaid) == len(lines)
    for doc in overlaid:
        for a in doc.attributions:
            if a.target is not None:  # a party's words, not blank or cut mid-word
                t = a.target
                assert t.text.strip() == t.text and t.text, (doc.id, t)
                assert not doc.text[t.start - 1:t.start].isalnum() and not doc.text[t.end:t.end + 1].isalnum(), (doc.id, t)


def test_evaluate_with_an_overlay_prints_kinds_beside_the_cue_table(tiny_model_dir, tmp_path, capsys):
    from claimcls.cli import main
    from claimcls.corpus import read_corpus
    from conftest import FIXTURES

    docs = read_corpus(FIXTURES / "tiny.jsonl")
    rows = [{"doc": docs[0].id, "cue": [a.cue.start, a.cue.end], "kind": "belief", "target": None} for a in docs[0].attributions]
    out = tmp_path / "m.json"
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(FIXTURES / "tiny.jsonl"), "--precision", "fp32",
                 "--overlay", str(write(tmp_path, rows)), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"overlay: 1 documents, {len(rows)} gold attributions (belief {len(rows)})" in printed
    assert "cue table, on every gold cue" in printed
    metrics = json.loads(out.read_text())
    assert metrics["overlay"]["cue_table"]["all_gold"]["accuracy"] == 0.0  # the cues are "said"/"added": statements
    assert metrics["overlay"]["documents"] == 1 and metrics["documents"] == len(docs)
    rows[0]["cue"] = [0, 1]
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(FIXTURES / "tiny.jsonl"),
                 "--overlay", str(write(tmp_path, rows))]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has no gold cue at [0, 1]" in err, err
