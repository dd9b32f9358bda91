"""Hugging Face datasets and Parquet/Arrow files: the JSON shape survives the round trip."""

import json

import pytest

import claimcls
from claimcls.cli import main
from claimcls.errors import ClaimclsError, CorpusError
from claimcls.schema import Attribution, Document, Span


def test_round_trip_keeps_every_document(bundled):
    docs = bundled[:40]
    ds = claimcls.to_dataset(docs)
    assert ds.column_names == ["id", "text", "sentences", "attributions"]
    assert claimcls.read_corpus(ds) == docs


def test_round_trip_keeps_nulls_and_scores():
    text = "Lind said it. Voss accused the board of lying."
    atts = (
        Attribution(cue=Span.of(text, 5, 9), content=(Span.of(text, 10, 12),), source=Span.of(text, 0, 4),
                    kind="statement", quote="indirect", resolved_source=None, score=0.75),
        Attribution(cue=Span.of(text, 19, 26), content=(Span.of(text, 37, 45),), source=Span.of(text, 14, 18),
                    target=Span.of(text, 27, 36), kind="accusation", quote="indirect", resolved_source="Voss"),
    )
    doc = Document("d", text, claimcls.split_sentences(text), atts)
    back = claimcls.read_corpus(claimcls.to_dataset([doc]))[0]
    assert back == doc
    assert back.attributions[0].target is None and back.attributions[1].score is None


def test_dataset_errors_name_the_column_and_row(bundled):
    from datasets import Dataset

    with pytest.raises(CorpusError, match=r"no 'id' column .*rename_column"):
        claimcls.read_corpus(Dataset.from_list([{"text": "x"}]))
    row = bundled[0].to_dict()
    row["attributions"][0]["cue"]["start"] += 1
    with pytest.raises(CorpusError, match="dataset row 0: .*cue span"):
        claimcls.read_corpus(claimcls.to_dataset([Document.from_dict(row)]))
    with pytest.raises(TypeError, match="read them first"):
        claimcls.to_dataset("corpus.jsonl")


def test_predict_dataset_adds_the_predictions(tiny_model, bundled):
    from datasets import Dataset

    texts = [d.text for d in bundled[:6]]
    ds = Dataset.from_dict({"text": texts, "n": list(range(6))})
    out = tiny_model.predict_dataset(ds, map_batch_size=4)  # two map batches
    assert out.column_names == ["text", "n", "attributions"] and out["n"] == list(range(6))
    expected = [[a.to_dict() for a in d.attributions] for d in tiny_model.predict(texts)]
    assert out["attributions"] == expected
    with pytest.raises(ClaimclsError, match="no column 'body'.*text_column"):
        tiny_model.predict_dataset(ds, text_column="body")
    with pytest.raises(ClaimclsError, match="already has a column 'n'"):
        tiny_model.predict_dataset(ds, output_column="n")


def test_predict_reads_parquet_and_arrow(tiny_model_dir, bundled, tmp_path):
    from datasets import Dataset

    rows = [{"id": d.id, "text": d.text} for d in bundled[:5]]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ds = Dataset.from_list(rows)
    ds.to_parquet(str(tmp_path / "in.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))  # datasets' own .arrow files (the IPC stream format)
    arrow = next((tmp_path / "saved").glob("*.arrow"))
    outputs = {}
    for name, path in (("jsonl", tmp_path / "in.jsonl"), ("parquet", tmp_path / "in.parquet"), ("arrow", arrow)):
        out = tmp_path / f"out-{name}.jsonl"
        assert main(["predict", "--model", str(tiny_model_dir), str(path), "--output", str(out), "--no-progress"]) == 0
        outputs[name] = out.read_text(encoding="utf-8")
    assert outputs["parquet"] == outputs["jsonl"] == outputs["arrow"]
    assert len(outputs["jsonl"].splitlines()) == 5


def test_predict_parquet_without_text_column(tiny_model_dir, tmp_path, capsys):
    from datasets import Dataset

    Dataset.from_list([{"id": "a", "body": "x"}]).to_parquet(str(tmp_path / "bad.parquet"))
    assert main(["predict", "--model", str(tiny_model_dir), str(tmp_path / "bad.parquet"), "--no-progress"]) == 2
    assert "has no 'text' column (it has ['id', 'body'])" in capsys.readouterr().err
