"""The cue-table baseline: a kind from the cue's words alone, by the annotation guide's table.

The table is docs/annotation.md §3 ("Typical cues" per kind, and its borderline rules for
"expressed + noun", "called for / called on" and negation), written once here. It is the
baseline that a learned kind head must beat: it sees only the cue, never the content or the
rest of the sentence, so it cannot tell "asked whether" (statement) from "asked X to"
(appeal); plain "asked" is a statement here, as the table lists it first.
"""

from __future__ import annotations

import re

# Word beginnings per kind, from the guide's table (inflections: "warn" covers warned,
# warning, warns). Checked against each word of the cue in order; the first word that starts
# with one decides. "expressed" is absent on purpose: the noun after it decides (§3).
KIND_CUES: dict[str, tuple[str, ...]] = {
    "statement": ("say", "said", "tell", "told", "add", "according", "announc", "explain", "stat", "note", "noting",
                  "describ", "emphas", "stress", "highlight", "reaffirm", "underlin", "insist", "report", "confirm",
                  "ask", "readiness", "willingness"),
    "belief": ("think", "thought", "believ", "fear", "expect", "hope", "want", "doubt", "convinced", "concern"),
    "accusation": ("accus", "blam", "alleg", "charg", "responsible"),
    "denial": ("deni", "deny", "reject", "dismiss", "refut"),
    "criticism": ("critici", "condemn", "slam", "fault", "deplor", "outrage", "regret"),
    "support": ("welcom", "prais", "back", "endors", "hail", "support", "gratitude"),
    "appeal": ("urg", "demand", "appeal"),
    "warning": ("warn", "caution"),
    "promise": ("vow", "pledg", "promis", "commit", "swor", "swear"),
}

# "called for" / "called on": appeal; a plain "called" (X a liar) is not in the table.
_APPEAL_PHRASE = re.compile(r"\bcall(?:s|ed|ing)?\s+(?:for|on|upon)\b")
_WORD = re.compile(r"[a-z]+")
_BY_PREFIX = sorted(((p, k) for k, ps in KIND_CUES.items() for p in ps), key=lambda pk: -len(pk[0]))
DEFAULT_KIND = "statement"
"""The kind of a cue whose words are not in the table (PolNeAR's most common kind of cue)."""


def cue_table_kind(cue: str) -> str:
    """The kind the guide's table gives the cue text ``cue``; :data:`DEFAULT_KIND` if none.

    Example:
        >>> cue_table_kind("did not deny"), cue_table_kind("called on"), cue_table_kind("expressed concern over")
        ('denial', 'appeal', 'belief')
    """
    text = cue.lower()
    if _APPEAL_PHRASE.search(text):
        return "appeal"
    for word in _WORD.findall(text):
        for prefix, kind in _BY_PREFIX:
            if word.startswith(prefix):
                return kind
    return DEFAULT_KIND
