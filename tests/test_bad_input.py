"""Bad input, as a new user gives it: every case ends in one line on stderr and exit 2 (or a
``ClaimclsError`` in Python), nothing the user had is lost, and no input stalls a run.

The CLI cases run in process (``claimcls.cli.main``) on the session's tiny random model;
each asserts the exit code, the one-line message, and that the user's files are intact.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from claimcls import atomic, folder_checks, sentences
from claimcls.cli import main
from claimcls.corpus import brat_name, read_corpus, write_corpus
from claimcls.errors import ClaimclsError, CorpusError, ModelFolderError
from claimcls.jsonl import dumps_line, split_lines
from claimcls.schema import Document
from conftest import ROOT

FAST = ("--no-progress", "--device", "cpu", "--precision", "fp32")
TEXTS = ["The mayor said the bridge would reopen on Monday.", "Officials denied the report.", "It rained all day."]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_error(result, pattern: str) -> str:
    """Exit 2, one line on stderr matching ``pattern``, no traceback."""
    code, _, err = result
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def user_output(tmp_path) -> tuple[Path, bytes]:
    """An output file the user already has (an earlier run's), to check it survives."""
    path = tmp_path / "p.jsonl"
    data = b'{"id": "earlier", "text": "kept"}\n'
    path.write_bytes(data)
    return path, data


@pytest.fixture()
def model_copy(tmp_path, tiny_model_dir) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model", ignore=shutil.ignore_patterns("checkpoint")))


def predict(capsys, model, *args):
    return run(capsys, "predict", "--model", model, *args, *FAST)


# --------------------------------------------------------------------------- 1. nothing lost


@pytest.mark.parametrize("case", ["missing-input", "incomplete-model", "bad-first-line", "no-documents"])
def test_a_failed_predict_leaves_the_existing_output_intact(capsys, tmp_path, tiny_model_dir, model_copy, user_output, case):
    out, before = user_output
    good = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXTS[0]}])
    model, inputs = tiny_model_dir, [good]
    if case == "missing-input":
        inputs, pattern = [good, tmp_path / "nope.jsonl"], r"input '.*nope\.jsonl' does not exist"
    elif case == "incomplete-model":
        (model_copy / "encoder" / "config.json").unlink()
        model, pattern = model_copy, r"incomplete: encoder/config\.json is missing"
    elif case == "bad-first-line":
        inputs, pattern = [write_jsonl(tmp_path / "bad.jsonl", ['{"id": "a", "text": \n'])], r"bad\.jsonl:1: not valid JSON"
    else:
        inputs, pattern = [write_jsonl(tmp_path / "empty.jsonl", [])], r"no input documents"
    assert_error(predict(capsys, model, *inputs, "--output", out), pattern)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("p.jsonl")) == ["p.jsonl"]


def test_a_bad_line_after_300_documents_keeps_the_300_and_resume_finishes(capsys, tmp_path, tiny_model_dir):
    # 300 documents span two of predict_stream's chunks (256): the second must not be lost
    rows = [{"id": f"d{i}", "text": TEXTS[i % 3]} for i in range(300)]
    src = write_jsonl(tmp_path / "in.jsonl", rows + ['{"id": "bad", "text": 5}\n', {"id": "d300", "text": TEXTS[0]}])
    out = tmp_path / "out.jsonl"
    line = assert_error(predict(capsys, tiny_model_dir, src, "--output", out), r"in\.jsonl:301: .*string \"text\"")
    assert "the 300 documents before it are in" in line
    assert [json.loads(x)["id"] for x in out.read_text(encoding="utf-8").splitlines()] == [f"d{i}" for i in range(300)]
    write_jsonl(src, rows + [{"id": "bad", "text": "Fixed."}, {"id": "d300", "text": TEXTS[0]}])
    assert predict(capsys, tiny_model_dir, src, "--output", out, "--resume")[0] == 0
    assert [json.loads(x)["id"] for x in out.read_text(encoding="utf-8").splitlines()][-3:] == ["d299", "bad", "d300"]


