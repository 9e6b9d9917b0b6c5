"""The book (``make site``): built from the committed notebooks, then read in a real browser.

Built once per session into a temporary folder with book/build_site.py (what ``make site`` runs), offline,
from whatever pages the repository has (every ``notebooks/*.ipynb``, ``notebooks/*.md``, ``docs/*.md``, the
README). Without a browser: Sphinx builds without a warning, every page is there, every picture a notebook
committed is on its page, every notebook page has the README's Binder launch button and a run note, every
live output has a banner naming the machine that produced it, answers stay folded, every internal link and
anchor resolves. In Debian's Chromium (Playwright, ``executable_path``; served on 127.0.0.1 on a free port),
per page: no console error, no request leaves 127.0.0.1, every picture loads, answers are folded until
clicked, every link to the site answers and its anchor exists, a term from the page's title finds the page in
the site's search, a phone-sized viewport has no horizontal scrolling, and pictures keep a white background
(undimmed) in dark mode. Screenshots: test-output/site/.

Skipped where Sphinx/myst-nb (``requirements-test.txt``), Chromium or Playwright is missing, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import sys
import threading
from html import escape
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from ._jupyterlab import INSTALL_HINT, Chromium, find_chromium, playwright_available
from ._readers import BINDER_PREFIX, ROOT, read

sys.path.insert(0, str(ROOT / "book"))
import epollkit_book  # noqa: E402

OUT = ROOT / "test-output" / "site"
# the book is built once per pytest process: keep its tests on one pytest-xdist worker (make test)
pytestmark = pytest.mark.xdist_group("site")
PAGES = ["index.md"] + [p for part in epollkit_book.pages(ROOT).values() for p in part]
NOTEBOOK_PAGES = [p for p in PAGES if p.endswith(".ipynb")]
PHONE = {"width": 390, "height": 844}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need(reason: str):
    if in_ci():
        pytest.fail(f"CI must build and check the book, but {reason}", pytrace=False)
    pytest.skip(reason)


def html_of(page: str) -> str:
    return str(PurePosixPath(page).with_suffix(".html"))


# ------------------------------------------------------------------------------------------ the build


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError as exc:
        need(f"the site builder is missing ({exc}): `pip install -r requirements-test.txt`")
    import build_site  # book/build_site.py

    return build_site.build(tmp_path_factory.mktemp("book"))


class _Page(HTMLParser):
    """What the tests read from one HTML page: ids, links, pictures, folded answers, banners."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.output_imgs, self.details = set(), [], 0, []
        self.classes: list[str] = []
        self._depth_output = []
        self._stack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "details":
            self.details.append("open" in a)
        self.classes += cls.split()
        if tag in ("br", "img", "hr", "meta", "link", "input", "source", "col", "area", "base", "wbr"):
            if tag == "img" and any("cell_output" in c for c in self._stack):
                self.output_imgs += 1
            return
        self._stack.append(cls)

    def handle_endtag(self, tag):
        if tag not in ("br", "img", "hr", "meta", "link", "input") and self._stack:
            self._stack.pop()


@functools.cache
def parsed(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_book_builds_offline_without_a_warning_and_has_every_page(book):
    assert book["rc"] == 0, "Sphinx failed:\n" + "\n".join(book["warnings"][-20:])
    assert not book["warnings"], "Sphinx warned:\n  " + "\n  ".join(book["warnings"][:20])
    assert book["staged"] == PAGES, "the book's pages are not the repository's pages in order"
    missing = [html_of(p) for p in PAGES if not (book["html"] / html_of(p)).is_file()]
    assert not missing, f"pages not built: {missing}"
    assert (book["html"] / "search.html").is_file() and (book["html"] / "searchindex.js").is_file()
    print(f"book: {book['pages']} pages in {book['seconds']} s, {book['bytes'] / 2**20:.1f} MiB")


def _png_outputs(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_committed_picture_is_on_the_notebook_page(book, page):
    expected = _png_outputs(read(ROOT / page))
    shown = parsed(book["html"] / html_of(page)).output_imgs
    assert shown == expected, f"{page}: the notebook committed {expected} pictures, its page shows {shown}"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_notebook_page_launches_the_readme_binder_target_and_says_how_to_run_it(book, page):
    text = (book["html"] / html_of(page)).read_text(encoding="utf-8")
    launch = BINDER_PREFIX + page  # the README's badge, with this page's path
    assert f'href="{launch}"' in text, f"{page}: no launch button to {launch}"
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text))
    assert "Run it yourself" in plain and "make lab" in plain, f"{page}: no 'run it yourself' note (make lab)"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_live_output_carries_a_banner_naming_the_committed_run(book, page):
    nb = read(ROOT / page)
    lines = [m.group(1) for c in nb.cells if c.cell_type == "code" for o in c.outputs
             for m in [epollkit_book.RUN_LINE.search(o.get("text", "") if o.output_type == "stream" else "")]
             if m]
    live = sum(1 for c in nb.cells if c.cell_type == "code" and c.outputs
               and re.search(r"live_or_recorded|epollkit\.lab\b", c.source)
               and "NBVAL_CHECK_OUTPUT" not in c.source)  # deterministic by the collection's rule
    text = (book["html"] / html_of(page)).read_text(encoding="utf-8")
    banners = re.findall(r'<div class="epollkit-run-banner">(.*?)</div>', text, re.DOTALL)
    assert len(banners) >= live, f"{page}: {live} cells run live experiments, only {len(banners)} banners"
    assert 'class="epollkit-run-note"' in text, f"{page}: no note on what produced the outputs"
    if lines:
        machine = escape(lines[0].strip().rstrip("."))
        wrong = [b for b in banners if machine not in b]
        assert not wrong, f"{page}: banners that do not name the setup line {machine!r}: {wrong[:2]}"


