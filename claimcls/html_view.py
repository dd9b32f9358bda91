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
    return _PAGE.format(
        title=html.escape(title), legend=legend, n_docs=len(docs), n_atts=n_atts,
        data=_script_json(data), style=_STYLE, script=_SCRIPT, kinds=", ".join(KINDS), roles=", ".join(ROLES),
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


_STYLE = """
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
body { margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem 4rem; }
h1 { font-size: 1.4rem; margin: .2rem 0; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .4rem; }
.meta, .note { color: #666; font-size: .85rem; }
.legend { position: sticky; top: 0; background: #fff; padding: .4rem 0; border-bottom: 1px solid #ddd; z-index: 2; }
.key { margin-right: 1rem; font-size: .9rem; } .key i { display: inline-block; width: 1.6em; height: .4em; margin-right: .3em; vertical-align: middle; }
article { border-top: 2px solid #bbb; margin-top: 1.5rem; }
.text { white-space: pre-wrap; line-height: 2.3; font-size: 1rem; }
.seg { padding-bottom: 2px; }
.seg.cue { font-weight: 600; cursor: pointer; }
.seg.hl { background: #fff3a8; }
.sn { font-size: .65rem; color: #999; vertical-align: super; margin-right: .15em; user-select: none; }
.target-sent { outline: 2px solid #f0b400; }
table { border-collapse: collapse; font-size: .85rem; margin: .4rem 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .2rem .6rem .2rem 0; text-align: left; vertical-align: top; }
td a { margin-right: .35em; }
.pager { margin: 1rem 0; } .pager button { margin-right: .4rem; }
#info { position: fixed; right: 1rem; bottom: 1rem; max-width: 380px; background: #fffef5; border: 1px solid #ccc;
        box-shadow: 0 2px 8px #0002; padding: .6rem .8rem; font-size: .85rem; display: none; z-index: 3; }
#info b { display: inline-block; min-width: 6.5em; }
svg text { font-size: 11px; font-family: inherit; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script>
// first: count script errors in the page itself, so a test can read them from the DOM
window.addEventListener("error", function (e) {{
  var n = Number(document.documentElement.dataset.errors || 0) + 1;
  document.documentElement.dataset.errors = String(n);
  document.documentElement.dataset.lastError = String(e.message);
}});
</script>
<style>{style}</style></head>
<body>
<h1>{title}</h1>
<div class="meta" id="meta">{n_docs} articles, {n_atts} attributions. Roles: {roles}. Kinds: {kinds}.</div>
<div class="legend">{legend} <span class="note">hover or click a cue (bold) to see its attribution</span></div>
<h2 id="who">Who said what (all articles)</h2>
<div id="table-all"></div>
<h2 id="graph">Who accuses, criticizes, supports or appeals to whom</h2>
<div id="graph-all"></div>
<h2 id="articles">Articles</h2>
<div class="pager" id="pager-top"></div>
<div id="docs"></div>
<div class="pager" id="pager-bottom"></div>
<div id="info"></div>
<noscript>This page draws its articles with JavaScript; enable it to see them.</noscript>
<script type="application/json" id="data">{data}</script>
<script>{script}</script>
</body></html>
"""

_SCRIPT = r"""
"use strict";
(function () {
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById("data").textContent);
  var page = 0, pinned = null;
  var pages = Math.max(1, Math.ceil(D.docs.length / D.pageSize));

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  function kindsText(kinds) {
    return Object.keys(kinds).map(function (k) { return kinds[k] > 1 ? k + " \u00d7" + kinds[k] : k; }).join(", ");
  }

  // ---------------------------------------------------------------- who said what
  function whoTable(rows, limit, withDoc) {
    var wrap = el("div");
    if (!rows.length) { wrap.appendChild(el("p", {"class": "note"}, "No attributions.")); return wrap; }
    var table = el("table", {"class": "who"});
    var head = el("tr");
    ["resolved source", "kinds", "count", "sentences"].forEach(function (h) { head.appendChild(el("th", {}, h)); });
    table.appendChild(head);
    var shown = 0;
    function addRows(upto) {
      for (; shown < Math.min(upto, rows.length); shown++) {
        var r = rows[shown], tr = el("tr");
        tr.appendChild(el("td", {}, r.source));
        tr.appendChild(el("td", {}, kindsText(r.kinds)));
        tr.appendChild(el("td", {}, String(r.count)));
        var td = el("td");
        r.refs.slice(0, 12).forEach(function (ref) {
          var label = (withDoc ? D.docs[ref[0]].id + " " : "") + "s" + (ref[1] + 1);
          td.appendChild(el("a", {href: "#d" + ref[0] + "-s" + ref[1]}, label));
        });
        if (r.refs.length > 12) td.appendChild(el("span", {"class": "note"}, "+" + (r.refs.length - 12) + " more"));
        tr.appendChild(td);
        table.appendChild(tr);
      }
    }
    addRows(limit);
    wrap.appendChild(table);
    if (rows.length > shown) {
      var more = el("button", {}, "show all " + rows.length + " sources");
      more.onclick = function () { addRows(rows.length); more.remove(); };
      wrap.appendChild(more);
    }
    return wrap;
  }

  // ---------------------------------------------------------------- graph
  function graph(edges, maxEdges) {
    var wrap = el("div");
    if (!edges.length) { wrap.appendChild(el("p", {"class": "note"}, "No attribution names a target.")); return wrap; }
    var shown = edges.slice(0, maxEdges);
    var left = [], right = [];
    shown.forEach(function (e) {
      if (left.indexOf(e.source) < 0) left.push(e.source);
      if (right.indexOf(e.target) < 0) right.push(e.target);
    });
    var rowH = 22, width = 900, lx = 250, rx = 650;
    var height = Math.max(left.length, right.length) * rowH + 20;
    var s = svg("svg", {width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img",
                        "class": "target-graph", "aria-label": "source to target graph"});
    var defs = svg("defs");
    Object.keys(D.kinds).forEach(function (k) {
      var m = svg("marker", {id: "arrow-" + k, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto"});
      m.appendChild(svg("path", {d: "M0,0 L10,5 L0,10 z", fill: D.kinds[k]}));
      defs.appendChild(m);
    });
    s.appendChild(defs);
    function y(list, name) { return 20 + list.indexOf(name) * rowH; }
    function cut(name) { return name.length > 38 ? name.slice(0, 37) + "\u2026" : name; }
    shown.forEach(function (e) {
      var y1 = y(left, e.source), y2 = y(right, e.target), col = D.kinds[e.kind] || "#999";
      var p = svg("path", {d: "M" + (lx + 6) + "," + y1 + " C" + (lx + 200) + "," + y1 + " " + (rx - 200) + "," + y2 + " " + (rx - 8) + "," + y2,
                           fill: "none", stroke: col, "stroke-width": 1.2 + Math.log2(e.count), "stroke-opacity": .75,
                           "marker-end": "url(#arrow-" + e.kind + ")", "class": "edge", "data-kind": e.kind});
      var tip = svg("title"); tip.textContent = e.source + " \u2014" + e.kind + "\u2192 " + e.target + " (" + e.count + ")";
      p.appendChild(tip);
      s.appendChild(p);
    });
    left.forEach(function (name) {
      var t = svg("text", {x: lx, y: y(left, name) + 4, "text-anchor": "end", "class": "node source"}); t.textContent = cut(name); s.appendChild(t);
    });
    right.forEach(function (name) {
      var t = svg("text", {x: rx, y: y(right, name) + 4, "class": "node target"}); t.textContent = cut(name); s.appendChild(t);
    });
    wrap.appendChild(s);
    var kinds = {};
    shown.forEach(function (e) { kinds[e.kind] = 1; });
    var legend = el("div", {"class": "note"});
    Object.keys(kinds).forEach(function (k) {
      var key = el("span", {"class": "key"}); var i = el("i"); i.style.background = D.kinds[k];
      key.appendChild(i); key.appendChild(document.createTextNode(k)); legend.appendChild(key);
    });
    if (edges.length > shown.length) legend.appendChild(document.createTextNode(" The " + shown.length + " most frequent of " + edges.length + " edges."));
    wrap.appendChild(legend);
    return wrap;
  }

  // ---------------------------------------------------------------- one article
  function article(i) {
    var d = D.docs[i], a = el("article", {id: "doc-" + i, "data-doc": d.id});
    a.appendChild(el("h3", {}, d.id + " (" + d.atts.length + " attributions)"));
    var text = el("div", {"class": "text"});
    var sents = d.sentences.length ? d.sentences : [0];
    var cuts = [];  // every place where something starts: sentence marks and segments
    sents.forEach(function (p, j) { cuts.push([p, 0, j]); });
    d.segs.forEach(function (g) { cuts.push([g[0], 1, g]); });
    cuts.sort(function (x, y) { return x[0] - y[0] || x[1] - y[1]; });
    var pos = 0;
    cuts.forEach(function (c) {
      if (c[0] > pos) { text.appendChild(document.createTextNode(d.text.slice(pos, c[0]))); pos = c[0]; }
      if (c[1] === 0) {
        text.appendChild(el("span", {"class": "sn", id: "d" + i + "-s" + c[2]}, String(c[2] + 1)));
        return;
      }
      var g = c[2], roles = {}, parts = [], bars = [];
      g[2].forEach(function (cv) {
        roles[cv[1]] = 1; parts.push(cv[0] + ":" + cv[1]);
        bars.push("inset 0 -" + (3 * (cv[2] + 1)) + "px 0 " + D.roles[cv[1]]);
      });
      var span = el("span", {"class": "seg" + (roles.cue ? " cue" : ""), "data-roles": Object.keys(roles).join(" "),
                             "data-sp": parts.join(" "), "data-doc": String(i)}, d.text.slice(g[0], g[1]));
      span.style.boxShadow = bars.join(", ");
      span.style.paddingBottom = (3 * g[2].length) + "px";
      if (roles.cue) {
        var cueAtt = g[2].filter(function (cv) { return cv[1] === "cue"; })[0][0], at = d.atts[cueAtt];
        span.title = at.kind + ", " + at.quote + " quote, source: " + at.resolved + (at.score === null ? "" : ", score " + at.score);
      }
      text.appendChild(span);
      pos = g[1];
    });
    if (pos < d.text.length) text.appendChild(document.createTextNode(d.text.slice(pos)));
    a.appendChild(text);
    var det = el("details", {open: ""});
    det.appendChild(el("summary", {}, "who said what in this article"));
    det.appendChild(whoTable(d.table, 1000, false));
    if (d.edges.length) det.appendChild(graph(d.edges, 40));
    a.appendChild(det);
    return a;
  }

  // ---------------------------------------------------------------- highlighting
  function attOf(target) {
    var seg = target.closest && target.closest(".seg.cue");
    if (!seg) return null;
    var cue = seg.dataset.sp.split(" ").filter(function (p) { return /:cue$/.test(p); })[0];
    return {doc: Number(seg.dataset.doc), att: Number(cue.split(":")[0])};
  }
  function highlight(ref) {
    document.querySelectorAll(".seg.hl").forEach(function (s) { s.classList.remove("hl"); });
    var info = document.getElementById("info");
    if (!ref) { info.style.display = "none"; return; }
    var art = document.getElementById("doc-" + ref.doc);
    art.querySelectorAll(".seg").forEach(function (s) {
      if (s.dataset.sp.split(" ").some(function (p) { return Number(p.split(":")[0]) === ref.att; })) s.classList.add("hl");
    });
    var at = D.docs[ref.doc].atts[ref.att];
    info.textContent = "";
    [["kind", at.kind], ["quote", at.quote], ["source", at.source === null ? "(none)" : at.source],
     ["resolved", at.resolved], ["cue", at.cue], ["content", at.content], ["target", at.target === null ? "(none)" : at.target],
     ["score", at.score === null ? "(gold)" : String(at.score)]].forEach(function (kv) {
      var line = el("div"); line.appendChild(el("b", {}, kv[0])); line.appendChild(document.createTextNode(kv[1])); info.appendChild(line);
    });
    info.style.display = "block";
  }
  var docsEl = document.getElementById("docs");
  docsEl.addEventListener("mouseover", function (e) { if (!pinned) highlight(attOf(e.target)); });
  docsEl.addEventListener("mouseout", function (e) { if (!pinned && attOf(e.target)) highlight(null); });
  docsEl.addEventListener("click", function (e) {
    var ref = attOf(e.target);
    pinned = ref && !(pinned && pinned.doc === ref.doc && pinned.att === ref.att) ? ref : null;
    highlight(pinned);
  });

  // ---------------------------------------------------------------- paging
  function pager(box) {
    box.textContent = "";
    if (pages < 2) return;
    var prev = el("button", {}, "\u2190 previous"), next = el("button", {}, "next \u2192");
    prev.disabled = page === 0; next.disabled = page === pages - 1;
    prev.onclick = function () { show(page - 1); }; next.onclick = function () { show(page + 1); };
    box.appendChild(prev); box.appendChild(next);
    var first = page * D.pageSize;
    box.appendChild(document.createTextNode(" page " + (page + 1) + " of " + pages + " (articles " + (first + 1) + "\u2013" +
      Math.min(first + D.pageSize, D.docs.length) + " of " + D.docs.length + ") "));
    var jump = el("select", {"aria-label": "go to page"});
    for (var p = 0; p < pages; p++) { var o = el("option", {value: p}, "page " + (p + 1)); if (p === page) o.selected = true; jump.appendChild(o); }
    jump.onchange = function () { show(Number(jump.value)); };
    box.appendChild(jump);
  }
  function show(p) {
    page = Math.max(0, Math.min(p, pages - 1)); pinned = null; highlight(null);
    docsEl.textContent = "";
    var frag = document.createDocumentFragment();
    for (var i = page * D.pageSize; i < Math.min((page + 1) * D.pageSize, D.docs.length); i++) frag.appendChild(article(i));
    docsEl.appendChild(frag);
    pager(document.getElementById("pager-top")); pager(document.getElementById("pager-bottom"));
  }
  function goHash() {
    var m = /^#d(\d+)-s(\d+)$/.exec(location.hash);
    if (!m) return;
    var i = Number(m[1]);
    if (i >= D.docs.length) return;
    if (Math.floor(i / D.pageSize) !== page) show(Math.floor(i / D.pageSize));
    var mark = document.getElementById(location.hash.slice(1));
    if (mark) {
      document.querySelectorAll(".target-sent").forEach(function (s) { s.classList.remove("target-sent"); });
      mark.classList.add("target-sent");
      mark.scrollIntoView({block: "center"});
    }
  }
  window.addEventListener("hashchange", goHash);

  document.getElementById("table-all").appendChild(whoTable(D.table, 50, D.docs.length > 1));
  document.getElementById("graph-all").appendChild(graph(D.edges, 60));
  show(0);
  goHash();
  document.documentElement.dataset.renderMs = String(Math.round(performance.now() - t0));
  // since navigation started: reading and parsing the file, then the above
  document.documentElement.dataset.loadedMs = String(Math.round(performance.now()));
  document.documentElement.dataset.ready = "1";
})();
"""