def test_skip_invalid_skips_and_counts_bad_lines(capsys, tmp_path, tiny_model_dir):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXTS[0]}, "not json\n", '{"id": "s", "text": "x\\ud800y"}\n',
                                              {"id": "n", "text": TEXTS[1], "x": None}, '{"id": null, "text": "t"}\n'])
    code, out, err = predict(capsys, tiny_model_dir, src, "--skip-invalid")
    assert code == 0, err
    assert [json.loads(x)["id"] for x in out.splitlines()] == ["a", "n"]
    assert re.fullmatch(r"claimcls predict: skipped 3 invalid input\(s\) .*in\.jsonl:2: not valid JSON.*", err.strip())


def test_a_killed_run_resumes_from_its_partial_file(capsys, tmp_path, tiny_model_dir, user_output):
    out, before = user_output
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": f"d{i}", "text": t} for i, t in enumerate(TEXTS)])
    full = tmp_path / "full.jsonl"
    assert predict(capsys, tiny_model_dir, src, "--output", full)[0] == 0
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    # killed while writing document 2: the user's p.jsonl is untouched, p.jsonl.partial holds the rest
    (tmp_path / "p.jsonl.partial").write_text(lines[0] + lines[1][:30], encoding="utf-8")
    assert out.read_bytes() == before
    assert predict(capsys, tiny_model_dir, src, "--output", out, "--resume")[0] == 0
    assert out.read_text(encoding="utf-8") == full.read_text(encoding="utf-8")
    assert not (tmp_path / "p.jsonl.partial").exists()


@pytest.mark.parametrize("case", ["other-ids", "other-text", "longer-output"])
def test_resume_refuses_the_output_of_another_input(capsys, tmp_path, tiny_model_dir, case):
    first = write_jsonl(tmp_path / "a.jsonl", [{"id": f"d{i}", "text": t} for i, t in enumerate(TEXTS)])
    out = tmp_path / "out.jsonl"
    assert predict(capsys, tiny_model_dir, first, "--output", out)[0] == 0
    before = out.read_bytes()
    rows = {"other-ids": [{"id": "x", "text": TEXTS[0]}],
            "other-text": [{"id": "d0", "text": "Another text."}, {"id": "d1", "text": TEXTS[1]}],
            "longer-output": [{"id": "d0", "text": TEXTS[0]}]}[case]
    second = write_jsonl(tmp_path / "b.jsonl", rows)
    assert_error(predict(capsys, tiny_model_dir, second, "--output", out, "--resume"), r"--resume: .*(written from another input)")
    assert out.read_bytes() == before and not (tmp_path / "out.jsonl.partial").exists()


@pytest.mark.parametrize("content, pattern", [
    ('{"id": "a", "text": "x", "sentences": [], "attributions": []}\nnot json\n{"id": "b", "text": "y", "sentences": [], "attributions": []}\n',
     r"line 2 is not a document claimcls wrote"),
    ("id,sentence\nx,1\n", r"not a claimcls CSV|is not a document claimcls wrote"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary\n", r"not a claimcls output \(not UTF-8"),
], ids=["corrupt-middle-line", "csv", "binary"])
def test_resume_over_a_file_it_did_not_write_is_refused(capsys, tmp_path, tiny_model_dir, content, pattern):
    out = tmp_path / "out.jsonl"
    out.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = out.read_bytes()
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "x"}])
    assert_error(predict(capsys, tiny_model_dir, src, "--output", out, "--resume"), pattern)
    assert out.read_bytes() == before


def test_train_refuses_to_replace_a_model_or_write_into_a_file(capsys, tmp_path, model_copy):
    weights = (model_copy / "model.safetensors").read_bytes()
    tiny = ROOT / "configs" / "tiny.yaml"
    assert_error(run(capsys, "train", "--config", tiny, "--output", model_copy), r"already holds a trained model; pass --overwrite")
    assert (model_copy / "model.safetensors").read_bytes() == weights
    (tmp_path / "afile").write_text("mine")
    assert_error(run(capsys, "train", "--config", tiny, "--output", tmp_path / "afile"), r"exists and is not a folder")
    assert_error(run(capsys, "train", "--config", tiny, "--output", tmp_path / "afile" / "sub"), r"cannot create the folder")
    assert (tmp_path / "afile").read_text() == "mine"


