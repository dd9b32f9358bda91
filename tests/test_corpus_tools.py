"""The corpus tooling: the label checker, the bundled splits, corpus statistics, the sources
of the bundled corpus, and the PolNeAR share used for learning curves."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import claimcls
from claimcls.config import load_config
from claimcls.corpus import bundled_split
from claimcls.errors import ConfigError
from claimcls.stats import corpus_stats
from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))

import check_corpus  # noqa: E402

YAML = """documents:
  - id: t1
    text: |-
      Mayor Ana Lind accused the port board of hiding losses. Officials said the board said nothing.
      Critics blamed Lind for the delays, and by the council warned of cuts.
    attributions:
      - source: "Mayor Ana Lind"
        cue: "accused"
        content: ["the port board of hiding losses"]
        target: "the port board"
        kind: accusation
        quote: indirect
        resolved_source: "Ana Lind"
      - source: "Officials"
        cue: "said"
        content: ["the board said nothing"]
        kind: statement
        quote: indirect
        resolved_source: "Officials"
      - source: "Critics"
        cue: "blamed"
        content: ["for the del"]
        target: "Lind"
        kind: accusation
        quote: indirect
        resolved_source: "Critics"
      - source: "by the council"
        cue: "warned"
        content: ["of cuts"]
        kind: warning
        quote: indirect
        resolved_source: "council"
  - id: t2
    text: |-
      The minister said the plan was sound. The union said nothing new.
    attributions:
      - source: "The minister"
        cue: "said"
        content: ["the plan was sound"]
        kind: statement
        quote: indirect
        resolved_source: "minister"
      - source: "The union"
        cue: "said"
        content: ["nothing new"]
        kind: denial
        quote: indirect
        resolved_source: "union"
