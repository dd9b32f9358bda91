"""Score calibration: fitting, the folder's calibration.json, and --min-score filtering."""

import json
import shutil

import numpy as np
import pytest
from conftest import FIXTURES

import claimcls
from claimcls.calibration import (
    Calibrator,
    expected_calibration_error,
    filter_min_score,
    fit_calibrator,
    outcomes,
    read_calibration,
    write_calibration,
)
from claimcls.cli import main
from claimcls.errors import InputError, ModelFolderError
from claimcls.folder_checks import check_model_folder
from claimcls.model_card import model_card


def _synthetic(n=2000, seed=0):
    """Raw scores whose true probability of being right is score**2 (overconfident)."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 1, n)
    return scores, (rng.uniform(0, 1, n) < scores**2).astype(float)


def test_calibrator_fits_maps_monotonically_and_lowers_the_error():
    scores, right = _synthetic()
    cal = fit_calibrator(scores, right, data="synthetic")
    grid = np.linspace(0, 1, 101)
    mapped = cal.apply(grid)
    assert np.all(np.diff(mapped) >= 0) and mapped.min() >= 0 and mapped.max() <= 1
    assert abs(cal(0.5) - 0.25) < 0.08 and abs(cal(0.9) - 0.81) < 0.08  # near the true curve
    held_scores, held_right = _synthetic(seed=1)  # data it was not fitted on
    before = expected_calibration_error(held_scores, held_right)
    after = expected_calibration_error(cal.apply(held_scores), held_right)
    assert before > 0.1 and after < 0.04
    assert cal.fitted_on["data"] == "synthetic" and cal.fitted_on["attributions"] == len(scores)
    assert cal.fitted_on["ece_after"] < cal.fitted_on["ece_before"]
    assert Calibrator.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal


def test_expected_calibration_error_by_hand():
    # one bin (0.9..1.0): mean score 0.95, 5 of 10 right -> 0.45; two bins weigh by count
    assert expected_calibration_error([0.95] * 10, [1] * 5 + [0] * 5) == pytest.approx(0.45)
    assert expected_calibration_error([0.05] * 10 + [0.95] * 10, [0] * 10 + [1] * 10) == pytest.approx(0.05)


@pytest.mark.parametrize("scores, right", [([0.5] * 5, [1, 0, 1, 0, 1]), ([0.1, 0.9] * 20, [1] * 40)],
                         ids=["too-few", "all-right"])
def test_fit_refuses_what_it_cannot_learn_from(scores, right):
    with pytest.raises(InputError, match=r"cannot fit a score calibration on \d+ predicted attributions"):
        fit_calibrator(scores, right)


def test_outcomes_use_the_whole_attribution_match():
    gold = claimcls.read_corpus(FIXTURES / "tiny.jsonl")
    pred = [doc.__class__(doc.id, doc.text, doc.sentences, tuple(a.__class__(**{**a.__dict__, "score": 0.7})
                                                                   for a in doc.attributions)) for doc in gold]
    scores, right = outcomes(gold, pred)
    assert len(scores) == sum(len(d.attributions) for d in gold) and right.all() and (scores == 0.7).all()
    first, second = pred[0].attributions[:2]  # swap their contents: both become wrong
    swapped = (first.__class__(**{**first.__dict__, "content": second.content}),
               second.__class__(**{**second.__dict__, "content": first.content}))
    pred[0] = pred[0].__class__(pred[0].id, pred[0].text, pred[0].sentences, swapped + pred[0].attributions[2:])
    scores, right = outcomes(gold, pred)
    assert right[:2].tolist() == [0.0, 0.0] and right[2:].all()


def _with_calibration(src, dst, cal):
    shutil.copytree(src, dst)
    write_calibration(dst, cal)
    return dst


HALVING = Calibrator((0.0, 1.0), (0.0, 0.5))  # maps every raw score to half of it


def test_a_folder_with_calibration_round_trips(tiny_model_dir, tmp_path):
    folder = _with_calibration(tiny_model_dir, tmp_path / "m", HALVING)
    check_model_folder(folder, weights=False, tokenizer=False)
    model = claimcls.load(folder, device="cpu", precision="fp32")
    assert model.calibration == HALVING
    model.save(tmp_path / "again")
    assert read_calibration(tmp_path / "again") == HALVING
    assert "is **calibrated**" in model_card(tmp_path / "again")
    assert "no `calibration.json`" in model_card(tiny_model_dir)


@pytest.mark.parametrize("content, message", [
    ("{not json", r"calibration\.json: not valid JSON"),
    (json.dumps({**HALVING.to_dict(), "y": [0.5, 0.1]}), r"\"y\" must not decrease"),
    (json.dumps({**HALVING.to_dict(), "y": [0.0, 1.5]}), r"must lie in \[0, 1\]"),
    (json.dumps({**HALVING.to_dict(), "x": [0.0]}), r"lists of numbers of the same length"),
    (json.dumps({**HALVING.to_dict(), "method": "platt"}), r"expected an isotonic score calibration"),
], ids=["json", "decreasing", "range", "lengths", "method"])
def test_a_damaged_calibration_is_refused(tiny_model_dir, tmp_path, content, message):
    folder = _with_calibration(tiny_model_dir, tmp_path / "m", HALVING)
    (folder / "calibration.json").write_text(content)
    with pytest.raises(ModelFolderError, match=message):
        check_model_folder(folder, weights=False, tokenizer=False)
    with pytest.raises(ModelFolderError, match=message):
        claimcls.load(folder, device="cpu")


def test_filter_min_score_drops_below_and_counts():
    doc = claimcls.read_corpus(FIXTURES / "tiny.jsonl")[0]
    scored = doc.__class__(doc.id, doc.text, doc.sentences,
                           tuple(a.__class__(**{**a.__dict__, "score": s}) for a, s in zip(doc.attributions, (0.3, 0.8))))
    kept, dropped = filter_min_score(scored, 0.5)
    assert [a.score for a in kept.attributions] == [0.8] and dropped == 1
    assert filter_min_score(scored, 0.0) == (scored, 0)


@pytest.mark.slow
def test_min_score_in_python_and_on_the_command_line(overfit, tmp_path, capsys):
    model, out = overfit
    texts = [d.text for d in claimcls.read_corpus(FIXTURES / "tiny.jsonl")]
    every = model.predict(texts)
    scores = sorted(a.score for d in every for a in d.attributions)
    assert len(set(scores)) > 1 and model.calibration is None  # 3 dev documents: too few to fit one
    # a calibrated copy scores each attribution with the calibration of its raw score
    halved = claimcls.load(_with_calibration(out, tmp_path / "halved", HALVING), device="cpu", precision="fp32")
    assert [a.score for d in halved.predict(texts) for a in d.attributions] == \
        [HALVING(a.score) for d in every for a in d.attributions]
    cut = scores[len(scores) // 2]
    kept = model.predict(texts, min_score=cut)
    assert [a.score for d in kept for a in d.attributions] == [a.score for d in every for a in d.attributions if a.score >= cut]
    with pytest.raises(InputError, match=r"min_score must be between 0 and 1"):
        model.predict(texts, min_score=1.5)

    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    code = main(["predict", "--model", str(out), str(inp), "--no-progress", "--precision", "fp32", "--min-score", str(cut)])
    stdout, err = capsys.readouterr()
    assert code == 0
    got = [a["score"] for line in stdout.splitlines() for a in json.loads(line)["attributions"]]
    assert got == [a.score for d in kept for a in d.attributions]
    assert f"--min-score {cut:g} dropped {len(scores) - len(got)} of {len(scores)} attribution(s)" in err
    code = main(["predict", "--model", str(out), str(inp), "--no-progress", "--min-score", "2"])
    assert code == 2 and "--min-score must be between 0 and 1, got 2.0" in capsys.readouterr().err


def _noisy_predictions(gold, seed=0):
    """The gold documents as predictions, about 40% made wrong (content replaced by the cue),
    the wrong ones scored lower."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    out = []
    for doc in gold:
        atts = []
        for a in doc.attributions:
            wrong = rng.uniform() < 0.4
            atts.append(replace(a, content=(a.cue,) if wrong else a.content,
                                score=float(rng.uniform(0.2, 0.7) if wrong else rng.uniform(0.5, 1.0))))
        out.append(replace(doc, attributions=tuple(atts)))
    return out