def test_train_overwrite_and_resume_pass_the_output_check(tmp_path, model_copy):
    from claimcls.cli import _check_train_output
    from claimcls.config import load_config

    config = load_config(ROOT / "configs" / "tiny.yaml")
    _check_train_output(model_copy, config, resume=False, overwrite=True)  # no error
    with pytest.raises(ClaimclsError, match="no checkpoint"):
        _check_train_output(model_copy, config, resume=True, overwrite=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_train_refuses_a_read_only_output(capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    assert_error(run(capsys, "train", "--config", ROOT / "configs" / "tiny.yaml", "--output", ro / "m"), r"cannot")


def test_resume_with_a_changed_model_config_is_refused_before_training(capsys, tmp_path):
    out = tmp_path / "m"
    (out / "checkpoint").mkdir(parents=True)
    (out / "checkpoint" / "trainer_state.json").write_text("{}")
    from claimcls.config import load_config

    saved = load_config(ROOT / "configs" / "tiny.yaml").to_dict()
    (out / "training.json").write_text(json.dumps({"config": saved}))
    result = run(capsys, "train", "--config", ROOT / "configs" / "tiny.yaml", "--output", out, "--resume", "--model.span_dim", "64")
    assert_error(result, r"--resume: .*another model config \(model\.span_dim was 32, now 64\)")


def test_brat_output_names_are_unique_bounded_and_mapped(capsys, tmp_path, tiny_model_dir):
    ids = ["a/b", "a_b", "A_B", "x" * 300, "../up", "Ünïcode"]
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": TEXTS[k % 3]} for k, i in enumerate(ids)])
    out = tmp_path / "brat"
    assert predict(capsys, tiny_model_dir, src, "--format", "brat", "--output", out)[0] == 0
    anns = sorted(out.glob("*.ann"))
    assert len(anns) == len(ids) and all(len(p.name.encode()) <= 120 for p in anns)
    assert len({p.name.lower() for p in anns}) == len(ids)  # unique on case-insensitive file systems too
    index = [json.loads(x) for x in (out / "index.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["id"] for e in index] == ids
    assert sorted(d.id for d in read_corpus(out)) == sorted(ids)
    assert not list(tmp_path.glob("brat.partial*")) and not (tmp_path / "up.ann").exists()


def test_brat_duplicate_ids_and_two_folders_with_one_name_never_overwrite(capsys, tmp_path, tiny_model_dir):
    # a repeated id stops the run like a bad line: the first document's files stay its own
    dup = write_jsonl(tmp_path / "dup.jsonl", [{"id": "a", "text": TEXTS[0]}, {"id": "a", "text": TEXTS[1]}])
    line = assert_error(predict(capsys, tiny_model_dir, dup, "--format", "brat", "--output", tmp_path / "b1"),
                        r"document id 'a' appears twice")
    assert "the 1 documents before it are in" in line
    assert [p.read_text() for p in (tmp_path / "b1").glob("*.txt")] == [TEXTS[0]]
    for folder, text in (("x", TEXTS[0]), ("y", TEXTS[1])):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "story.txt").write_text(text)
    assert_error(predict(capsys, tiny_model_dir, tmp_path / "x" / "story.txt", tmp_path / "y" / "story.txt", "--format", "brat",
                         "--output", tmp_path / "b2"), r"document id 'story' appears twice")
    assert [p.read_text() for p in (tmp_path / "b2").glob("*.txt")] == [TEXTS[0]]


def test_brat_name_is_the_id_when_plain_and_unique_otherwise():
    taken: set[str] = set()
    names = [brat_name(i, taken) for i in ("story-1", "a/b", "a_b", "A_B", "y" * 300, "y" * 300 + "z")]
    assert names[0] == "story-1" and names[2] == "a_b"
    assert len({n.lower() for n in names}) == len(names)
    assert all(len(n.encode()) <= 111 for n in names)


def test_write_corpus_brat_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(CorpusError, match="not empty and was not written by claimcls"):
        write_corpus([Document("a", "He said so.")], tmp_path / "mine", format="brat")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


# --------------------------------------------------------------------------- JSONL round trip

SEPARATORS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x00",
              "\u202e", "\u200f", "😀", "👩‍👩‍👧"]


def test_line_separators_survive_write_and_read(tmp_path):
    text = "He said:" + "".join(SEPARATORS) + "it rained."
    line = dumps_line({"text": text})
    assert len(line.splitlines()) == 1  # even a reader that splits with str.splitlines gets one line
    write_corpus([Document("d", text)], tmp_path / "c.jsonl")
    assert [d.text for d in read_corpus(tmp_path / "c.jsonl")] == [text]
    # and files other tools wrote raw, with U+2028 inside a string, read back too
    (tmp_path / "raw.jsonl").write_text(json.dumps({"id": "r", "text": text}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert read_corpus(tmp_path / "raw.jsonl")[0].text == text


def test_random_texts_round_trip(tmp_path):
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    # pieces of any Unicode but surrogates, mixed with the separators (some are 2+ code points)
    piece = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8), st.sampled_from(SEPARATORS))
    text = st.lists(piece, min_size=1, max_size=8).map("".join).filter(lambda t: t.strip())

    @hypothesis.settings(max_examples=60, deadline=None, database=None)
    @hypothesis.given(st.lists(text, min_size=1, max_size=4))
    def check(texts):
        docs = [Document(f"d{i}", t) for i, t in enumerate(texts)]
        write_corpus(docs, tmp_path / "c.jsonl")
        assert [(d.id, d.text) for d in read_corpus(tmp_path / "c.jsonl")] == [(d.id, d.text) for d in docs]
        assert [json.loads(x)["text"] for x in split_lines("".join(dumps_line(d.to_dict()) for d in docs))] == texts

    check()


def test_surrogates_are_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ClaimclsError, match=r"lone surrogate \\ud800 at character 1"):
        write_corpus([Document("d", "a\ud800b")], tmp_path / "c.jsonl")
    assert not (tmp_path / "c.jsonl").exists()
    (tmp_path / "s.jsonl").write_text('{"id": "s", "text": "a\\udc00b"}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"s\.jsonl:1: document 's': the text holds a lone surrogate \\udc00"):
        read_corpus(tmp_path / "s.jsonl")


def test_predict_output_with_line_separators_reads_back_everywhere(capsys, tmp_path, tiny_model_dir):
    text = "The mayor said\u2028the bridge\u2029would reopen.\x85It rained."
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": text}, {"id": "b", "text": TEXTS[1]}])
    out = tmp_path / "out.jsonl"
    assert predict(capsys, tiny_model_dir, src, "--output", out)[0] == 0
    assert [d.text for d in read_corpus(out)] == [text, TEXTS[1]]
    assert run(capsys, "stats", out)[0] == 0
    before = out.read_bytes()
    assert predict(capsys, tiny_model_dir, src, "--output", out, "--resume")[0] == 0
    assert out.read_bytes() == before


# --------------------------------------------------------------------------- 2. one line, exit 2


@pytest.mark.parametrize("args, pattern", [
    (("--precision", "fp8"), r"--precision must be one of auto, fp32, bf16, fp16, int8, got 'fp8'"),
    (("--precision", "fp64"), r"--precision must be one of"),
    (("--batch-size", "-1"), r"--batch-size must be 1 or more"),
    (("--device", "tpu"), r"--device 'tpu'"),
], ids=["fp8", "fp64", "batch-size", "device-name"])
def test_bad_predict_options(capsys, tmp_path, tiny_model_dir, user_output, args, pattern):
    out, before = user_output
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXTS[0]}])
    assert_error(run(capsys, "predict", "--model", tiny_model_dir, src, "--output", out, "--no-progress", *args), pattern)
    assert out.read_bytes() == before


