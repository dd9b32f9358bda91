"""Check the bundled corpus's labels for consistency.

    python scripts/check_corpus.py corpus/*.yaml

Flags (each names the file, document, attribution number and spans):

- ``cue-kind``: the same cue wording (lower-cased) labelled with different kinds across the
  corpus; every attribution whose kind is not the wording's most common one is flagged.
- ``target-in-content``: a target that overlaps a content piece (docs/annotation.md §2).
- ``mid-word``: a content piece, source or target that starts or ends inside a word.
- ``source-not-np``: a source that does not look like a noun phrase: it starts with a
  preposition, complementizer or reporting verb, ends with a function word or a comma, or
  overlaps its own cue.
- ``cue-overlap``: a cue that overlaps its own source, content or target.
- ``cue-placement``: a cue that starts or ends inside a word, that is the same span as the
  previous attribution's cue, or that lies more than two sentences away from its source or
  from all its content (a multi-paragraph quote's later pieces may be farther; the builder locates a cue as the next occurrence of its words: a misplaced cue
  shows up this way).

A flag that is right by the guide is justified in the YAML, beside the attribution:
``checked: {cue-kind: "asked reports a question here"}``; a cue wording whose kind the
context decides ("called X a Y", "asked") is justified once, with its rule, in
``corpus/cue_rules.yaml`` (``context_kinds: {wording: rule}``). Justified flags are listed
with ``--all`` and do not fail the check. Exit status: 0 when nothing is left unjustified, 1 when
something is, 2 when a file does not build.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_corpus import build_document  # noqa: E402

from claimcls.errors import CorpusError  # noqa: E402

FLAGS = ("cue-kind", "target-in-content", "mid-word", "source-not-np", "cue-overlap", "cue-placement")

# Words a noun-phrase source does not start with ("by" too: a passive's agent is the source
# without "by", docs/annotation.md §2).
_BAD_FIRST = {
    "that", "to", "of", "by", "for", "with", "in", "on", "at", "from", "said", "says", "say",
    "told", "according", "who", "which", "whom", "whose", "and", "but", "or", "because", "when",
    "as", "if", "while", "than", "is", "was", "are", "were", "has", "have", "had",
}
_BAD_LAST = {
    "the", "a", "an", "of", "and", "or", "to", "for", "with", "in", "on", "at", "by", "from",
    "said", "says", "told", "who", "which", "that", "whose", "is", "was", "are", "were", "has",
    "have", "had", "'s", "’s",
}
_WORD = re.compile(r"[\w’']+")


@dataclass(frozen=True)
class Flag:
    code: str
    where: str
    message: str
    justified: str | None = None

    def __str__(self) -> str:
        note = f"  [justified: {self.justified}]" if self.justified else ""
        return f"{self.where}: {self.code}: {self.message}{note}"


def _inside_word(text: str, pos: int) -> bool:
    return 0 < pos < len(text) and text[pos - 1].isalnum() and text[pos].isalnum()


def _distance(sentence, span, cue_sentence: int) -> int:
    """Sentences between a span and its cue (0 when the span touches the cue's sentence)."""
    first, last = sentence(span.start), sentence(span.end - 1)
    return 0 if first <= cue_sentence <= last else min(abs(first - cue_sentence), abs(last - cue_sentence))


def _overlap(a, b) -> bool:
    return a.start < b.end and b.start < a.end


def _source_problem(source, cue) -> str | None:
    words = _WORD.findall(source.text.lower())
    if not words:
        return "has no words"
    if _overlap(source, cue):
        return "overlaps its cue"
    if words[0] in _BAD_FIRST:
        return f"starts with {words[0]!r}"
    if source.text.rstrip().endswith(","):
        return "ends with a comma"
    if words[-1] in _BAD_LAST:
        return f"ends with {words[-1]!r}"
    return None


def load_rules(path: Path | None) -> dict[str, str]:
    """``{cue wording: rule}`` of the wordings whose kind is decided by context."""
    if path is None or not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = data.get("context_kinds") or {}
    if not isinstance(rules, dict) or not all(isinstance(v, str) and v for v in rules.values()):
        raise CorpusError(f"{path}: context_kinds must map cue wordings to the rule that decides their kind")
    return {str(k).lower(): v for k, v in rules.items()}


def check(paths: list[Path], rules: dict[str, str] | None = None) -> list[Flag]:
    """Every flag in the given YAML sources, justified or not; ``rules`` as :func:`load_rules`.

    Raises:
        CorpusError: a file does not build (see scripts/build_corpus.py).
    """
    flags: list[Flag] = []
    by_cue: dict[str, list[tuple[str, str, dict]]] = defaultdict(list)  # wording -> (kind, where, checked)
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for j, raw in enumerate(data.get("documents") or []):
            doc = build_document(raw, path.parent, f"{path} document {j + 1}")
            text = doc.text

            def sentence(pos: int) -> int:
                return next((k for k, sent in enumerate(doc.sentences) if pos < sent.end), len(doc.sentences))

            previous = None
            for i, (att, raw_att) in enumerate(zip(doc.attributions, raw.get("attributions") or [])):
                where = f"{path}:{doc.id}:{i + 1} (cue {att.cue.text!r} at {att.cue.start})"
                checked = raw_att.get("checked") or {}
                if not isinstance(checked, dict) or set(checked) - set(FLAGS):
                    raise CorpusError(f"{where}: 'checked' must map flags ({', '.join(FLAGS)}) to reasons, got {checked!r}")

                def add(code: str, message: str) -> None:
                    flags.append(Flag(code, where, message, checked.get(code)))

                if att.kind:
                    by_cue[att.cue.text.lower()].append((att.kind, where, checked))
                cue_sent = sentence(att.cue.start)
                if _inside_word(text, att.cue.start) or _inside_word(text, att.cue.end):
                    add("cue-placement", "cue starts or ends inside a word")
                elif previous is not None and (previous.start, previous.end) == (att.cue.start, att.cue.end):
                    add("cue-placement", "cue is the same span as the previous attribution's: give {text, n} for a later occurrence")
                elif any(_distance(sentence, sp, cue_sent) > 2 for sp in [att.source] if sp is not None) or \
                        min(_distance(sentence, sp, cue_sent) for sp in att.content) > 2:
                    add("cue-placement", "cue is more than two sentences away from its source or all of its content")
                previous = att.cue
                if att.target is not None:
                    for piece in att.content:
                        if _overlap(att.target, piece):
                            add("target-in-content", f"target {att.target.text!r} overlaps content {piece.text!r}")
                for role, span in att.spans():
                    if role == "cue":
                        continue
                    if _inside_word(text, span.start) or _inside_word(text, span.end):
                        add("mid-word", f"{role} {span.text!r} starts or ends inside a word")
                    if _overlap(span, att.cue):
                        add("cue-overlap", f"cue overlaps {role} {span.text!r}")
                if att.source is not None:
                    problem = _source_problem(att.source, att.cue)
                    if problem:
                        add("source-not-np", f"source {att.source.text!r} {problem}")
    for wording, uses in by_cue.items():
        kinds = Counter(kind for kind, _, _ in uses)
        if len(kinds) < 2:
            continue
        major, _ = kinds.most_common(1)[0]
        for kind, where, checked in uses:
            if kind != major:
                flags.append(Flag("cue-kind", where, f"{wording!r} is {kind} here but {major} in {kinds[major]} of {len(uses)} uses ({dict(kinds)})",
                                  checked.get("cue-kind") or (rules or {}).get(wording)))
    return flags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="YAML source files (corpus/*.yaml)")
    parser.add_argument("--rules", type=Path, default=Path(__file__).resolve().parents[1] / "corpus" / "cue_rules.yaml",
                        help="cue wordings whose kind the context decides (default: corpus/cue_rules.yaml)")
    parser.add_argument("--all", action="store_true", help="also list justified flags")
    args = parser.parse_args(argv)
    try:
        flags = check(args.sources, load_rules(args.rules))
    except (CorpusError, yaml.YAMLError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    open_flags = [f for f in flags if not f.justified]
    for f in flags if args.all else open_flags:
        print(f)
    counts = Counter(f.code for f in open_flags)
    print(f"{len(open_flags)} unjustified flags ({dict(counts) or 'none'}), {len(flags) - len(open_flags)} justified")
    return 1 if open_flags else 0


if __name__ == "__main__":
    sys.exit(main())
