"""Measure the span -> token label -> span round trip on a corpus.

    python scripts/roundtrip.py --data ../shared/data/polnear --split train

For each gold span (per role) it checks whether tagging it on the default encoder's
tokens, in the windows claimcls trains and predicts on, and decoding gives back exactly
the same characters; it prints the share recovered and why the rest were lost.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claimcls.config import default_encoder_path  # noqa: E402
from claimcls.corpus import read_corpus  # noqa: E402
from claimcls.encoding import encode_document, round_trip  # noqa: E402
from claimcls.schema import ROLES  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="bundled")
    p.add_argument("--split", default=None)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--encoder", default=None)
    args = p.parse_args()
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(args.encoder or default_encoder_path())
    docs = read_corpus(args.data, split=args.split, on_invalid="skip")
    total, ok, why = Counter(), Counter(), Counter()
    examples: dict[str, str] = {}
    for i, doc in enumerate(docs):
        enc = encode_document(tok, doc, i)
        recovered = round_trip(enc, doc, args.max_length)
        gold = {(role, s.start, s.end): s for att in doc.attributions for role, s in att.spans()}
        for (role, start, end), span in gold.items():
            total[role] += 1
            if (role, start, end) in recovered:
                ok[role] += 1
                continue
            # classify the loss
            same_start = [k for k in recovered if k[0] == role and k[1] == start]
            if span.text != span.text.strip():
                reason = "gold span has edge whitespace"
            elif (enc.text[start - 1 : start].isalnum() and span.text[0].isalnum()) or (
                enc.text[end : end + 1].isalnum() and span.text[-1].isalnum()
            ):
                reason = "boundary inside a word"
            elif any(k[2] > end for k in same_start) or any(k[0] == role and k[1] < start < k[2] for k in recovered):
                reason = "overlaps another span of the same role"
            elif same_start and max(k[2] for k in same_start) < end:
                reason = "cut by the window edge"
            else:
                reason = "other"
            why[(role, reason)] += 1
            examples.setdefault(f"{role}: {reason}", f"{doc.id} {start}-{end} {span.text[:70]!r}")
    print(f"{'role':<10}{'gold':>8}{'exact':>8}{'share':>9}")
    for role in ROLES:
        if total[role]:
            print(f"{role:<10}{total[role]:>8}{ok[role]:>8}{ok[role] / total[role]:>9.2%}")
    all_t, all_ok = sum(total.values()), sum(ok.values())
    print(f"{'all':<10}{all_t:>8}{all_ok:>8}{all_ok / max(all_t, 1):>9.2%}")
    print("lost:")
    for (role, reason), n in why.most_common():
        print(f"  {role:<8} {reason:<40} {n:>6}   e.g. {examples[f'{role}: {reason}']}")


if __name__ == "__main__":
    main()