def test_training_fits_the_calibration_on_dev_and_saves_it(tmp_path, caplog):
    from types import SimpleNamespace

    from claimcls.training import Trainer

    gold = claimcls.read_corpus("bundled", split="dev")

    class FakeModel:  # what Trainer._calibrate uses of an AttributionModel
        calibration = "stale"
        saved = 0

        def predict(self, texts):
            assert self.calibration is None  # raw scores are what is fitted
            return _noisy_predictions(gold)[: len(texts)]

        def save(self, path, training=None):
            self.saved += 1

    trainer = Trainer.__new__(Trainer)
    trainer.corpora, trainer.output_dir = SimpleNamespace(dev={"bundled_dev": gold}), tmp_path
    model = trainer._calibrate(FakeModel(), {})
    assert isinstance(model.calibration, Calibrator) and model.saved == 1
    assert model.calibration.fitted_on["data"] == "bundled_dev" and model.calibration(0.3) < model.calibration(0.9)
    trainer.corpora = SimpleNamespace(dev={"tiny": gold[:1]})  # too few attributions: raw scores, not saved
    model = trainer._calibrate(FakeModel(), {})
    assert model.calibration is None and model.saved == 0 and "no score calibration" in caplog.text


def test_calibrate_script_fits_and_writes_a_copy(tiny_model_dir, tmp_path, capsys):
    """scripts/calibrate.py on cached predictions (noisy copies of the bundled dev documents)."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("calibrate_script", ROOT / "scripts" / "calibrate.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    gold = claimcls.read_corpus("bundled", split="dev")
    cache = tmp_path / "pred.jsonl"
    cache.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in _noisy_predictions(gold)))
    code = script.main(["--model", str(tiny_model_dir), "--data", "bundled", "--split", "dev", "--predictions", str(cache),
                        "--output", str(tmp_path / "copy"), "--report", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    cal = read_calibration(tmp_path / "copy")
    assert cal is not None and cal(0.3) < cal(0.9) and read_calibration(tiny_model_dir) is None
    report = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert report["ece_calibrated"] < report["ece_raw"]
    assert [report["min_score"][t]["pred"] for t in ("0.0", "0.5", "0.9")] == sorted(
        (report["min_score"][t]["pred"] for t in ("0.0", "0.5", "0.9")), reverse=True)
