"""The model card written into every saved folder, and folders saved before cards existed."""

import json
import shutil

import pytest

import claimcls
from claimcls.model_card import KIND_DEFINITIONS, model_card, write_model_card
from claimcls.schema import KINDS


def test_every_kind_has_a_definition():
    assert list(KIND_DEFINITIONS) == list(KINDS)


def test_saved_folder_explains_itself(tiny_model, tmp_path):
    folder = tiny_model.save(tmp_path / "m")
    card = (folder / "README.md").read_text(encoding="utf-8")
    meta = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert "library_name: claimcls" in card
    assert "a tiny randomly initialised BERT" in card  # the encoder of configs/tiny.yaml
    assert f"| train.lr | {meta['config']['train']['lr']} |" in card
    assert "bundled corpus" in card and "fictional" in card
    for name, m in tiny_model.metrics.get("dev", {}).items():  # the measured dev figures, as saved
        assert f"**{name}** ({m['documents']} documents)" in card
        assert f"| whole attribution | {m['attribution']['precision']} | {m['attribution']['recall']} | {m['attribution']['f1']} |" in card
    for kind in KINDS:
        assert f"| {kind} | " in card


def test_folder_saved_before_cards_loads_and_gets_one(tiny_model, tmp_path):
    folder = tiny_model.save(tmp_path / "old")
    (folder / "README.md").unlink()  # as saved before this change
    (folder / "metrics.json").write_text("{}", encoding="utf-8")
    model = claimcls.load(folder, device="cpu")
    text = ["The mayor said the bridge would reopen."]
    assert model.predict(text) == tiny_model.predict(text)
    assert "No dev metrics were measured" in write_model_card(folder).read_text(encoding="utf-8")


def test_card_of_a_polnear_model_names_it(tiny_model, tmp_path):
    folder = tiny_model.save(tmp_path / "p")
    meta = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    meta["config"]["data"].update(polnear=True, polnear_fraction=0.5)
    (folder / "config.json").write_text(json.dumps(meta), encoding="utf-8")
    card = model_card(folder)
    assert "**PolNeAR** train" in card and "50% of its articles" in card
    assert "saw no real news" not in card