def test_fp16_and_cuda_without_a_gpu(capsys, tmp_path, tiny_model_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXTS[0]}])
    assert_error(run(capsys, "predict", "--model", tiny_model_dir, src, "--precision", "fp16"), r"fp16 needs a CUDA device")
    assert_error(run(capsys, "predict", "--model", tiny_model_dir, src, "--device", "cuda"), r"no CUDA device is available")
    assert_error(run(capsys, "evaluate", "--model", tiny_model_dir, "--data", "bundled", "--device", "cuda"), r"no CUDA device")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_output_to_a_device_is_refused(capsys, tmp_path, tiny_model_dir):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXTS[0]}])
    assert_error(predict(capsys, tiny_model_dir, src, "--output", "/dev/full"), r"/dev/full: is not a regular file")
    assert_error(predict(capsys, tiny_model_dir, src, "--output", tmp_path), r"is a folder; give a file name")
    assert_error(predict(capsys, tiny_model_dir, src, "--output", tmp_path / "no" / "o.jsonl"), r"does not exist; create it")


def test_stdin_latin1_and_lone_surrogate_line(capsys, monkeypatch, tmp_path, tiny_model_dir):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9 said so.\n"), encoding="utf-8"))
    assert_error(predict(capsys, tiny_model_dir), r"<stdin>: not UTF-8 \(byte b'\\xe9'\)")
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXTS[0]}, '{"id": "s", "text": "x\\ud800"}\n'])
    line = assert_error(predict(capsys, tiny_model_dir, src), r"in\.jsonl:2: the text holds a lone surrogate \\ud800")
    assert "the 1 documents before it were written" in line


