"""claimcls as a spaCy pipeline component (``pip install 'claimcls[spacy]'``).

    >>> import spacy
    >>> nlp = spacy.load("en_core_web_sm")  # or spacy.blank("en")  # doctest: +SKIP
    >>> nlp.add_pipe("claimcls", config={"model": "models/default"})  # doctest: +SKIP
    >>> doc = nlp("The mayor said the bridge would reopen on Monday.")  # doctest: +SKIP
    >>> [(s.text, s.label_) for s in doc.spans["claimcls"]]  # doctest: +SKIP
    [('The mayor', 'SOURCE'), ('said', 'CUE'), ('the bridge would reopen on Monday', 'CONTENT')]
    >>> doc._.attributions[0].kind  # doctest: +SKIP
    'statement'
    >>> spacy.displacy.render(doc, style="span", options={"spans_key": "claimcls"})  # doctest: +SKIP

The component sets, on every ``Doc``:

- ``doc.spans["claimcls"]``: every span labelled ``SOURCE``, ``CUE``, ``CONTENT`` or ``TARGET``
  (a span several attributions share appears once);
- ``doc._.attributions``: one :class:`SpacyAttribution` per attribution, holding those spaCy
  spans and the kind, quote type, resolved source, score and the claimcls
  :class:`~claimcls.schema.Attribution` (character offsets);
- ``doc._.claimcls_alignment``: how this document's spans met spaCy's tokens.

**Alignment policy.** claimcls works on characters; spaCy spans are whole tokens. A span whose
ends fall on token boundaries becomes that span exactly (``exact``). A span that starts or
ends inside a spaCy token is widened to the whole tokens (``expanded``, spaCy's
``alignment_mode="expand"``), so the attribution keeps every role. A span that covers no token
at all (whitespace only) cannot be a spaCy span: it is left out of ``doc.spans`` and of its
attribution (``unaligned``; an attribution whose cue is unaligned is left out whole). Nothing
is dropped silently: the counts are on each doc and summed in the component's ``alignment``
counter, and every widened or unaligned span is logged at WARNING level with the document's
first characters and the offsets. On the bundled corpus with ``spacy.blank("en")`` all
gold spans are exact.

``nlp.pipe(texts, batch_size=N)`` hands N documents at a time to claimcls's batched prediction.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan
from spacy.util import minibatch

from .schema import Attribution, Span
from .schema import Document as ClaimDocument

logger = logging.getLogger(__name__)

SPANS_KEY = "claimcls"
LABELS = {"source": "SOURCE", "cue": "CUE", "content": "CONTENT", "target": "TARGET"}
DISPLACY_COLORS = {"SOURCE": "#9ecae1", "CUE": "#fc9272", "CONTENT": "#a1d99b", "TARGET": "#bcbddc"}
"""Role colours for ``displacy.render(..., options={"spans_key": "claimcls", "colors": DISPLACY_COLORS})``."""
ALIGNMENT_OUTCOMES = ("exact", "expanded", "unaligned")


@dataclass(frozen=True)
class SpacyAttribution:
    """One attribution on a spaCy ``Doc``: its spans as spaCy spans, plus what claimcls says."""

    cue: SpacySpan
    content: tuple[SpacySpan, ...]
    source: SpacySpan | None
    target: SpacySpan | None
    kind: str
    quote: str
    resolved_source: str | None
    score: float | None
    attribution: Attribution
    """The attribution as claimcls gave it, with character offsets into ``doc.text``."""


def _ensure_extensions() -> None:
    if not Doc.has_extension("attributions"):
        Doc.set_extension("attributions", default=None)
    if not Doc.has_extension("claimcls_alignment"):
        Doc.set_extension("claimcls_alignment", default=None)


def align_span(doc: Doc, span: Span, label: str) -> tuple[SpacySpan | None, str]:
    """``span`` as a spaCy span of ``doc`` and how it aligned: ``exact``, ``expanded`` or ``unaligned``."""
    exact = doc.char_span(span.start, span.end, label=label, alignment_mode="strict")
    if exact is not None:
        return exact, "exact"
    wide = doc.char_span(span.start, span.end, label=label, alignment_mode="expand")
    if wide is not None and len(wide) > 0:
        return wide, "expanded"
    return None, "unaligned"


def set_attributions(doc: Doc, claim_doc: ClaimDocument, spans_key: str = SPANS_KEY) -> Counter:
    """Put ``claim_doc``'s attributions (predicted or gold) on the spaCy ``doc``.

    Args:
        doc: a spaCy document of the same text.
        claim_doc: the claimcls document.
        spans_key: the key of ``doc.spans`` to fill.

    Returns:
        The alignment counts (``exact``, ``expanded``, ``unaligned``) of this document's spans.

    Raises:
        ValueError: the two texts differ.
    """
    if doc.text != claim_doc.text:
        raise ValueError(f"document {claim_doc.id!r}: the spaCy doc's text differs from claimcls's "
                         f"({len(doc.text)} vs {len(claim_doc.text)} characters); annotate the same text")
    _ensure_extensions()
    counts: Counter = Counter({k: 0 for k in ALIGNMENT_OUTCOMES})
    group: dict[tuple[int, int, str], SpacySpan] = {}
    atts = []

    def convert(role: str, span: Span | None) -> SpacySpan | None:
        if span is None:
            return None
        spacy_span, outcome = align_span(doc, span, LABELS[role])
        counts[outcome] += 1
        if outcome != "exact":
            logger.warning("claimcls: %s %s span %d-%d %r of the document beginning %r (spaCy tokens: %s)",
                           outcome, role, span.start, span.end, span.text, doc.text[:40],
                           f"{spacy_span.start_char}-{spacy_span.end_char} {spacy_span.text!r}" if spacy_span else "none")
        if spacy_span is not None:
            group.setdefault((spacy_span.start, spacy_span.end, spacy_span.label_), spacy_span)
        return spacy_span

    for att in claim_doc.attributions:
        source, cue = convert("source", att.source), convert("cue", att.cue)
        content = tuple(s for s in (convert("content", c) for c in att.content) if s is not None)
        target = convert("target", att.target)
        if cue is None:
            continue  # counted as unaligned and logged above
        atts.append(SpacyAttribution(cue=cue, content=content, source=source, target=target, kind=att.kind,
                                     quote=att.quote, resolved_source=att.resolved_source, score=att.score,
                                     attribution=att))
    doc.spans[spans_key] = sorted(group.values(), key=lambda s: (s.start, s.end, s.label_))
    doc._.attributions = atts
    doc._.claimcls_alignment = dict(counts)
    return counts


class ClaimclsComponent:
    """The ``"claimcls"`` pipeline component: runs a claimcls model on each ``Doc``'s text."""

    def __init__(self, nlp: Language, name: str, model: str, batch_size: int = 32, device: str = "auto",
                 precision: str = "fp32", spans_key: str = SPANS_KEY):
        import claimcls

        if not model:
            raise ValueError('the claimcls component needs a model folder: nlp.add_pipe("claimcls", config={"model": "models/default"})')
        self.name = name
        self.model = claimcls.load(model, device=device, precision=precision)
        self.batch_size = batch_size
        self.spans_key = spans_key
        self.alignment: Counter = Counter({k: 0 for k in ALIGNMENT_OUTCOMES})
        """Alignment counts summed over every document this component annotated."""
        _ensure_extensions()

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Annotate documents ``batch_size`` at a time through claimcls's batched prediction."""
        for batch in minibatch(stream, size=batch_size):
            docs = list(batch)
            self.set_annotations(docs, self.predict(docs))
            yield from docs

    def predict(self, docs: list[Doc]) -> list[ClaimDocument]:
        """claimcls's predictions for the docs' texts (sets nothing)."""
        return self.model.predict([doc.text for doc in docs], batch_size=self.batch_size)

    def set_annotations(self, docs: list[Doc], predictions: list[ClaimDocument]) -> None:
        """Set ``doc.spans``, ``doc._.attributions`` and ``doc._.claimcls_alignment``."""
        for doc, pred in zip(docs, predictions):
            self.alignment.update(set_attributions(doc, pred, self.spans_key))


@Language.factory(
    "claimcls",
    default_config={"model": "", "batch_size": 32, "device": "auto", "precision": "fp32", "spans_key": SPANS_KEY},
    assigns=["doc.spans", "doc._.attributions", "doc._.claimcls_alignment"],
)
def make_claimcls(nlp: Language, name: str, model: str, batch_size: int, device: str, precision: str,
                  spans_key: str) -> ClaimclsComponent:
    """The factory behind ``nlp.add_pipe("claimcls", config={"model": FOLDER})``.

    Config: ``model`` (a claimcls model folder), ``batch_size`` (windows per forward pass),
    ``device`` (``auto``, ``cpu``, ``cuda:N``), ``precision`` (``fp32``, ``bf16``, ``auto``),
    ``spans_key`` (default ``"claimcls"``).
    """
    return ClaimclsComponent(nlp, name, model, batch_size=batch_size, device=device, precision=precision,
                             spans_key=spans_key)
