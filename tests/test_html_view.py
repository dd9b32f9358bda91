"""The HTML page: what Python decides (segments, tables, edges), the CLI, and a real browser."""

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import claimcls
from claimcls.cli import main
from claimcls.html_view import render_html, segments, target_edges, who_said_what, write_html
from claimcls.schema import Attribution, Document, Span

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_5d75374b60e88995.jsonl"
PROBE = Path(__file__).parent / "fixtures" / "view_probe.js"


def nested_doc() -> Document:
    """ "X said Y accused Z of lying": the second report sits inside the first one's content."""
    text = "Ana Ruiz said Bo Lind accused the council of lying. </script><b>not markup</b>"
    s = lambda sub: Span.of(text, text.index(sub), text.index(sub) + len(sub))  # noqa: E731
    outer = Attribution(cue=s("said"), content=(s("Bo Lind accused the council of lying"),), source=s("Ana Ruiz"),
                        kind="statement", quote="indirect", resolved_source="Ana Ruiz")
    inner = Attribution(cue=s("accused"), content=(s("of lying"),), source=s("Bo Lind"), target=s("the council"),
                        kind="accusation", quote="indirect", resolved_source="Bo Lind", score=0.9)
    return Document("nested", text, attributions=(outer, inner))


def test_segments_give_each_overlapping_span_its_own_lane():
    doc = nested_doc()
    segs = segments(doc)
    lane = {}
    for start, end, cover in segs:
        lanes_here = [c[2] for c in cover]
        assert len(lanes_here) == len(set(lanes_here)), f"two spans share a lane at {start}-{end}"
        for a, role, ln in cover:
            assert lane.setdefault((a, role), ln) == ln, "a span changes lane along its length"
    # every span's text is the concatenation of the segments it covers
    for a, att in enumerate(doc.attributions):
        for role, span in att.spans():
            got = "".join(doc.text[p:q] for p, q, cover in segs if any(c[0] == a and c[1] == role for c in cover))
            assert got == span.text


def test_who_said_what_and_edges_count_by_resolved_source():
    doc = nested_doc()
    unresolved = Attribution(cue=Span.of(doc.text, 9, 13), content=(Span.of(doc.text, 14, 21),), kind="statement")
    docs = [doc, Document("other", doc.text, attributions=(doc.attributions[1], unresolved))]
    rows = {r["source"]: r for r in who_said_what(docs)}
    assert rows["Bo Lind"]["count"] == 2 and rows["Bo Lind"]["kinds"] == {"accusation": 2}
    assert [ref[0] for ref in rows["Bo Lind"]["refs"]] == [0, 1]
    assert rows["(no source)"]["count"] == 1
    assert target_edges(docs) == [{"source": "Bo Lind", "target": "the council", "kind": "accusation", "count": 2}]


def test_page_is_self_contained_and_escapes_text():
    page = render_html([nested_doc()], title="t")
    assert "</script><b>" not in page  # the document's text cannot end the data block
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the page must not load anything from a network"
    data = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(data)["docs"][0]["text"] == nested_doc().text


def test_render_html_wants_documents_not_a_path():
    with pytest.raises(TypeError, match="read them first"):
        render_html("predictions.jsonl")


def test_view_command_writes_the_page(tmp_path, capsys):
    out = tmp_path / "seed.html"
    assert main(["view", str(SEED), "-o", str(out)]) == 0
    assert '"id":"000_5d75374b60e88995"' in out.read_text(encoding="utf-8")
    assert main(["view", str(tmp_path / "missing.jsonl"), "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_predict_format_html(tiny_model_dir, tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(json.dumps({"id": f"d{i}", "text": t}) for i, t in
                             enumerate(["The mayor said the bridge would reopen.", "Police denied the report."])) + "\n")
    out = tmp_path / "report.html"
    assert main(["predict", "--model", str(tiny_model_dir), str(inp), "--format", "html", "--output", str(out), "--no-progress"]) == 0
    data = json.loads(re.search(r'id="data">(.*?)</script>', out.read_text(encoding="utf-8"), re.S).group(1))
    assert [d["id"] for d in data["docs"]] == ["d0", "d1"]
    assert main(["predict", "--model", str(tiny_model_dir), str(inp), "--format", "html", "--output", str(out), "--resume"]) == 2