@pytest.mark.parametrize("damage, pattern", [
    ("truncate", r"model\.safetensors: not a complete safetensors file: .*truncated"),
    ("config-no-config", r"config\.json: expected claimcls's model description"),
    ("config-list", r"config\.json: expected claimcls's model description .*got list"),
    ("config-invalid", r"config\.json: its config is invalid: model\.dropout must be in"),
    ("encoder-config", r"encoder/config\.json: not valid JSON"),
    ("metrics", r"metrics\.json: not valid JSON"),
    ("nan-weights", r"model\.safetensors: tensor '.*' holds \d+ NaN or infinite values"),
    ("corrupt-bytes", r"model\.safetensors: tensor '.*' holds"),
    ("no-tokenizer", r"encoder: no tokenizer files"),
], ids=["truncated", "config-no-config", "config-list", "config-invalid", "encoder-config", "metrics", "nan-weights",
        "corrupt-bytes", "no-tokenizer"])
def test_a_broken_model_folder_is_named_not_loaded(capsys, tmp_path, model_copy, user_output, damage, pattern):
    out, before = user_output
    weights = model_copy / "model.safetensors"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-1000])
    elif damage.startswith("config"):
        meta = json.loads((model_copy / "config.json").read_text())
        if damage == "config-no-config":
            del meta["config"]
        elif damage == "config-invalid":
            meta["config"]["model"]["dropout"] = 2
        (model_copy / "config.json").write_text(json.dumps([meta] if damage == "config-list" else meta))
    elif damage == "encoder-config":
        (model_copy / "encoder" / "config.json").write_text('{"model_type": "bert",')
    elif damage == "metrics":
        (model_copy / "metrics.json").write_text("{")
    elif damage == "nan-weights":
        from safetensors.torch import load_file, save_file

        state = load_file(str(weights))
        name = sorted(state)[-1]
        state[name][0] = float("nan")
        save_file(state, str(weights))
    elif damage == "corrupt-bytes":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64  # same size, damaged in the middle
        weights.write_bytes(bytes(data))
    elif damage == "no-tokenizer":
        for p in (model_copy / "encoder").iterdir():
            if p.name != "config.json":
                p.unlink()
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXTS[0]}])
    assert_error(predict(capsys, model_copy, src, "--output", out), pattern)
    assert out.read_bytes() == before
    assert_error(run(capsys, "evaluate", "--model", model_copy, "--data", "bundled"), pattern)


@pytest.mark.parametrize("args, pattern", [
    (("stats", "bundled", "--split", "nope"), r"the bundled corpus has splits train, dev, test; got split='nope'"),
    (("train", "--data.bundled", "false"), r"no training data"),
    (("train", "--model.dropout", "2"), r"model\.dropout must be in \[0, 1\), got 2\.0"),
    (("train", "--model.span_dim", "0"), r"model\.span_dim must be in \[8, 4096\], got 0"),
    (("train", "--train.lr", "nan"), r"train\.lr must be a finite number, got nan"),
    (("train", "--train.head_lr", "inf"), r"train\.head_lr must be a finite number, got inf"),
    (("train", "--train.warmup_ratio", "-0.5"), r"train\.warmup_ratio must be in \[0, 1\)"),
], ids=["stats-split", "no-data", "dropout", "span-dim", "lr-nan", "lr-inf", "warmup"])
def test_bad_config_and_corpus_arguments(capsys, tmp_path, args, pattern):
    if args[0] == "train":
        args = (*args, "--output", tmp_path / "m")
    assert_error(run(capsys, *args), pattern)
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


