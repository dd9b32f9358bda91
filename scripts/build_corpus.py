"""Build the bundled corpus (JSONL with offsets) from its hand-written YAML sources.

    python scripts/build_corpus.py corpus/*.yaml -o claimcls/data/bundled.jsonl.gz

The YAML format is described in corpus/README.md: spans are written as strings and
located here, so authors never count characters. Everything is validated on the way.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claimcls.corpus import validate_document, write_jsonl  # noqa: E402
from claimcls.errors import CorpusError  # noqa: E402
from claimcls.schema import Attribution, Document, Span  # noqa: E402
from claimcls.sentences import split_sentences  # noqa: E402
from claimcls.stats import corpus_stats, format_stats  # noqa: E402


def _occurrences(text: str, needle: str) -> list[int]:
    out, i = [], text.find(needle)
    while i >= 0:
        out.append(i)
        i = text.find(needle, i + 1)
    return out


def _locate(text: str, spec, near: int | None, after: int, where: str) -> Span:
    if isinstance(spec, dict):
        needle, n = spec.get("text"), spec.get("n")
    else:
        needle, n = spec, None
    if not isinstance(needle, str) or not needle:
        raise CorpusError(f"{where}: a span must be a non-empty string or {{text, n}}, got {spec!r}")
    if needle != needle.strip():
        raise CorpusError(f"{where}: span {needle!r} has leading or trailing spaces")
    hits = _occurrences(text, needle)
    if not hits:
        raise CorpusError(f"{where}: span {needle!r} is not in the text")
    if n is not None:
        if not 1 <= int(n) <= len(hits):
            raise CorpusError(f"{where}: span {needle!r} occurs {len(hits)} times, n={n} is out of range")
        start = hits[int(n) - 1]
    elif near is None:
        later = [h for h in hits if h >= after]
        if not later:
            raise CorpusError(f"{where}: cue {needle!r} does not occur after the previous cue (at {after}); list attributions in text order or use {{text, n}}")
        start = later[0]
    else:
        start = min(hits, key=lambda h: (abs(h - near), h))
    return Span(start, start + len(needle), needle)


def build_document(raw: dict, base: Path, where: str) -> Document:
    doc_id = raw.get("id")
    if "text_file" in raw:
        with open(base / raw["text_file"], encoding="utf-8", newline="") as f:
            text = f.read()
    else:
        text = raw.get("text")
    if not isinstance(text, str):
        raise CorpusError(f"{where}: document {doc_id!r} has no text")
    where = f"{where} ({doc_id})"
    atts = []
    after = 0
    for i, a in enumerate(raw.get("attributions") or []):
        here = f"{where} attribution {i + 1}"
        unknown = set(a) - {"source", "cue", "content", "target", "kind", "quote", "resolved_source", "checked"}
        if unknown:
            raise CorpusError(f"{here}: unknown keys {sorted(unknown)}")
        if "cue" not in a:
            raise CorpusError(f"{here}: no cue")
        cue = _locate(text, a["cue"], None, after, here)
        after = cue.start
        content = a.get("content")
        if isinstance(content, (str, dict)):
            content = [content]
        if not content:
            raise CorpusError(f"{here}: no content")
        pieces = sorted((_locate(text, c, cue.start, 0, here) for c in content), key=lambda s: s.start)
        source = _locate(text, a["source"], cue.start, 0, here) if a.get("source") else None
        target = _locate(text, a["target"], cue.start, 0, here) if a.get("target") else None
        resolved = a.get("resolved_source")
        if source is not None and not resolved:
            raise CorpusError(f"{here}: source {source.text!r} has no resolved_source")
        atts.append(Attribution(cue, tuple(pieces), source, target, a.get("kind"), a.get("quote"), resolved if source else None))
    doc = Document(str(doc_id), text, split_sentences(text), tuple(atts))
    validate_document(doc, where)
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="YAML source files")
    parser.add_argument("-o", "--output", type=Path, required=True, help="JSONL file to write")
    args = parser.parse_args(argv)
    docs: list[Document] = []
    try:
        for path in args.sources:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for j, raw in enumerate(data.get("documents") or []):
                docs.append(build_document(raw, path.parent, f"{path} document {j + 1}"))
        ids = Counter(d.id for d in docs)
        dupes = [i for i, c in ids.items() if c > 1]
        if dupes:
            raise CorpusError(f"duplicate document ids: {dupes}")
    except (CorpusError, yaml.YAMLError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_jsonl(docs, args.output)
    print(format_stats(corpus_stats(docs)))
    print(f"wrote {len(docs)} documents to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
