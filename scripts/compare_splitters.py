"""How the fast sentence splitter's sentences differ from pysbd's, and how fast each is.

    python scripts/compare_splitters.py [--polnear ../shared/data/polnear] [--show 20]

On the bundled corpus and PolNeAR dev and train (read in place, never copied): documents
split identically, the sentence ends only one splitter makes, counted by type, and
milliseconds per sentence of each (CPU time). ``--show N`` prints N differing ends of each
kind with their context (for reading only; PolNeAR text is not to be stored).
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from pathlib import Path

from claimcls import read_corpus
from claimcls.sentences import split_sentences


def texts_of(polnear: Path | None) -> dict[str, list[str]]:
    out = {"bundled": [d.text for d in read_corpus("bundled")]}
    for split in ("dev", "train"):
        folder = polnear / "data" / split / "text" if polnear else None
        if folder and folder.is_dir():
            out[f"polnear-{split}"] = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))]
    return out


def kind(text: str, end: int) -> str:
    """What a sentence end (an offset just after it) looks like."""
    before, after = text[max(0, end - 12) : end], text[end : end + 12].lstrip()
    if re.search(r"(^|[\s(\"\u201c])([A-Z]|[A-Za-z]+\.[A-Za-z.]+|[A-Z][a-z]{0,3})\.$", before):
        return "abbreviation or initial"
    if any(q in before[-3:] + after[:1] for q in "\"'\u201c\u201d\u2018\u2019"):
        return "quotation mark"
    if before[-1:] in ")]" or after[:1] in "([":
        return "bracket"
    if after[:1].islower():
        return "lower-case next"
    if before[-1:] not in ".!?":
        return "no end punctuation"
    return "other"


def timed(split, texts):
    t0 = time.process_time()
    out = [split(t) for t in texts]
    return out, time.process_time() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--polnear", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "polnear")
    p.add_argument("--show", type=int, default=0)
    args = p.parse_args()
    split_sentences("Warm up. Load pysbd.")
    for name, texts in texts_of(args.polnear if args.polnear.is_dir() else None).items():
        ref, t_ref = timed(split_sentences, texts)
        got, t_got = timed(lambda t: split_sentences(t, method="fast"), texts)
        same = sum(a == b for a, b in zip(ref, got))
        only = {"pysbd": Counter(), "fast": Counter()}
        shown = Counter()
        for text, a, b in zip(texts, ref, got):
            ends_a, ends_b = {s.end for s in a}, {s.end for s in b}
            for who, ends in (("pysbd", ends_a - ends_b), ("fast", ends_b - ends_a)):
                for e in sorted(ends):
                    k = kind(text, e)
                    only[who][k] += 1
                    if shown[who, k] < args.show:
                        shown[who, k] += 1
                        print(f"  only {who:<5} {k:<24} {text[max(0, e - 50):e]!r} | {text[e:e + 30]!r}")
        n = sum(len(a) for a in ref)
        print(f"{name}: {len(texts)} documents, {n} sentences (pysbd) / {sum(len(b) for b in got)} (fast); "
              f"{same} documents split identically ({100 * same / max(len(texts), 1):.1f}%)")
        print(f"  ms per sentence: pysbd {1000 * t_ref / n:.3f}, fast {1000 * t_got / n:.3f} ({t_ref / max(t_got, 1e-9):.1f}x)")
        for who in only:
            print(f"  ends only {who}: {sum(only[who].values())} " + ", ".join(f"{k} {v}" for k, v in only[who].most_common()))


if __name__ == "__main__":
    main()
