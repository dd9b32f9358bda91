"""--engine ray on a local Ray instance: the same output as single-process prediction, shard by shard."""

import copy
import json
from pathlib import Path

import pytest

import claimcls
from claimcls.cli import main
from claimcls.errors import ClaimclsError

ray = pytest.importorskip("ray", reason="the Ray extra is not installed: pip install -e '.[ray]'")
from claimcls.ray_engine import find_shards, predict_shards  # noqa: E402  (needs ray)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def shards(tmp_path_factory, bundled):
    """200 documents in three shards: two JSONL, one Parquet; ids such as "007" must stay strings."""
    from datasets import Dataset

    folder = tmp_path_factory.mktemp("shards")
    texts = [d.text for d in claimcls.read_corpus(FIXTURES / "tiny.jsonl")] + [d.text[: 300 + 7 * i] for i, d in enumerate(bundled)]
    rows = [{"id": f"{i:03d}", "text": texts[i % len(texts)]} for i in range(200)]
    for name, part in (("a", rows[:80]), ("b", rows[80:150])):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
    Dataset.from_list(rows[150:]).to_parquet(str(folder / "c.parquet"))
    return folder, rows


def same_predictions(got: list[dict], want: list[dict]) -> None:
    """Equal documents; scores within 1e-3 (batches of other shapes sum floats in another order)."""
    got, want = copy.deepcopy(got), copy.deepcopy(want)  # scores are popped: the caller's lists stay whole
    assert [d["id"] for d in got] == [d["id"] for d in want]
    for g, w in zip(got, want):
        gs = [a.pop("score") for a in g["attributions"]]
        ws = [a.pop("score") for a in w["attributions"]]
        assert g == w
        assert gs == pytest.approx(ws, abs=1e-3)


def test_ray_output_equals_single_process_and_reruns_skip(local_ray, shards, overfit, tmp_path):
    (model, model_dir), (folder, rows) = overfit, shards  # a tiny model that labels something
    out = tmp_path / "out"
    with pytest.raises(ClaimclsError, match="leave none to read the shards"):
        predict_shards([str(folder)], out, str(model_dir), actors=2, cpus_per_actor=1, device="cpu", progress=False)
    run = predict_shards([str(folder)], out, str(model_dir), device="cpu", precision="fp32", docs_per_batch=16, progress=False)
    assert sorted(p.split("/")[-1] for p in run.written) == ["a.jsonl", "b.jsonl", "c.jsonl"] and run.documents == 200
    want = [d.to_dict() for d in model.predict([{"id": r["id"], "text": r["text"]} for r in rows])]
    assert sum(len(d["attributions"]) for d in want) > 0, "the model predicts nothing: the test would prove nothing"
    got = [json.loads(line) for name in ("a", "b", "c") for line in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    same_predictions(got, want)

    (out / "b.jsonl").unlink()
    before = (out / "a.jsonl").stat().st_mtime_ns
    again = predict_shards([str(folder / "*.jsonl"), str(folder / "c.parquet")], out, str(model_dir), device="cpu",
                           precision="fp32", progress=False)
    assert [p.split("/")[-1] for p in again.written] == ["b.jsonl"] and len(again.skipped) == 2
    assert (out / "a.jsonl").stat().st_mtime_ns == before
    same_predictions([json.loads(x) for x in (out / "b.jsonl").read_text(encoding="utf-8").splitlines()], want[80:150])


def test_ray_parquet_output_reads_back(local_ray, shards, overfit, tmp_path):
    from datasets import Dataset

    (model, model_dir), (folder, rows) = overfit, shards
    out = tmp_path / "pq"
    predict_shards([str(folder / "c.parquet")], out, str(model_dir), output_format="parquet", device="cpu",
                   precision="fp32", progress=False)
    got = [d.to_dict() for d in claimcls.read_corpus(Dataset.from_parquet(str(out / "c.parquet")))]
    same_predictions(got, [d.to_dict() for d in model.predict(rows[150:])])


def test_cli_engine_ray(local_ray, shards, tiny_model_dir, tmp_path, capsys):
    folder, _ = shards
    out = tmp_path / "cli"
    args = ["predict", "--engine", "ray", str(folder / "c.parquet"), "--model", str(tiny_model_dir), "--output", str(out),
            "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    assert len((out / "c.jsonl").read_text(encoding="utf-8").splitlines()) == 50
    assert main(args) == 0 and "0 shard(s) written (0 documents), 1 already done" in capsys.readouterr().err
    assert main(args + ["--format", "csv"]) == 2
    assert "writes jsonl or parquet shards" in capsys.readouterr().err


def test_shard_errors(tmp_path):
    with pytest.raises(ClaimclsError, match="no .jsonl or .parquet shards"):
        find_shards([str(tmp_path / "*.jsonl")])
    (tmp_path / "x").mkdir()
    (tmp_path / "a.jsonl").write_text("")
    (tmp_path / "x" / "a.jsonl").write_text("")
    with pytest.raises(ClaimclsError, match="both named 'a'"):
        find_shards([str(tmp_path / "a.jsonl"), str(tmp_path / "x")])
    (tmp_path / "t.txt").write_text("")
    with pytest.raises(ClaimclsError, match="reads .jsonl and .parquet shards, not .txt"):
        find_shards([str(tmp_path / "t.txt")])


def test_parquet_format_needs_ray_engine(tiny_model_dir, tmp_path, capsys):
    assert main(["predict", "--model", str(tiny_model_dir), "--format", "parquet", str(tmp_path / "x.jsonl")]) == 2
    assert "--format parquet writes shards with --engine ray" in capsys.readouterr().err