def test_stats_of_a_bundled_split_works_and_a_jsonl_split_is_refused(capsys, tmp_path):
    code, out, err = run(capsys, "stats", "bundled", "--split", "dev")
    assert code == 0 and "documents" in out, err
    write_corpus([Document("a", "He said it.")], tmp_path / "c.jsonl")
    assert_error(run(capsys, "stats", tmp_path / "c.jsonl", "--split", "dev"), r"c\.jsonl: a JSONL file has no splits")


def test_duplicate_yaml_keys_are_refused(capsys, tmp_path):
    (tmp_path / "c.yaml").write_text("train:\n  lr: 1e-4\n  epochs: 1\n  lr: 1e-2\n")
    assert_error(run(capsys, "train", "--config", tmp_path / "c.yaml", "--output", tmp_path / "m"), r"c\.yaml:4: key 'lr' appears twice")


# --------------------------------------------------------------------------- silent wrong behaviour


def test_jsonl_suffixes_in_any_case_are_jsonl(capsys, tmp_path, tiny_model_dir):
    for name in ("in.JSONL", "in.ndjson"):
        src = write_jsonl(tmp_path / name, [{"id": "a", "text": TEXTS[0]}, {"id": "b", "text": TEXTS[1]}])
        code, out, err = predict(capsys, tiny_model_dir, src)
        assert code == 0 and [json.loads(x)["id"] for x in out.splitlines()] == ["a", "b"], err
    assert [d.id for d in read_corpus(tmp_path / "in.ndjson")] == ["a", "b"]


def test_stdin_text_that_starts_with_a_brace_is_text(capsys, monkeypatch, tiny_model_dir):
    text = "{Breaking} The mayor said the bridge would reopen.\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, err = predict(capsys, tiny_model_dir)
    assert code == 0 and json.loads(out)["text"] == text, err
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"id": "j", "text": TEXTS[0]}) + "\n"))
    code, out, _ = predict(capsys, tiny_model_dir)
    assert code == 0 and json.loads(out)["id"] == "j"


@pytest.mark.parametrize("change, pattern", [
    (lambda a: a.pop("kind"), r"missing the field 'kind'"),
    (lambda a: a.pop("quote"), r"missing the field 'quote'"),
    (lambda a: a["cue"].update(start=3.7), r"start must be an integer character offset, got 3\.7"),
    (lambda a: a["cue"].update(end="7"), r"end must be an integer character offset"),
], ids=["no-kind", "no-quote", "float-offset", "string-offset"])
def test_corpus_records_are_not_defaulted_or_rounded(tmp_path, change, pattern):
    att = {"cue": {"start": 3, "end": 7, "text": "said"}, "content": [{"start": 8, "end": 10, "text": "it"}],
           "source": None, "target": None, "kind": "statement", "quote": "indirect"}
    change(att)
    write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "He said it.", "attributions": [att]}])
    with pytest.raises(CorpusError, match=r"c\.jsonl:1: .*" + pattern):
        read_corpus(tmp_path / "c.jsonl")