"""


def _check(tmp_path, text):
    path = tmp_path / "part.yaml"
    path.write_text(text, encoding="utf-8")
    return check_corpus.check([path])


def test_checker_flags_each_kind_of_inconsistency(tmp_path):
    flags = _check(tmp_path, YAML)
    by_code = Counter(f.code for f in flags)
    assert by_code == {"target-in-content": 1, "mid-word": 1, "source-not-np": 1, "cue-kind": 1, "cue-placement": 1}, [str(f) for f in flags]
    (target,) = [f for f in flags if f.code == "target-in-content"]
    assert "t1:1" in target.where and "'the port board'" in target.message
    (mid,) = [f for f in flags if f.code == "mid-word"]
    assert "'for the del'" in mid.message
    (np_flag,) = [f for f in flags if f.code == "source-not-np"]
    assert "starts with 'by'" in np_flag.message
    (kind,) = [f for f in flags if f.code == "cue-kind"]
    assert "t2:2" in kind.where and "'said' is denial here but statement in 2 of 3 uses" in kind.message
    # t2's second "said", written as a plain string, lands on the first one: the builder's pitfall
    (placed,) = [f for f in flags if f.code == "cue-placement"]
    assert "t2:2" in placed.where and "same span as the previous attribution's" in placed.message


def test_checker_accepts_justified_flags_and_rejects_unknown_ones(tmp_path):
    justified = YAML.replace("        kind: denial\n", '        kind: denial\n        checked: {cue-kind: "a refusal to comment"}\n')
    flags = _check(tmp_path, justified)
    (kind,) = [f for f in flags if f.code == "cue-kind"]
    assert kind.justified == "a refusal to comment"
    with pytest.raises(claimcls.CorpusError, match="'checked' must map flags"):
        _check(tmp_path, YAML.replace("        kind: denial\n", "        kind: denial\n        checked: {typo: why}\n"))


@pytest.mark.slow  # builds and checks the whole corpus in two processes: 1-2 minutes on 2 cores
def test_bundled_sources_build_and_check_clean(tmp_path):
    """Every corpus/*.yaml builds, has no unjustified flag, and equals the shipped JSONL."""
    sources = sorted(str(p) for p in (ROOT / "corpus").glob("part_*.yaml"))
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_corpus.py"), *sources],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    built = tmp_path / "bundled.jsonl.gz"
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_corpus.py"), *sources, "-o", str(built)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert claimcls.read_corpus(built) == claimcls.read_corpus("bundled"), "rebuild claimcls/data/bundled.jsonl.gz from corpus/*.yaml"


def test_bundled_splits_are_fixed_disjoint_and_never_trained_on():
    docs = claimcls.read_corpus("bundled")
    splits = {name: claimcls.read_corpus("bundled", split=name) for name in ("train", "dev", "test")}
    ids = {name: {d.id for d in part} for name, part in splits.items()}
    assert sum(len(v) for v in ids.values()) == len(docs)
    assert not (ids["train"] & ids["test"]) and not (ids["dev"] & ids["test"]) and not (ids["train"] & ids["dev"])
    assert 0.05 <= len(ids["test"]) / len(docs) <= 0.15
    # the test split does not move with the dev share a config asks for
    assert {d.id for d in docs if bundled_split(d.id, 0.3) == "test"} == ids["test"]
    with pytest.raises(ValueError, match="splits train, dev, test"):
        claimcls.read_corpus("bundled", split="validation")
    from claimcls.training_data import load_corpora

    corpora = load_corpora(load_config(ROOT / "configs" / "default.yaml"))
    trained = {doc.id for doc, _ in corpora.train}
    assert trained and not trained & ids["test"]
    assert {d.id for d in corpora.dev["bundled_dev"]} == ids["dev"]


def test_stats_measure_the_shape_of_a_corpus():
    text = "Headline here\n“We will win. We always do,” Ola Berg said. The vote is Monday.\nShe added: “Not now.”"
    doc = claimcls.read_corpus(ROOT / "tests" / "fixtures" / "tiny.jsonl")[0]
    sentences = claimcls.split_sentences(text)
    from claimcls import Attribution, Document, Span

    def sp(piece):
        start = text.index(piece)
        return Span(start, start + len(piece), piece)

    atts = (
        Attribution(cue=sp("said"), content=(sp("“We will win. We always do,”"),), source=sp("Ola Berg"),
                    kind="statement", quote="direct", resolved_source="Ola Berg"),
        Attribution(cue=sp("added"), content=(sp("“Not now.”"),), source=sp("She"), kind="statement",
                    quote="direct", resolved_source="Ola Berg"),
    )
    stats = corpus_stats([Document("s", text, sentences, atts), doc])
    assert stats["documents"] == 2
    assert stats["sources_pronoun"] == 1 + sum(a.source is not None and a.source.text.lower() in ("he", "she", "they") for a in doc.attributions)
    assert stats["cue_wordings"] == len({a.cue.text.lower() for a in atts + doc.attributions})
    assert stats["per_document"]["paragraphs"]["mean"] == (3 + len(doc.text.split("\n"))) / 2
    assert stats["per_document"]["attributions"]["mean"] == (2 + len(doc.attributions)) / 2


def test_polnear_fraction_is_checked():
    with pytest.raises(ConfigError, match=r"data.polnear_fraction must be in \(0, 1\]"):
        load_config(None, {"data.polnear_fraction": "0"})
    assert load_config(None, {"data.polnear_fraction": "0.25"}).data.polnear_fraction == 0.25


@pytest.mark.polnear
@pytest.mark.slow  # reads PolNeAR train three times: about a minute on 2 cores
def test_polnear_fraction_draws_a_fixed_share(polnear):
    from claimcls.training_data import load_corpora

    def ids(fraction):
        config = load_config(ROOT / "configs" / "polnear.yaml", {
            "data.polnear_dir": str(polnear), "data.bundled": "false", "data.polnear_fraction": str(fraction),
            "data.max_dev_docs": "1"})
        return [doc.id for doc, _ in load_corpora(config).train]

    tenth = ids(0.1)
    assert tenth == ids(0.1)  # the same documents every run
    assert len(tenth) == round(0.1 * len(ids(1.0)))
    assert tenth != sorted(ids(1.0))[: len(tenth)]  # drawn at random, not the first ones in file order


def test_nested_reports_can_be_left_out_of_training():
    from claimcls import Attribution, Document, Span
    from claimcls.training_data import without_nested_reports

    text = "“The ministry accused Kell of lying,” Ana Ruiz said. Kell denied it."

    def sp(piece):
        start = text.index(piece)
        return Span(start, start + len(piece), piece)

    outer = Attribution(cue=sp("said"), content=(sp("“The ministry accused Kell of lying,”"),), source=sp("Ana Ruiz"))
    inner = Attribution(cue=sp("accused"), content=(sp("of lying"),), source=sp("The ministry"), target=sp("Kell"), kind="accusation")
    after = Attribution(cue=sp("denied"), content=(sp("it"),), source=sp("Kell"), kind="denial")
    doc = Document("n", text, claimcls.split_sentences(text), (outer, inner, after))
    assert without_nested_reports(doc).attributions == (outer, after)
    flat = Document("f", text, doc.sentences, (outer, after))
    assert without_nested_reports(flat) is flat
    with pytest.raises(ConfigError, match="data.nested_reports must be 'keep' or 'drop'"):
        load_config(None, {"data.nested_reports": "outer"})
    assert load_config(None, {"data.nested_reports": "drop"}).data.nested_reports == "drop"


@pytest.mark.polnear
@pytest.mark.slow  # reads PolNeAR train and dev
def test_a_final_model_trains_on_polnear_dev_and_never_scores_on_it(polnear):
    from claimcls.training_data import load_corpora

    def corpora(splits):
        return load_corpora(load_config(ROOT / "configs" / "polnear.yaml", {
            "data.polnear_dir": str(polnear), "data.bundled": "false", "data.polnear_train_splits": splits}))

    dev_ids = {doc.id for doc in corpora("train").dev["polnear_dev"]}
    final = corpora("train,dev")
    train_ids = {doc.id for doc, _ in final.train}
    assert dev_ids <= train_ids and "polnear_dev" not in final.dev
    assert {doc.id for doc, _ in corpora("dev").train} == dev_ids  # 'dev' alone: dev only