@pytest.mark.parametrize("page", PAGES)
def test_answers_stay_folded_on_the_site(book, page):
    src = ROOT / page if page != "index.md" else ROOT / "README.md"
    if src.suffix == ".ipynb":
        markdown = "\n".join(c.source for c in read(src).cells if c.cell_type == "markdown")
    else:
        markdown = src.read_text(encoding="utf-8")
    markdown = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```|~~~.*?~~~", "", markdown, flags=re.DOTALL))
    expected = len(re.findall(r"<details\b", markdown))  # outside code: the answers folded with <details>
    details = parsed(book["html"] / html_of(page)).details
    assert len(details) >= expected, (
        f"{page}: {expected} folded answers in the source, {len(details)} on the page")
    assert not any(details), f"{page}: {sum(details)} answers are shown unfolded (<details open>)"


def test_every_internal_link_and_anchor_resolves(book):
    html = book["html"]
    dead = []
    for path in sorted(html.rglob("*.html")):
        for href in parsed(path).links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith("mailto:"):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            rel = path.relative_to(html)
            if not target.is_file():
                dead.append(f"{rel}: {href} (no such file)")
            elif (parts.fragment and target.suffix == ".html"
                  and unquote(parts.fragment) not in parsed(target).ids):
                dead.append(f"{rel}: {href} (no such anchor)")
    assert not dead, f"{len(dead)} dead links:\n  " + "\n  ".join(dead[:30])


def test_jupyterlab_folding_metadata_folds_the_same_cells_on_the_site():
    def code(meta):
        return {"cell_type": "code", "metadata": meta, "source": "1", "outputs": []}

    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# t"},
                    code({"jupyter": {"source_hidden": True}}), code({"jupyter": {"outputs_hidden": True}}),
                    code({})], "metadata": {}}
    out = epollkit_book.transform_notebook(nb, launch_url="L", link=lambda s: s)
    code = [c for c in out["cells"] if c["cell_type"] == "code"]
    assert [c["metadata"].get("tags", []) for c in code] == [["hide-input"], ["hide-output"], []]
    assert "tags" not in nb["cells"][1]["metadata"], "the committed notebook must not be changed"


def test_links_to_repository_files_that_are_not_pages_point_to_the_repository():
    binder = epollkit_book.binder_target(ROOT / "README.md")
    fix = epollkit_book.link_rewriter(ROOT, "notebooks/00_start_here.ipynb",
                                      {"notebooks/00_start_here.ipynb"}, binder.repository_url, binder.branch)
    repo = f"{binder.repository_url}/tree/{binder.branch}"
    assert fix("[d](../data/scenarios)") == f"[d]({repo}/data/scenarios)"
    assert fix("[p](../epollkit/__init__.py#L1)") == (
        f"[p]({binder.repository_url}/blob/{binder.branch}/epollkit/__init__.py#L1)")
    assert fix("[n](00_start_here.ipynb#top)") == "[n](00_start_here.ipynb#top)"
    assert fix("[r](../README.md#tests)") == "[r](../index.md#tests)", "the README is the first page"
    assert fix("```\n[x](../data)\n```") == "```\n[x](../data)\n```", "code is not a link"


# ------------------------------------------------------------------------------------------ the browser


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_in_chromium(book):
    chromium = find_chromium()
    found = {"chromium": chromium is not None, "playwright": playwright_available()}
    missing = [name for name, ok in found.items() if not ok]
    if missing:
        need(f"{' and '.join(missing)} not found: this test {INSTALL_HINT}")
    handler = functools.partial(_Quiet, directory=str(book["html"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-server", daemon=True)
    thread.start()
    try:
        with Chromium(chromium) as browser:
            yield f"http://127.0.0.1:{server.server_address[1]}/", browser
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _watch(page, base: str):
    seen = {"errors": [], "outside": []}
    host = urlsplit(base).netloc

    def on_console(msg):
        if msg.type == "error":
            seen["errors"].append(msg.text)

    def on_request(req):
        parts = urlsplit(req.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != host:
            seen["outside"].append(req.url)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen["errors"].append(f"page error: {exc}"))
    page.on("request", on_request)
    # A fetch cut short by the test's next navigation (net::ERR_ABORTED) is not a fault of the page.
    page.on("requestfailed", lambda req: None if "ERR_ABORTED" in (req.failure or "")
            else seen["errors"].append(f"request failed: {req.url} ({req.failure})"))
    return seen


_FACTS_JS = """
() => {
  const imgs = Array.from(document.querySelectorAll('article img, .bd-article img'));
  const details = Array.from(document.querySelectorAll('article details'));
  const title = (document.querySelector('article h1') || {}).textContent || '';
  return {
    imgs: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    details: details.length,
    open: details.filter(d => d.open).length,
    title: title.replace('#', '').trim(),
    prev: !!document.querySelector('.prev-next-area a.left-prev'),
    next: !!document.querySelector('.prev-next-area a.right-next'),
  };
}
"""

# Every link on the page to this site: the browser fetches each target once (it must answer 200) and looks
# up each #anchor in the target page's DOM.
_LINKS_JS = """
async () => {
  const here = location.origin;
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => new URL(a.href, location.href))
    .filter(u => u.origin === here);
  const pages = {};
  const dead = [];
  for (const u of links) {
    const key = u.pathname;
    if (!(key in pages)) {
      const r = await fetch(key);
      pages[key] = r.ok && (r.headers.get('content-type') || '').includes('html')
        ? new DOMParser().parseFromString(await r.text(), 'text/html') : (r.ok ? 'file' : null);
    }
    const doc = pages[key];
    if (doc === null) { dead.push(u.href + ' (not found)'); continue; }
    const id = decodeURIComponent(u.hash.slice(1));
    if (id && doc !== 'file' && !doc.getElementById(id)) dead.push(u.href + ' (no such anchor)');
  }
  return {checked: links.length, dead};
}
"""

_OPEN_FIRST_ANSWER_JS = """
async () => {
  const d = document.querySelector('article details');
  const body = Array.from(d.children).find(c => c.tagName !== 'SUMMARY');
  // A closed <details> keeps its content in the DOM but does not render it (Chromium: content-visibility).
  const shown = e => !!e && e.checkVisibility({contentVisibilityAuto: true}) && e.getClientRects().length > 0;
  const hiddenBefore = !body || !shown(body);
  d.querySelector('summary').click();
  await new Promise(r => setTimeout(r, 100));
  return {hiddenBefore, open: d.open, shownAfter: !body || shown(body)};
}
"""

_DARK_JS = """
async () => {
  document.documentElement.dataset.theme = 'dark';
  document.documentElement.dataset.mode = 'dark';
  await new Promise(r => setTimeout(r, 200));
  return Array.from(document.querySelectorAll('.cell_output img'))
    .map(i => { const c = getComputedStyle(i); return c.filter === 'none' ? c.backgroundColor : c.filter; });
}
"""


def _search_term(title: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z_]{3,}", title)
             if w.lower() not in {"what", "with", "when", "which", "from", "that", "this", "your", "here"}]
    return max(words, key=len) if words else title.split()[-1]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("page_src", PAGES)
def test_page_reads_in_chromium_offline_folded_searchable_and_on_a_phone(site_in_chromium, page_src):
    base, browser = site_in_chromium
    rel = html_of(page_src)
    url = urljoin(base, rel)
    name = rel.replace("/", "_").removesuffix(".html")
    OUT.mkdir(parents=True, exist_ok=True)
    problems = []

    page = browser.context.new_page()
    seen = _watch(page, base)
    try:
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        facts = page.evaluate(_FACTS_JS)
        if facts["broken"]:
            problems.append(f"pictures that did not load: {facts['broken'][:5]}")
        if page_src.endswith(".ipynb"):
            expected = _png_outputs(read(ROOT / page_src))
            if facts["imgs"] < expected:
                problems.append(f"{expected} committed pictures, {facts['imgs']} on the page")
        if facts["open"]:
            problems.append(f"{facts['open']} of {facts['details']} answers are unfolded on load")
        if PAGES.index(page_src) > 0 and not facts["prev"]:
            problems.append("no 'previous' link")
        if PAGES.index(page_src) < len(PAGES) - 1 and not facts["next"]:
            problems.append("no 'next' link")
        page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
        links = page.evaluate(_LINKS_JS)
        problems += [f"dead link: {d}" for d in links["dead"][:10]]
        if facts["details"]:
            click = page.evaluate(_OPEN_FIRST_ANSWER_JS)
            if not click["hiddenBefore"]:
                problems.append("the first answer is visible before its summary is clicked")
            if not (click["open"] and click["shownAfter"]):
                problems.append("clicking the first answer's summary did not show it")
        backgrounds = page.evaluate(_DARK_JS)
        dark = [b for b in backgrounds if b not in ("rgb(255, 255, 255)", "rgba(255, 255, 255, 1)")]
        if dark:
            problems.append(f"{len(dark)} output pictures lose their white background (or are dimmed) "
                            "in dark mode: "
                            f"{dark[:3]}")
        page.evaluate("() => { const i = document.querySelector('.cell_output img');"
                      " if (i) i.scrollIntoView({block: 'center'}); }")
        page.screenshot(path=str(OUT / f"{name}-dark.png"))

        term = _search_term(facts["title"])
        page.goto(urljoin(base, f"search.html?q={term}"), wait_until="load")
        page.wait_for_function(
            "() => /Search finished|did not match/i.test((document.querySelector('#search-results "
            ".search-summary') || {}).textContent || '')", timeout=30_000)
        hits = page.evaluate("() => Array.from(document.querySelectorAll('#search-results li a'))"
                             ".map(a => a.href)")
        if not any(urlsplit(h).path.endswith("/" + rel) or (rel == "index.html" and urlsplit(h).path == "/")
                   for h in hits):
            problems.append(f"searching for {term!r} (from the title {facts['title']!r}) does not find "
                            f"the page; found {len(hits)}: {hits[:5]}")

        page.set_viewport_size(PHONE)
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if widths[0] > widths[1] + 1:
            problems.append(f"on a {PHONE['width']} px phone the page is {widths[0]} px wide "
                            "(it scrolls sideways)")
        page.screenshot(path=str(OUT / f"{name}-phone.png"))
    finally:
        page.close()

    problems += [f"console: {e}" for e in seen["errors"][:10]]
    problems += [f"request left 127.0.0.1: {u}" for u in sorted(set(seen["outside"]))[:10]]
    summary = {"page": rel, "pictures": facts["imgs"], "answers": facts["details"], "search_term": term,
               "internal_links": links["checked"],
               "console_errors": seen["errors"], "outside_requests": sorted(set(seen["outside"])),
               "phone_width": widths, "problems": problems}
    (OUT / f"{name}.json").write_text(json.dumps(summary, indent=1) + "\n")
    assert not problems, f"{rel} in Chromium (screenshots in {OUT}):\n  " + "\n  ".join(problems)


def test_outputs_derived_from_a_live_experiment_get_a_banner_and_model_outputs_do_not():
    def code(src):
        return {"cell_type": "code", "metadata": {}, "source": src,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "x\n"}]}

    cells = [
        code("LIVE = setup()"),
        code("herd = live_or_recorded(lambda: accept('select', 4, 200), 'accept')"),  # a live run
        code("plots.per_worker_accepts(herd);"),  # its picture
        code("def at(s):\n    return herd[s]\n\nprint(at('select'))"),  # reads it through a function
        code("print(at('poll'))"),
        code("# NBVAL_CHECK_OUTPUT\nprint(sim.accept('select', 4, 1))"),  # the model, deterministic
        code("for herd in range(3):\n    print(herd)"),  # binds the name itself: not the live result
        code("if not LIVE:\n    print('NOT LIVE')"),
    ]
    assert epollkit_book.live_cells(cells) == [False, True, True, True, True, False, False, True]


def test_run_banner_names_the_setup_line_and_says_so_when_the_run_recorded_none():
    def nb(text):
        out = {"output_type": "stream", "name": "stdout", "text": text}
        cell = {"cell_type": "code", "source": "setup()", "outputs": [out],
                "metadata": {"execution": {"iopub.execute_input": "2026-11-26T17:11:38.432877Z"}}}
        return {"cells": [cell], "metadata": {"language_info": {"name": "python", "version": "3.12.1"}}}

    live = epollkit_book.run_info(nb("Live: Linux 6.1.0, 4 CPUs, epoll available (EPOLLEXCLUSIVE: yes).\n"))
    assert (live.machine, live.python, live.date) == (
        "Live: Linux 6.1.0, 4 CPUs, epoll available (EPOLLEXCLUSIVE: yes)", "Python 3.12.1", "2026-11-26")
    recorded = epollkit_book.run_info(nb("NOT LIVE (no epoll on darwin): experiment cells show ...\n"))
    assert recorded.machine.startswith("NOT LIVE (no epoll on darwin)")
    unknown = epollkit_book.run_info(nb("hello\n"))
    assert "not recorded" in unknown.machine, "a banner must never invent a machine"
