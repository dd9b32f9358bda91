"""One self-contained HTML page to look at attributions: ``claimcls view`` and ``--format html``.

The page holds everything it needs (no network, no CDN): the documents as JSON, a style sheet
and a small script that draws them. Python decides *what* is shown (segments of text under
each span, the "who said what" tables, the source -> target edges); the script only draws it,
one page of articles at a time, so a file of 2,000 articles opens as fast as one of 20.

What the page shows:

- each article with its spans underlined by role (one colour per role, a legend), one bar per
  span, stacked so that nested and overlapping spans stay readable; hovering or clicking a cue
  highlights that attribution's parts together and shows its kind, quote type, resolved
  source and score;
- per article and for the whole file, a "who said what" table (resolved source, kinds, count,
  links to the sentences);
- a "who accuses, criticizes, supports or appeals to whom" graph (source -> target, edges
  coloured by kind), drawn as SVG by the page.

Example:
    >>> import claimcls
    >>> from claimcls.html_view import write_html
    >>> write_html(claimcls.read_corpus("bundled")[:3], "report.html")  # doctest: +SKIP
    3
"""

from __future__ import annotations

import html
import json
import os
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from .schema import KINDS, ROLES, Document
from .sentences import split_sentences

ROLE_COLOURS = {"source": "#1f77b4", "cue": "#d62728", "content": "#2ca02c", "target": "#9467bd"}
KIND_COLOURS = {
    "statement": "#7f7f7f", "belief": "#17becf", "accusation": "#d62728", "denial": "#8c564b",
    "criticism": "#ff7f0e", "support": "#2ca02c", "appeal": "#1f77b4", "warning": "#bcbd22",
    "promise": "#9467bd", "none": "#aaaaaa",
}
PAGE_SIZE = 20
"""Articles drawn per page: the page draws only these, whatever the file holds."""
NO_SOURCE = "(no source)"


def source_name(att) -> str:
    """The name an attribution is counted under: its resolved source, else its source text."""
    if att.resolved_source:
        return att.resolved_source
    return att.source.text if att.source is not None else NO_SOURCE


def sentence_index(doc: Document, pos: int) -> int:
    """The index of the last sentence starting at or before character ``pos`` (0 when there
    are no sentences)."""
    return max(bisect_right([s.start for s in doc.sentences], pos) - 1, 0)


def _with_sentences(doc: Document) -> Document:
    return doc if doc.sentences else replace(doc, sentences=split_sentences(doc.text))


