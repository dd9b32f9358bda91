"""evaluation.score on hand-made cases: the numbers every published figure rests on."""

import pytest

from claimcls.evaluation import match_attributions, score
from claimcls.schema import Attribution, Document, Sentence, Span

TEXT = "Ana Ruiz said the bridge would reopen on Monday. Critics, she added, were wrong about it."
CONTENT = "the bridge would reopen on Monday"  # 33 characters


def sp(piece, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(piece, start + 1)
    return Span(start, start + len(piece), piece)


def att(cue, content, source=None, **kw):
    return Attribution(cue=sp(cue), content=tuple(sp(c) for c in content), source=sp(source) if source else None, **kw)


def doc(*atts, id="d"):
    first = TEXT.index(".") + 1
    sentences = (Sentence.of(TEXT, 0, first), Sentence.of(TEXT, first + 1, len(TEXT)))
    return Document(id, TEXT, sentences, atts)


GOLD = att("said", [CONTENT], "Ana Ruiz", kind="statement", resolved_source="Ana Ruiz")


def test_exact_boundaries_are_compared_after_trimming_edge_punctuation():
    pred = att("said", [CONTENT + "."], "Ana Ruiz")
    m = score([doc(GOLD)], [doc(pred)])
    for role in ("source", "cue", "content"):
        assert m[role]["exact"]["f1"] == 100.0, role
    # overlap credit is untrimmed: 33 of the prediction's 34 characters are gold
    assert m["content"]["overlap"]["precision"] == round(100 * 33 / 34, 2) == 97.06
    assert m["content"]["overlap"]["recall"] == 100.0
    assert m["attribution"] == {"precision": 100.0, "recall": 100.0, "f1": 100.0, "pred": 1, "gold": 1}


def test_overlap_gives_proportional_credit_and_attributions_need_half_the_content():
    pred = att("said", ["the bridge"], "Ana Ruiz")  # 10 of 33 characters
    m = score([doc(GOLD)], [doc(pred)])
    assert m["content"]["exact"]["f1"] == 0.0
    assert m["content"]["overlap"]["precision"] == 100.0
    assert m["content"]["overlap"]["recall"] == round(100 * 10 / 33, 2) == 30.3
    assert m["attribution"]["f1"] == 0.0  # content Jaccard 10/33 < 0.5
    longer = att("said", ["the bridge would reopen"], "Ana Ruiz")  # Jaccard 23/33
    assert score([doc(GOLD)], [doc(longer)])["attribution"]["f1"] == 100.0


def test_attributions_match_on_cue_overlap_and_sources_present_on_both_sides_or_neither():
    no_source = att("said", [CONTENT])
    assert match_attributions([GOLD], [no_source]) == []
    assert match_attributions([no_source], [no_source]) == [(0, 0)]
    other_source = att("said", [CONTENT], "Monday")
    assert match_attributions([GOLD], [other_source]) == []  # sources must overlap
    other_cue = att("added", [CONTENT], "Ana Ruiz")
    assert match_attributions([GOLD], [other_cue]) == []


def test_matching_is_one_to_one_preferring_the_larger_content_overlap():
    partial = att("said", ["the bridge would reopen"], "Ana Ruiz")
    exact = att("said", [CONTENT], "Ana Ruiz")
    assert match_attributions([GOLD], [partial, exact]) == [(0, 1)]
    m = score([doc(GOLD)], [doc(partial, exact)])
    assert (m["attribution"]["precision"], m["attribution"]["recall"]) == (50.0, 100.0)


def test_kind_and_resolved_source_are_scored_on_matched_attributions():
    second = att("added", ["were wrong about it"], "she", kind="criticism", resolved_source="Ana Ruiz")
    preds = [att("said", [CONTENT], "Ana Ruiz", kind="statement", resolved_source=" ana ruiz"),
             att("added", ["were wrong about it"], "she", kind="statement", resolved_source="Critics")]
    m = score([doc(GOLD, second)], [doc(*preds)])
    assert m["kind"]["accuracy"] == 50.0 and m["kind"]["n"] == 2
    assert m["kind"]["macro_f1"] == 33.33  # statement F1 2/3, criticism F1 0
    assert m["resolved_source"] == {"accuracy": 50.0, "n": 2}  # case and spaces do not count


def test_cross_sentence_attributions_and_sentences_are_scored_apart():
    cross = att("added", ["Monday", "were wrong"], "she")  # content in both sentences
    m = score([doc(GOLD, cross)], [doc(GOLD)])
    assert m["attribution_in_sentence"]["f1"] == 100.0
    assert (m["attribution_cross_sentence"]["gold"], m["attribution_cross_sentence"]["recall"]) == (1, 0.0)
    # a sentence has an attribution when a cue starts in it: both gold sentences, one predicted
    assert m["sentence_has_attribution"] == {"precision": 100.0, "recall": 50.0, "f1": 66.67, "pred": 1, "gold": 2}


def test_in_and_cross_sentence_precision_counts_each_prediction_by_its_own_spans():
    second = att("added", ["were wrong about it"], "she")
    far_target = att("added", ["were wrong about it"], "she", target=sp("Ana Ruiz"))  # reaches back a sentence
    m = score([doc(GOLD, second)], [doc(GOLD, far_target)])
    assert m["attribution"]["f1"] == 100.0
    # (counting matches by the gold's split gave in-sentence precision 2/1 = 200%)
    assert m["attribution_in_sentence"] == {"precision": 100.0, "recall": 100.0, "f1": 100.0, "pred": 1, "gold": 2}
    assert m["attribution_cross_sentence"] == {"precision": 100.0, "recall": 0.0, "f1": 0.0, "pred": 1, "gold": 0}


def test_corpora_without_kinds_are_scored_without_targets_and_kinds():
    unlabelled = att("said", [CONTENT], "Ana Ruiz", kind=None)
    m = score([doc(unlabelled)], [doc(GOLD)])
    assert "target" not in m and "kind" not in m and "resolved_source" not in m
    assert m["attribution"]["f1"] == 100.0


def test_predictions_pair_with_gold_by_id_and_must_be_one_per_document():
    gold = [doc(GOLD, id="a"), doc(id="b")]
    m = score(gold, [doc(id="b"), doc(GOLD, id="a")])
    assert m["attribution"]["f1"] == 100.0 and m["documents"] == 2
    with pytest.raises(ValueError, match="one prediction per gold document: 2 gold, 1 predicted"):
        score(gold, [doc(GOLD, id="a")])