# --------------------------------------------------------------------------- in a browser


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no chromium on this machine (Debian: apt-get install chromium); the page was not opened in a browser")


def open_in_browser(page: Path, *extra: str, fragment: str = "") -> tuple[str, str]:
    """Headless chromium's output (the DOM after the page's script ran, with --dump-dom) and
    its log, where console messages appear as ``:CONSOLE`` lines."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", *extra, page.as_uri() + fragment]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return run.stdout, run.stderr


class Segs(HTMLParser):
    """The drawn segments (``data-sp`` and text) and article ids in a DOM."""

    def __init__(self):
        super().__init__()
        self.segs, self.articles, self._open = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "span" and "seg" in (a.get("class") or "").split():
            self._open = [a["data-sp"].split(), ""]
            self.segs.append(self._open)
        if tag == "article":
            self.articles.append(a["data-doc"])

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data

    def handle_endtag(self, tag):
        if tag == "span":
            self._open = None


def test_browser_draws_every_span_without_console_errors(tmp_path):
    docs = claimcls.read_corpus(SEED) + [nested_doc()]
    page = tmp_path / "seed.html"
    write_html(docs, page)
    dom, log = open_in_browser(page, "--dump-dom")
    assert 'data-ready="1"' in dom, f"the page's script did not finish: {log[-2000:]}"
    assert "data-errors" not in dom
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == [], f"the page wrote to the console: {console}"
    parsed = Segs()
    parsed.feed(dom)
    assert parsed.articles == [d.id for d in docs]
    # each article's segments are drawn in order; rebuild every span from them
    offset = 0
    for doc in docs:
        mine = parsed.segs[offset : offset + len(segments(doc))]
        offset += len(segments(doc))
        for a, att in enumerate(doc.attributions):
            for role in ("source", "cue", "target"):
                span = getattr(att, role)
                got = "".join(text for sp, text in mine if f"{a}:{role}" in sp)
                assert got == (span.text if span else ""), (doc.id, a, role)
            assert "".join(text for sp, text in mine if f"{a}:content" in sp) == "".join(c.text for c in att.content)
    assert offset == len(parsed.segs)
    assert dom.count('class="edge"') >= 1 and "the council" in dom  # the graph's edge and node


def test_browser_pages_a_long_file(tmp_path):
    doc = claimcls.read_corpus(SEED)[0]
    docs = [Document(f"a{i:02d}", doc.text, doc.sentences, doc.attributions) for i in range(45)]
    page = tmp_path / "many.html"
    write_html(docs, page, page_size=20)
    dom, log = open_in_browser(page, "--dump-dom")
    parsed = Segs()
    parsed.feed(dom)
    assert parsed.articles == [f"a{i:02d}" for i in range(20)]  # only the first page is drawn
    assert "page 1 of 3" in dom and "data-errors" not in dom
    # a link to a sentence on page 3 draws page 3
    dom, _ = open_in_browser(page, "--dump-dom", fragment="#d44-s2")
    parsed = Segs()
    parsed.feed(dom)
    assert 'class="sn target-sent" id="d44-s2"' in dom
    assert parsed.articles == [f"a{i:02d}" for i in range(40, 45)]


def test_browser_screenshot(tmp_path):
    page = tmp_path / "seed.html"
    write_html(claimcls.read_corpus(SEED), page)
    shot = tmp_path / "seed.png"
    open_in_browser(page, f"--screenshot={shot}", "--window-size=1200,900", "--hide-scrollbars")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def three_reports(doc_id: str) -> Document:
    """A nested report and a pronoun source whose resolved name is not its text."""
    text = "Ana Ruiz said Bo Lind accused the council of lying. He denied it."
    s = lambda sub: Span.of(text, text.index(sub), text.index(sub) + len(sub))  # noqa: E731
    return Document(doc_id, text, attributions=(
        Attribution(cue=s("said"), content=(s("Bo Lind accused the council of lying"),), source=s("Ana Ruiz"),
                    kind="statement", quote="indirect", resolved_source="Ana Ruiz", score=0.8),
        Attribution(cue=s("accused"), content=(s("of lying"),), source=s("Bo Lind"), target=s("the council"),
                    kind="accusation", quote="mixed", resolved_source="Bo Lind", score=0.9),
        Attribution(cue=s("denied"), content=(s("it"),), source=s("He"), kind="denial", quote="direct",
                    resolved_source="Tom Hale", score=0.75),
    ))


def highlighted_parts(step: dict) -> tuple[set[str], dict[str, str]]:
    """The articles a step's highlighted segments lie in, and per attribution part ("1:cue")
    the text of the highlighted segments it covers."""
    parts: dict[str, str] = {}
    for seg in step["hl"]:
        for part in seg["sp"].split():
            parts[part] = parts.get(part, "") + seg["text"]
    return {seg["doc"] for seg in step["hl"]}, parts


def test_browser_hover_and_click_show_and_highlight_one_attribution(tmp_path):
    docs = [three_reports("first"), three_reports("second")]
    page = tmp_path / "probe.html"
    write_html(docs, page)
    # the page as written, plus the probe script that drives the mouse and records what it sees
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("</body>", f"<script>{PROBE.read_text(encoding='utf-8')}</script></body>"), encoding="utf-8")
    dom, log = open_in_browser(page, "--dump-dom", "--window-size=1200,900")
    assert "data-errors" not in dom, re.search(r'data-last-error="([^"]*)"', dom)
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == [], f"the page wrote to the console: {console}"
    probe = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert probe, f"the probe did not run: {log[-2000:]}"
    steps = {s["step"]: s for s in json.loads(html.unescape(probe.group(1)))}

    def shows(step: str, doc: int, att: int, pointer_on_it: bool = True) -> None:
        """The step shows attribution ``att`` of article ``doc``: the info box (and the
        tooltip of its cue, when the pointer is on it) gives its kind, quote type, resolved
        source and score; exactly its parts are lit."""
        s, a = steps[step], docs[doc].attributions[att]
        assert s["hitIsCue"] is not False, f"{step}: the pointer over the cue hits another element"
        assert s["infoShown"], f"{step}: the info box is hidden"
        info = dict(s["info"])
        want = {"kind": a.kind, "quote": a.quote, "resolved": a.resolved_source, "score": str(a.score),
                "source": a.source.text, "cue": a.cue.text, "content": a.content[0].text,
                "target": a.target.text if a.target else "(none)"}
        assert info == want, step
        if pointer_on_it:  # the native tooltip of the cue under the pointer
            for value in (a.kind, a.quote, a.resolved_source, str(a.score)):
                assert value in s["title"], (step, value, s["title"])
        articles, parts = highlighted_parts(s)
        assert articles == {str(doc)}, f"{step}: segments of another article are highlighted"
        mine = {f"{att}:{role}": span.text for role, span in a.spans()}
        assert {p: t for p, t in parts.items() if p.startswith(f"{att}:")} == mine, step
        # every lit segment belongs to this attribution (another's part may share it: nesting)
        for seg in s["hl"]:
            assert any(p.startswith(f"{att}:") for p in seg["sp"].split()), (step, seg)

    def shows_nothing(step: str) -> None:
        assert not steps[step]["infoShown"] and steps[step]["hl"] == [], step

    shows("hover 0/1", 0, 1)  # the nested report: its source and cue lie inside 0's content
    shows_nothing("leave")
    shows("hover 0/2", 0, 2)  # resolved source "Tom Hale", source text "He"
    shows("hover 1/1", 1, 1)  # the same attribution in the second article lights that article only
    shows_nothing("leave again")
    shows("click 0/1", 0, 1)
    shows("hover 0/0 while pinned", 0, 1, pointer_on_it=False)  # a click pins: hovering another cue changes nothing
    shows("leave while pinned", 0, 1, pointer_on_it=False)
    shows_nothing("click 0/1 again")  # a second click on the same cue unpins
    shows("click 0/0", 0, 0)  # its content holds all of 0/1 (lit with it); 0/2's parts stay dark