def who_said_what(docs: Sequence[Document], doc_indices: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Rows of the "who said what" table, the most frequent source first.

    Each row: ``source`` (resolved name), ``count``, ``kinds`` (``{kind: count}``, most
    frequent first) and ``refs`` (``[document index, sentence index]`` of the sentences of
    its attributions, in document order, each once). ``doc_indices`` gives the documents' positions in the page (default
    0, 1, 2...).
    """
    indices = list(doc_indices) if doc_indices is not None else list(range(len(docs)))
    kinds: dict[str, Counter] = defaultdict(Counter)
    refs: dict[str, list[list[int]]] = defaultdict(list)
    seen: set[tuple[str, int, int]] = set()
    for i, doc in zip(indices, docs):
        for att in doc.attributions:
            name = source_name(att)
            kinds[name][att.kind or "none"] += 1
            j = sentence_index(doc, att.cue.start)
            if (name, i, j) not in seen:  # two attributions in one sentence: one link
                seen.add((name, i, j))
                refs[name].append([i, j])
    rows = [{"source": name, "count": sum(kinds[name].values()), "kinds": dict(kinds[name].most_common()),
             "refs": refs[name]} for name in kinds]
    rows.sort(key=lambda r: (-r["count"], r["source"].lower()))
    return rows


def target_edges(docs: Sequence[Document]) -> list[dict[str, Any]]:
    """Edges of the "who targets whom" graph: ``source`` (resolved name), ``target`` (its text),
    ``kind`` and ``count``, for every attribution with a target; the most frequent first."""
    counts: Counter = Counter()
    for doc in docs:
        for att in doc.attributions:
            if att.target is not None:
                counts[(source_name(att), att.target.text, att.kind or "none")] += 1
    edges = [{"source": s, "target": t, "kind": k, "count": n} for (s, t, k), n in counts.items()]
    edges.sort(key=lambda e: (-e["count"], e["source"].lower(), e["target"].lower(), e["kind"]))
    return edges


def segments(doc: Document) -> list[list[Any]]:
    """The document cut at every span and sentence boundary, for drawing.

    Returns ``[start, end, [[attribution, role, lane], ...]]`` for each stretch of text that
    at least one span covers (sentence starts also cut, so every stretch lies in one
    sentence). ``lane`` is the stacking level of that span's bar: a span keeps its lane over
    its whole length, and overlapping spans never share one.
    """
    spans = [(a, role, s.start, s.end) for a, att in enumerate(doc.attributions) for role, s in att.spans()]
    # lanes: longer spans lower, so a cue inside its content sits above the content's bar
    lanes: list[int] = [0] * len(spans)
    busy_until: list[int] = []  # per lane, where its last span ends
    for k in sorted(range(len(spans)), key=lambda k: (spans[k][2], -(spans[k][3] - spans[k][2]))):
        start, end = spans[k][2], spans[k][3]
        lane = next((n for n, until in enumerate(busy_until) if until <= start), len(busy_until))
        if lane == len(busy_until):
            busy_until.append(end)
        else:
            busy_until[lane] = end
        lanes[k] = lane
    cuts = sorted({p for _, _, s, e in spans for p in (s, e)} | {s.start for s in doc.sentences})
    out = []
    for p, q in zip(cuts, cuts[1:]):
        cover = [[a, role, lanes[k]] for k, (a, role, s, e) in enumerate(spans) if s <= p and q <= e]
        if cover:
            cover.sort(key=lambda c: c[2])
            out.append([p, q, cover])
    return out


def _doc_data(doc: Document, index: int) -> dict[str, Any]:
    atts = []
    for att in doc.attributions:
        atts.append({
            "kind": att.kind, "quote": att.quote, "score": att.score,
            "source": att.source.text if att.source else None, "resolved": source_name(att),
            "cue": att.cue.text, "content": " … ".join(s.text for s in att.content),
            "target": att.target.text if att.target else None,
            "sentence": sentence_index(doc, att.cue.start),
        })
    return {
        "id": doc.id, "text": doc.text, "sentences": [s.start for s in doc.sentences],
        "atts": atts, "segs": segments(doc), "table": who_said_what([doc], [index]), "edges": target_edges([doc]),
    }


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no "</script>" or "<!--" can appear."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def render_html(docs: Iterable[Document], *, title: str = "claimcls report", page_size: int = PAGE_SIZE) -> str:
    """The page for ``docs`` as one self-contained HTML string (no network needed to open it).

    Args:
        docs: gold or predicted documents.
        title: the page title.
        page_size: articles drawn per page.

    Returns:
        The HTML text.
    """
    if isinstance(docs, (str, bytes)):
        raise TypeError("render_html expects documents, got a str; read them first with claimcls.read_corpus(path)")
    docs = [_with_sentences(d) for d in docs]
    if page_size < 1:
        raise ValueError(f"page_size must be 1 or more, got {page_size}")
    data = {
        "title": title, "pageSize": page_size, "roles": ROLE_COLOURS, "kinds": KIND_COLOURS,
        "docs": [_doc_data(d, i) for i, d in enumerate(docs)],
        "table": who_said_what(docs), "edges": target_edges(docs),
    }
    legend = "".join(f'<span class="key"><i style="background:{c}"></i>{r}</span>' for r, c in ROLE_COLOURS.items())
    n_atts = sum(len(d.attributions) for d in docs)
    return _asset("view.html").format(
        title=html.escape(title), legend=legend, n_docs=len(docs), n_atts=n_atts, data=_script_json(data),
        style=_asset("view.css"), script=_asset("view.js"), kinds=", ".join(KINDS), roles=", ".join(ROLES),
    )


def write_html(docs: Iterable[Document], path: str | os.PathLike, *, title: str | None = None,
               page_size: int = PAGE_SIZE) -> int:
    """Write the page for ``docs`` to ``path``; returns the number of documents.

    Args:
        docs: gold or predicted documents.
        path: the HTML file to write.
        title: the page title (default: the file name).
        page_size: articles drawn per page.
    """
    docs = list(docs)
    path = Path(path)
    path.write_text(render_html(docs, title=title or path.stem, page_size=page_size), encoding="utf-8")
    return len(docs)


def _asset(name: str) -> str:
    """A file of the page (``claimcls/data/view.html``, ``view.css``, ``view.js``)."""
    return (resources.files("claimcls") / "data" / name).read_text(encoding="utf-8")
