"""How long the HTML page takes to open in headless chromium, for 1 and for N articles.

    python scripts/html_load_time.py [--docs 1 2000] [--input predictions.jsonl] [--repeat 3]

Articles come from ``--input`` (predictions or a gold corpus), or else the bundled corpus,
cycled with fresh ids up to the count asked for. For each size it prints the file size, the
page script's own time (parse the data, draw the tables, the graph and the first page; the
page records it in ``data-render-ms``), and the wall time of ``chromium --dump-dom`` against
the same for an empty page (browser start-up), the median of ``--repeat`` runs. "Page drawn"
is the time from navigation start to the end of the page's script (reading and parsing the
file included), as the page itself measures it (``data-loaded-ms``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import claimcls
from claimcls.html_view import write_html


def open_page(browser: str, page: Path) -> tuple[float, str]:
    t = time.perf_counter()
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=300)
    return time.perf_counter() - t, run.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, nargs="+", default=[1, 2000])
    parser.add_argument("--input", default="bundled")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        raise SystemExit("no chromium on this machine (Debian: apt-get install chromium)")
    source = claimcls.read_corpus(args.input)
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.html"
        empty.write_text("<!DOCTYPE html><html><body></body></html>")
        base = statistics.median(open_page(browser, empty)[0] for _ in range(args.repeat))
        print(f"chromium --dump-dom of an empty page: {base:.2f} s (browser start-up)")
        for n in args.docs:
            docs = [replace(source[i % len(source)], id=f"{source[i % len(source)].id}#{i}") for i in range(n)]
            page = Path(tmp) / f"page{n}.html"
            t = time.perf_counter()
            write_html(docs, page)
            written = time.perf_counter() - t
            walls, renders, loads = [], [], []
            for _ in range(args.repeat):
                wall, dom = open_page(browser, page)
                walls.append(wall)
                renders.append(int(re.search(r'data-render-ms="(\d+)"', dom).group(1)))
                loads.append(int(re.search(r'data-loaded-ms="(\d+)"', dom).group(1)))
            atts = sum(len(d.attributions) for d in docs)
            print(f"{n} articles ({atts} attributions): {page.stat().st_size / 1e6:.1f} MB written in {written:.1f} s; "
                  f"page drawn {statistics.median(loads)} ms after navigation began (its script: "
                  f"{statistics.median(renders)} ms); --dump-dom {statistics.median(walls):.2f} s "
                  f"({statistics.median(walls) - base:+.2f} s over the empty page)")


if __name__ == "__main__":
    main()
