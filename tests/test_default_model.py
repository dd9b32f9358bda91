"""The built-in default (configs/default.yaml) trained from scratch on the bundled corpus,
checked on the seed article, which it never saw. Takes several minutes on a 2-core CPU;
set CLAIMCLS_DEFAULT_MODEL to a trained folder to check that one instead."""

import os

import pytest

import claimcls
from claimcls.config import load_config
from claimcls.training import train
from conftest import ROOT


@pytest.fixture(scope="module")
def default_model(tmp_path_factory):
    if os.environ.get("CLAIMCLS_DEFAULT_MODEL"):
        return claimcls.load(os.environ["CLAIMCLS_DEFAULT_MODEL"])
    return train(load_config(ROOT / "configs" / "default.yaml"), tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="module")
def seed(default_model):
    text = (ROOT / "seeds" / "000_5d75374b60e88995.txt").read_text(encoding="utf-8")
    return default_model.predict([text])[0]


def _find(seed, cue_word, source_word):
    for att in seed.attributions:
        if cue_word in att.cue.text and att.source is not None and source_word in att.source.text:
            return att
    pytest.fail(f"no attribution with cue ~{cue_word!r} and source ~{source_word!r}: "
                + "; ".join(f"{a.source and a.source.text}|{a.cue.text}" for a in seed.attributions))


@pytest.mark.slow
def test_naqvi_with_split_content(seed):
    att = _find(seed, "according to", "Naqvi")
    pieces = [c.text for c in att.content]
    # the content is split around the cue and the source: a piece before, a piece after (where
    # the second piece starts varies between trainings: "involved suspects from Afghanistan, ...",
    # "Afghanistan, ...", "bilateral tensions" were all seen; the split is what is checked)
    before = [c for c in att.content if c.end <= att.cue.start]
    after = [c for c in att.content if c.start >= att.source.end]
    assert any("Both incidents" in c.text for c in before), pieces
    assert after, pieces
    assert att.resolved_source == "Mohsin Naqvi"


@pytest.mark.slow
def test_sharif_accuses_afghanistan_and_india(seed):
    att = _find(seed, "accused", "Sharif")
    assert att.kind == "accusation"
    assert att.target is not None and att.target.text == "Afghanistan and India"
    assert "involvement in the attacks" in " ".join(c.text for c in att.content)


@pytest.mark.slow
def test_russia_accuses_france_germany_and_the_uk(seed):
    att = _find(seed, "accused", "Russia")
    assert att.kind == "accusation"
    assert att.target is not None and "France" in att.target.text and "United Kingdom" in att.target.text


@pytest.mark.slow
def test_pronouns_resolve_to_names(seed):
    he = _find(seed, "stressed", "He")
    assert he.resolved_source == "Abbas Araghchi"
    they = [a for a in seed.attributions if a.source is not None and a.source.text == "They"]
    # "They reaffirmed ..." follows Lavrov's and Araghchi's own statements; the earlier
    # "They called for ..." is resolved only when "both ministers" was found as a source
    assert any(a.resolved_source == "Sergey Lavrov and Abbas Araghchi" for a in they), [a.resolved_source for a in they]
