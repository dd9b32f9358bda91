"""The fast rule-based sentence splitter (``split_sentences(text, method="fast")``)."""

import re

import pytest

from claimcls.sentences import split_sentences


def fast(text):
    return [s.text for s in split_sentences(text, method="fast")]


def test_fast_splitter_keeps_titles_initials_abbreviations_and_quotations():
    text = ('Dr. Ana Ruiz of the U.S. Army said the plan failed at 3 p.m. on Monday.\n'
            '"We are done. We will leave," he said. The U.S. economy grew 2.5 percent.\n'
            'Sen. J. R. Lee (who left Fox News Inc. in May. He said so.) voted No. 5 on the list. '
            'It passed at 5 p.m. The vote was close! Was it? Yes... Maybe.')
    assert fast(text) == [
        "Dr. Ana Ruiz of the U.S. Army said the plan failed at 3 p.m. on Monday.",
        '"We are done. We will leave," he said.',
        "The U.S. economy grew 2.5 percent.",
        "Sen. J. R. Lee (who left Fox News Inc. in May. He said so.) voted No. 5 on the list.",
        "It passed at 5 p.m.",
        "The vote was close!",
        "Was it?",
        "Yes...",
        "Maybe.",
    ]


def test_fast_splitter_ends_after_closing_quotes_and_never_inside_a_word():
    assert fast('He said: \u201cWe won.\u201d Then he left. She said "no." They went home.') == [
        "He said: \u201cWe won.\u201d", "Then he left.", 'She said "no."', "They went home."]
    assert fast("Growth was 2.5 percent. Visit example.com today. Prices fell 3%. 2024 was worse.") == [
        "Growth was 2.5 percent.", "Visit example.com today.", "Prices fell 3%.", "2024 was worse."]


def test_fast_sentences_index_the_text_and_cover_every_non_space_character(bundled):
    for doc in bundled[:40]:
        sents = split_sentences(doc.text, method="fast")
        assert all(doc.text[s.start : s.end] == s.text == s.text.strip() for s in sents)
        assert all(a.end <= b.start for a, b in zip(sents, sents[1:]))
        covered = "".join(doc.text[s.start : s.end] for s in sents)
        assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", doc.text)


def test_unknown_splitting_method_is_an_error():
    with pytest.raises(ValueError, match="method must be 'pysbd' or 'fast', got 'spacy'"):
        split_sentences("It rained.", method="spacy")
