"""Cue-wording swaps (augment.py) change only the cue words and keep every span on its text."""

import pytest

from claimcls.augment import swap_cue_wordings, verb_form
from claimcls.config import config_from_dict
from claimcls.corpus import read_corpus
from claimcls.errors import ConfigError
from claimcls.schema import Attribution, Document, Sentence, Span
from claimcls.training_data import load_corpora
from claimcls.validation import validate_document


def doc(text, atts):
    """A document with one sentence per line and attributions given as phrases."""
    def span(phrase, after=0):
        start = text.index(phrase, after)
        return Span(start, start + len(phrase), phrase)
    sents, pos = [], 0
    for line in text.split("\n"):
        sents.append(Sentence(pos, pos + len(line), line))
        pos += len(line) + 1
    return Document("d", text, tuple(sents), tuple(
        Attribution(cue=span(cue), content=(span(content),), source=span(source), kind=kind) for source, cue, content, kind in atts))


@pytest.mark.parametrize("wording, form", [
    ("said", "past"), ("also said", "past"), ("accused", "past"), ("warning", "ing"), ("insists", "s"),
    ("told reporters", "past"), ("according to", None), ("was told", None), (":", None), ("has said", None),
    ("said in a long statement on Monday", None),
])
def test_verb_form(wording, form):
    assert verb_form(wording) == form


def test_swapped_cues_keep_every_other_span_on_its_words():
    text = ("Mayor Ana Ruiz said the bridge would reopen.\n"
            "Councillor Ben Oduya insisted that it would not, adding that the money was gone.\n"
            "The union said members were told the plant \"will close\".")
    d = doc(text, [("Mayor Ana Ruiz", "said", "the bridge would reopen", "statement"),
                   ("Councillor Ben Oduya", "insisted", "that it would not", "statement"),
                   ("Councillor Ben Oduya", "adding", "that the money was gone", "statement"),
                   ("The union", "said members", "were told the plant", "statement")])
    (out,) = swap_cue_wordings([d], share=1.0, seed=3)
    validate_document(out)  # every span's text is the text at its offsets
    for before, after in zip(d.attributions, out.attributions):
        assert after.source.text == before.source.text and after.content[0].text == before.content[0].text
        assert verb_form(after.cue.text) == verb_form(before.cue.text)
    changed = [(a.cue.text, b.cue.text) for a, b in zip(d.attributions, out.attributions) if a.cue.text != b.cue.text]
    assert changed, "share=1.0 swaps every cue that has another wording of its kind and form"
    assert [s.text.split()[0] for s in out.sentences] == ["Mayor", "Councillor", "The"]


def test_spans_containing_a_swapped_cue_grow_with_it_and_share_none_of_its_old_words():
    text = "Officials said the minister told them the plan was dead."
    outer = Attribution(cue=Span(10, 14, "said"), content=(Span(15, 55, text[15:55]),), source=Span(0, 9, "Officials"))
    inner = Attribution(cue=Span(28, 32, "told"), content=(Span(38, 55, text[38:55]),), source=Span(15, 27, "the minister"))
    d = Document("d", text, (Sentence(0, len(text), text),), (outer, inner))
    other = doc("A said B.\nC warned D.\nE wrote F.", [("A", "said", "B", "statement"), ("C", "warned", "D", "statement"),
                                                        ("E", "wrote", "F", "statement")])
    out, _ = swap_cue_wordings([d, other], share=1.0, seed=0)
    validate_document(out)
    o, i = out.attributions
    assert o.content[0].text.startswith("the minister ") and o.content[0].text.endswith(" them the plan was dead")
    assert i.cue.text in o.content[0].text and i.cue.text != "told"


def test_the_config_swaps_only_fully_labelled_training_documents():
    plain = load_corpora(config_from_dict({"data": {"max_train_docs": 30}}))
    swapped = load_corpora(config_from_dict({"data": {"max_train_docs": 30, "swap_cue_wordings": 0.5}}))
    assert swapped.dev == plain.dev  # dev is never changed
    cues = [(a.cue.text, b.cue.text) for (d, _), (e, _) in zip(plain.train, swapped.train)
            for a, b in zip(d.attributions, e.attributions)]
    share = sum(a != b for a, b in cues) / len(cues)
    assert 0.2 < share < 0.5  # about half of the swappable ones (some wordings have no partner)
    with pytest.raises(ConfigError, match="swap_cue_wordings"):
        config_from_dict({"data": {"swap_cue_wordings": 1.5}})


def test_the_bundled_corpus_stays_valid_after_swapping():
    docs = read_corpus("bundled", split="train")
    for out in swap_cue_wordings(docs, share=0.3):
        validate_document(out)
