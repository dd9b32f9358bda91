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