def test_a_null_id_is_refused(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", [{"id": None, "text": "He said it."}])
    with pytest.raises(CorpusError, match=r"c\.jsonl:1: a document's id must be a string .*got None"):
        read_corpus(tmp_path / "c.jsonl")


def test_an_ann_file_of_garbage_is_refused(tmp_path):
    (tmp_path / "a.txt").write_text("He said it.")
    (tmp_path / "a.ann").write_text("this is not\nan annotation file\n")
    with pytest.raises(CorpusError, match=r"a\.ann:1: document 'a': 'this is not.*' is not a brat annotation line"):
        read_corpus(tmp_path)


# --------------------------------------------------------------------------- 3. sound models


def test_check_weights_refuses_to_save_or_load_non_finite_tensors():
    import torch

    folder_checks.check_weights({"w": torch.ones(3), "ids": torch.arange(3)}, "m.safetensors")
    with pytest.raises(ModelFolderError, match=r"refusing to save out: tensor 'w' holds 1 NaN"):
        folder_checks.check_weights({"w": torch.tensor([1.0, float("nan")])}, "out", saving=True)
    with pytest.raises(ModelFolderError, match=r"m\.safetensors: tensor 'w' holds a value of 1e\+30"):
        folder_checks.check_weights({"w": torch.tensor([1e30])}, "m.safetensors")


def test_check_tokenizer_refuses_a_vocabulary_that_does_not_fit():
    class Tok:
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

    class Cfg:
        vocab_size = 30522

    folder_checks.check_tokenizer(Tok(30522), Cfg, "enc")
    for n in (5, 40000):
        with pytest.raises(ModelFolderError, match=f"enc: the tokenizer has {n} tokens but the encoder was trained with 30522"):
            folder_checks.check_tokenizer(Tok(n), Cfg, "enc")


def test_atomic_writes_leave_the_old_file_on_error_and_are_world_readable(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_file(path) as f:
            f.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    atomic.write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o644
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_text("old weights")
    (folder / "checkpoint").mkdir()
    with pytest.raises(RuntimeError):
        with atomic.atomic_dir(folder, keep=("checkpoint",)) as tmp:
            (tmp / "model.safetensors").write_text("half")
            raise RuntimeError("killed")
    assert (folder / "model.safetensors").read_text() == "old weights" and (folder / "checkpoint").is_dir()
    with atomic.atomic_dir(folder, keep=("checkpoint",)) as tmp:
        (tmp / "model.safetensors").write_text("new weights")
    assert (folder / "model.safetensors").read_text() == "new weights" and (folder / "checkpoint").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt", "model"]


# --------------------------------------------------------------------------- 4. bounded cost


def test_sentence_splitting_hands_pysbd_bounded_blocks(monkeypatch):
    seen = []
    real = sentences._pysbd_pieces

    def spy(block):
        seen.append(len(block))
        return real(block)

    monkeypatch.setattr(sentences, "_pysbd_pieces", spy)
    monkeypatch.setattr(sentences, "MAX_BLOCK", 400)
    unpunctuated = " ".join(["word"] * 500)  # 2,499 characters, no sentence end
    long_sentences = "The minister said the talks would go on. " * 60
    no_space = "x" * 1000
    for text in (unpunctuated, long_sentences, no_space):
        seen.clear()
        out = sentences.split_sentences(text)
        assert max(seen) <= 400
        assert all(text[s.start : s.end] == s.text for s in out)
        assert "".join(s.text for s in out).replace(" ", "") == text.replace(" ", "")
    assert all(s.text == "The minister said the talks would go on." for s in sentences.split_sentences(long_sentences))


def test_short_paragraphs_are_split_as_before():
    text = 'Dr. Lee said so. "We are done. We will leave," he said.\nIt rained.'
    assert [s.text for s in sentences.split_sentences(text)] == [
        "Dr. Lee said so.", '"We are done. We will leave," he said.', "It rained."]


# --------------------------------------------------------------------------- 5. checkpoints never unpickle code


class _Payload:
    def __reduce__(self):
        return (exec, ("import os; os.environ['CLAIMCLS_UNPICKLED'] = '1'",))


@pytest.mark.parametrize("name", ["optimizer.bin", "scheduler.bin", "random_states_0.pkl"])
def test_resuming_a_checkpoint_never_runs_pickled_code(tmp_path, monkeypatch, name):
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    monkeypatch.delenv("CLAIMCLS_UNPICKLED", raising=False)
    AcceleratorState._reset_state()
    accelerator = Accelerator(cpu=True)
    module = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(module.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    module, optimizer, scheduler = accelerator.prepare(module, optimizer, scheduler)
    accelerator.save_state(str(tmp_path / "ckpt"))
    torch.save(_Payload(), tmp_path / "ckpt" / name)  # what a tampered checkpoint would hold
    try:
        accelerator.load_state(str(tmp_path / "ckpt"))  # the call training makes on --resume
    except Exception:
        pass  # refusing is the point
    finally:
        AcceleratorState._reset_state()
    assert "CLAIMCLS_UNPICKLED" not in os.environ, f"loading {name} ran code from the checkpoint"


def test_version_floors_never_unpickle():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {re.match(r"[\w-]+", d).group(): re.search(r">=([\d.]+)", d) for d in deps}
    version = {k: tuple(int(x) for x in m.group(1).split(".")) for k, m in floors.items() if m}
    assert version["torch"] >= (2, 6)  # torch.load defaults to weights_only=True from 2.6
    # 1.1 is the first to load through its own load(weights_only=True) with an allowlist for its RNG states
    assert version["accelerate"] >= (1, 1)
