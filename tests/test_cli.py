"""The command line: predict (formats, inputs, resume, errors), stats, train errors, and
several processes under accelerate launch."""

import csv
import json
import os
import subprocess
import sys

import pytest

from claimcls.cli import main
from conftest import ROOT


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def inputs(tmp_path, bundled):
    path = tmp_path / "in.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for d in bundled[:7]:
            f.write(json.dumps({"id": d.id, "text": d.text}) + "\n")
    return path


def test_predict_jsonl_csv_table_brat(capsys, tiny_model_dir, inputs, tmp_path):
    code, out, err = _run(capsys, "predict", "--model", tiny_model_dir, inputs, "--no-progress", "--precision", "fp32")
    assert code == 0, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert [d["id"] for d in docs] == [json.loads(line)["id"] for line in inputs.read_text().splitlines()]
    assert set(docs[0]) == {"id", "text", "sentences", "attributions"}
    code, _, err = _run(capsys, "predict", "--model", tiny_model_dir, inputs, "--format", "csv", "--output", tmp_path / "o.csv", "--no-progress")
    rows = list(csv.DictReader(open(tmp_path / "o.csv", encoding="utf-8")))
    assert code == 0 and {r["id"] for r in rows} == {d["id"] for d in docs}
    code, out, _ = _run(capsys, "predict", "--model", tiny_model_dir, inputs, "--format", "table", "--no-progress")
    assert code == 0 and out.count("== ") == 7
    code, _, _ = _run(capsys, "predict", "--model", tiny_model_dir, inputs, "--format", "brat", "--output", tmp_path / "brat", "--no-progress")
    assert code == 0 and len(list((tmp_path / "brat").glob("*.ann"))) == 7


def test_predict_txt_files_and_stdin(capsys, tiny_model_dir, tmp_path, monkeypatch):
    import io

    (tmp_path / "story.txt").write_text("The mayor said it would rain.", encoding="utf-8")
    code, out, _ = _run(capsys, "predict", "--model", tiny_model_dir, tmp_path / "story.txt", "--no-progress")
    assert code == 0 and json.loads(out)["id"] == "story"
    monkeypatch.setattr(sys, "stdin", io.StringIO("Plain text. He said so.\n"))
    code, out, _ = _run(capsys, "predict", "--model", tiny_model_dir, "--no-progress")
    assert code == 0 and json.loads(out)["text"] == "Plain text. He said so.\n"


@pytest.mark.parametrize("make, message", [
    (lambda p: ("--model", p / "missing-model", p / "in.jsonl"), r"model folder '.*missing-model' does not exist"),
    (lambda p: (p / "nope.jsonl",), r"input '.*nope\.jsonl' does not exist"),
    (lambda p: (p / "bad.jsonl",), r"bad\.jsonl:2: not valid JSON"),
    (lambda p: (p / "empty.jsonl",), r"no input documents"),
    (lambda p: (p / "latin1.txt",), r"latin1\.txt: not UTF-8"),
], ids=["no-model", "no-input", "bad-line", "empty", "not-utf8"])
def test_predict_errors_exit_2_with_one_line(capsys, tiny_model_dir, tmp_path, make, message):
    (tmp_path / "in.jsonl").write_text('{"id": "a", "text": "He said so."}\n')
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "text": "He said so."}\n{"id": "b", "text": \n')
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9 said")
    args = make(tmp_path)
    if args[0] != "--model":
        args = ("--model", tiny_model_dir, *args)
    code, _, err = _run(capsys, "predict", *args, "--no-progress")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    import re

    assert re.search(message, err), err


def test_resume_after_interruption_gives_the_single_run_output(capsys, tiny_model_dir, inputs, tmp_path):
    full = tmp_path / "full.jsonl"
    assert _run(capsys, "predict", "--model", tiny_model_dir, inputs, "--output", full, "--no-progress")[0] == 0
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    part = tmp_path / "part.jsonl"
    part.write_text("".join(lines[:3]) + lines[3][:25], encoding="utf-8")  # killed while writing document 4
    assert _run(capsys, "predict", "--model", tiny_model_dir, inputs, "--output", part, "--resume", "--no-progress")[0] == 0
    assert part.read_text(encoding="utf-8") == full.read_text(encoding="utf-8")
    # csv too
    fullc, partc = tmp_path / "full.csv", tmp_path / "part.csv"
    _run(capsys, "predict", "--model", tiny_model_dir, inputs, "--output", fullc, "--format", "csv", "--no-progress")
    text = fullc.read_text(encoding="utf-8")
    rows = list(csv.reader(open(fullc, encoding="utf-8", newline="")))
    third = json.loads(lines[2])["id"]
    cut = [i for i, r in enumerate(rows) if r[0] == third][0] + 1  # killed after one row of document 3
    with open(partc, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows[:cut])
    _run(capsys, "predict", "--model", tiny_model_dir, inputs, "--output", partc, "--format", "csv", "--resume", "--no-progress")
    assert partc.read_text(encoding="utf-8") == text


def test_stats_and_train_errors(capsys):
    code, out, _ = _run(capsys, "stats", "bundled")
    assert code == 0 and "documents" in out and "accusation" in out
    code, out, _ = _run(capsys, "stats", "bundled", "--json")
    assert json.loads(out)["documents"] >= 80
    code, _, err = _run(capsys, "train", "--config", ROOT / "configs" / "tiny.yaml", "--train.nope", "1")
    assert code == 2 and "unknown key train.nope" in err
    code, _, err = _run(capsys, "evaluate", "--model", "/nonexistent", "--data", "bundled")
    assert code == 2 and "does not exist" in err
    with pytest.raises(SystemExit) as exc:
        main(["predict"])
    assert exc.value.code == 2


def _accelerate(args, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--cpu", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)


@pytest.mark.slow
def test_two_process_training_and_prediction(tmp_path, inputs, capsys):
    out = tmp_path / "m2"
    res = _accelerate([str(ROOT / "scripts" / "train.py"), "--config", str(ROOT / "configs" / "tiny.yaml"), "--output", str(out)], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (out / "model.safetensors").is_file()
    sharded = tmp_path / "sharded.jsonl"
    res = _accelerate(["-m", "claimcls", "predict", "--model", str(out), str(inputs), "--output", str(sharded), "--no-progress",
                       "--device", "cpu", "--precision", "fp32"], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    single = tmp_path / "single.jsonl"
    assert main(["predict", "--model", str(out), str(inputs), "--output", str(single), "--no-progress", "--device", "cpu",
                 "--precision", "fp32"]) == 0
    assert sharded.read_text(encoding="utf-8") == single.read_text(encoding="utf-8")
    assert not list(tmp_path.glob("sharded.jsonl.part*"))
