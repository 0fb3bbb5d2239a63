"""The course book: it builds with warnings as errors, shows no solution to students,
renders its mathematics offline in a real browser, has no broken internal link, and
its launch buttons open the release notebooks.

The student and instructor editions are built once per module into a temporary
folder (``autograder.book.build``); the browser test serves the student site from a
localhost ``http.server`` and loads every page in headless Chromium, writing a
screenshot and the rendered DOM of each page to ``build/book/screenshots/``.
"""
from __future__ import annotations

import functools
import html
import http.server
import json
import re
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

from autograder import book

pytestmark = pytest.mark.xdist_group(name="book")  # one worker builds the books once

REPO = book.REPO
RELEASE = book.RELEASE
SCREENSHOTS = REPO / "build" / "book" / "screenshots"
PART_PAGES = {docname: name for docname, name in book.NOTEBOOKS.items()}
TOC_PAGES = ["intro", "hw4/overview", "hw4/theory", "hw4/part1_gans", "hw4/part2_diffusion", "hw4/part2_policy",
             "hw4/grading"]
# Sentences only the instructor solutions contain (besides the marker itself).
SOLUTION_PHRASES = ("Rubric:", "a positive multiple of the squared error",
                    "is a Nash equilibrium. (This holds")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1280,1800", "--virtual-time-budget=20000"]


def _require_release_notebooks() -> None:
    missing = [str(RELEASE / name) for name in PART_PAGES.values() if not (RELEASE / name).is_file()]
    if missing:
        pytest.fail("the course book's part pages are the release notebooks, and these are missing: "
                    f"{', '.join(missing)}. Generate them with `make release` (python -m autograder "
                    "release) and commit release/hw4.", pytrace=False)


@pytest.fixture(scope="module")
def student_site(tmp_path_factory) -> Path:
    _require_release_notebooks()
    try:
        return book.build(instructor=False, release=RELEASE, strict=True, quiet=True,
                          path_output=tmp_path_factory.mktemp("book-student"))
    except book.BookError as error:
        pytest.fail(f"the student book does not build:\n{error}", pytrace=False)


@pytest.fixture(scope="module")
def instructor_site(tmp_path_factory) -> Path:
    _require_release_notebooks()
    try:
        return book.build(instructor=True, release=RELEASE, strict=True, quiet=True,
                          path_output=tmp_path_factory.mktemp("book-instructor"))
    except book.BookError as error:
        pytest.fail(f"the instructor book does not build:\n{error}", pytrace=False)


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith(("_", "reports")))


class _Page(HTMLParser):
    """Links, ids, math elements and visible text of one HTML page."""

    SKIP_TEXT = {"script", "style", "pre", "code", "mjx-container", "textarea"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []   # (tag, url)
        self.anchors: list[dict] = []            # attributes of every <a>
        self.ids: set[str] = set()
        self.math = 0
        self.mjx = 0
        self.merrors = 0
        self.text: list[str] = []
        self._skip = 0
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a":
            self.anchors.append(attributes)
        for key in ("href", "src"):
            if attributes.get(key):
                self.links.append((tag, attributes[key]))
        classes = (attributes.get("class") or "").split()
        if tag in {"span", "div"} and "math" in classes:
            self.math += 1
        if tag == "mjx-container":
            self.mjx += 1
        if tag == "mjx-merror":
            self.merrors += 1
        if tag in self.SKIP_TEXT:
            self._skip += 1
        if tag not in {"br", "img", "meta", "link", "input", "hr", "col", "source", "wbr", "area", "base"}:
            self._stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self._stack:
            while self._stack:
                top = self._stack.pop()
                if top in self.SKIP_TEXT:
                    self._skip -= 1
                if top == tag:
                    break

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def _is_external(url: str) -> bool:
    return urlsplit(url).scheme in {"http", "https", "mailto", "data", "javascript", "tel"} or url.startswith("//")


# ------------------------------------------------------------------ the build
def test_release_notebooks_exist():
    _require_release_notebooks()


def test_every_toc_page_is_built(student_site):
    for docname in TOC_PAGES:
        assert (student_site / f"{docname}.html").is_file(), f"{docname}.html is missing from the book"
    assert (student_site / "index.html").is_file()


def test_part_pages_are_the_release_notebooks_unexecuted(student_site):
    for docname, name in PART_PAGES.items():
        notebook = json.loads((RELEASE / name).read_text())
        page = (student_site / f"{docname}.html").read_text()
        first_code = next(("".join(c["source"]) for c in notebook["cells"]
                           if c["cell_type"] == "code" and "".join(c["source"]).strip()), None)
        assert first_code is not None, f"{name} has no code cell"
        shown = html.unescape(re.sub(r"<[^>]+>", "", page))
        first_line = first_code.strip().splitlines()[0].strip()
        assert first_line in shown, f"{docname}.html does not show the code of {name}: {first_line!r}"
        assert 'class="cell_output' not in page, f"{docname}.html shows outputs: the release notebooks are not executed"


def test_mathjax_is_served_by_the_site(student_site):
    assert (student_site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for path in _pages(student_site):
        for tag, url in _parse(path.read_text()).links:
            if tag in {"script", "link", "img"} and _is_external(url):
                pytest.fail(f"{path.relative_to(student_site)} loads {url} from the network")


def test_no_broken_internal_links(student_site):
    ids: dict[Path, set[str]] = {}
    pages = _pages(student_site)
    parsed = {path: _parse(path.read_text()) for path in pages}
    for path, page in parsed.items():
        ids[path.resolve()] = page.ids
    broken = []
    for path, page in parsed.items():
        for tag, url in page.links:
            if _is_external(url) or url.startswith("#") and len(url) == 1:
                continue
            parts = urlsplit(url)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path.resolve()
            where = f"{path.relative_to(student_site)}: <{tag}> {url}"
            if not target.is_relative_to(student_site.resolve()) or not target.exists():
                broken.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html" and parts.fragment not in ids.get(target, set()):
                broken.append(f"{where} (no element with id {parts.fragment!r})")
    assert not broken, "broken internal links:\n  " + "\n  ".join(broken)


def test_launch_buttons_open_the_release_notebooks(student_site):
    config = yaml.safe_load((book.BOOK / "_config.yml").read_text())
    repo_url = config["repository"]["url"].rstrip("/")
    org_repo = urlsplit(repo_url).path.strip("/")
    branch = config["repository"]["branch"]
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    hub = config["launch_buttons"]["jupyterhub_url"].rstrip("/")
    assert colab and hub, "the book must have Colab and JupyterHub launch buttons"
    for docname, name in PART_PAGES.items():
        release_path = f"release/hw4/{name}"
        assert (REPO / release_path).is_file()
        hrefs = [a.get("href", "") for a in _parse((student_site / f"{docname}.html").read_text()).anchors]
        assert f"{colab}/github/{org_repo}/blob/{branch}/{release_path}" in hrefs, \
            f"{docname}.html has no Colab button for {release_path}: {[h for h in hrefs if 'colab' in h]}"
        hub_links = [h for h in hrefs if h.startswith(hub)]
        assert hub_links, f"{docname}.html has no JupyterHub button"
        query = parse_qs(urlsplit(hub_links[0]).query)
        assert query["repo"] == [repo_url] and query["branch"] == [branch]
        assert query["urlpath"][0].endswith(f"/{release_path}"), query
    for docname in set(TOC_PAGES) - set(PART_PAGES):
        page = (student_site / f"{docname}.html").read_text()
        assert colab not in page, f"{docname}.html has a launch button but is not a notebook"


def test_points_tables_follow_the_checks_and_the_theory_page(student_site):
    questions = book.theory_questions()
    theory_total = sum(q["points"] for q in questions)
    text = " ".join(_parse((student_site / "hw4" / "overview.html").read_text()).text)
    checks = book.check_points()
    notebook_of = {part: notebook for notebook, part in book.PART_OF_NOTEBOOK.items()}
    for part, title in book.PART_TITLES.items():
        got = checks.get(part, {"public": 0.0, "hidden": 0.0})
        manual = book.notebook_manual_points(RELEASE / notebook_of[part])
        assert re.search(rf"{re.escape(title)}\s+{got['public']:g}\s+{got['hidden']:g}\s+{manual:g}\s+"
                         rf"{got['public'] + got['hidden'] + manual:g}", text), (title, text[-800:])
    assert re.search(rf"Theory \(written, {len(questions)} questions\)\s+{theory_total}\s+{theory_total}", text)
    theory_text = " ".join(_parse((student_site / "hw4" / "theory.html").read_text()).text)
    assert re.search(rf"Total\s+{theory_total}", theory_text)


def test_missing_release_notebook_is_an_error_when_strict(tmp_path):
    with pytest.raises(book.BookError, match="part1_gans.ipynb is missing"):
        book.build(instructor=False, release=tmp_path / "empty", strict=True, quiet=True,
                   path_output=tmp_path / "out")


def test_builder_refuses_a_student_book_that_shows_a_solution(tmp_path):
    """The builder's own scan: a release notebook that still holds a solution fence fails."""
    import nbformat

    release = tmp_path / "release"
    release.mkdir()
    for name in PART_PAGES.values():
        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        notebook.cells = [nbformat.v4.new_markdown_cell("# A part"),
                          nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION")]
        nbformat.write(notebook, release / name)
    with pytest.raises(book.BookError, match="shows solutions"):
        book.build(instructor=False, release=release, strict=True, quiet=True, path_output=tmp_path / "out")


# ------------------------------------------------------------------ solutions stay out
def test_student_build_shows_no_solution(student_site, instructor_site):
    solution_page = instructor_site / "instructor" / "theory_solutions.html"
    assert solution_page.is_file()
    instructor_text = solution_page.read_text()
    # The scan below would see a leak: the instructor edition has every needle.
    for needle in (book.SOLUTION_MARKER, *SOLUTION_PHRASES):
        assert needle in instructor_text, f"{needle!r} not in the instructor solutions"
    leaks = []
    for path in sorted(student_site.rglob("*")):
        if not path.is_file() or "_static/mathjax" in path.as_posix():
            continue
        if "theory_solutions" in path.name or "instructor" in path.relative_to(student_site).parts:
            leaks.append(f"{path.relative_to(student_site)}: a file of the instructor edition")
            continue
        text = path.read_text(errors="replace")
        for needle in (book.SOLUTION_MARKER, *SOLUTION_PHRASES, *book.FORBIDDEN_IN_STUDENT_BUILD):
            if needle in text:
                leaks.append(f"{path.relative_to(student_site)}: {needle!r}")
    assert not leaks, "the student book shows solutions:\n  " + "\n  ".join(leaks)


def test_instructor_build_executed_the_numerical_checks(instructor_site):
    page = (instructor_site / "instructor" / "theory_solutions.html").read_text()
    assert "Monte Carlo" in page and "cell_output" in page, "the solution page was not executed"
    assert "Traceback" not in page and "AssertionError" not in page


def test_theory_solutions_numerical_checks_pass():
    """Run the solution page's code cells directly (not only through the book)."""
    import nbclient
    from myst_nb.core.read import read_myst_markdown_notebook

    source = (REPO / "source" / "theory" / "theory_solutions.md").read_text()
    notebook = read_myst_markdown_notebook(source)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert len(code_cells) >= 8, "the numerical checks are missing"
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO)}}).execute()
    printed = "".join(out.get("text", "") for c in code_cells for out in c.outputs)
    assert "closed" in printed and "Monte Carlo" in printed
    assert not any(out.get("output_type") == "error" for c in code_cells for out in c.outputs)


# ------------------------------------------------------------------ in a browser
def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail("headless Chromium is needed for the book's browser test: "
                "`apt-get update && apt-get install -y chromium` (.ci/run installs it)", pytrace=False)


class _Server:
    """The built site on a localhost port; remembers every request and its status."""

    def __init__(self, root: Path):
        self.requests: list[tuple[str, int]] = []
        record = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):
                record.append((self.path, int(code) if str(code).isdigit() else 0))

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _rendering_problems(rel: str, static_html: str, dom: str) -> list[str]:
    """What is wrong with a page as the browser rendered it (``dom``), given its HTML."""
    problems = []
    static, rendered = _parse(static_html), _parse(dom)
    if rel != "index.html" and "bd-article" not in dom:
        problems.append(f"{rel}: the page's article did not render")
    if static.math and rendered.mjx < static.math:
        problems.append(f"{rel}: {static.math} math elements but only {rendered.mjx} rendered by MathJax")
    if rendered.merrors:
        problems.append(f"{rel}: {rendered.merrors} MathJax errors")
    visible = " ".join(rendered.text)
    raw = re.search(r"\$\$|\$\\[A-Za-z]|\\\(|\\\[|\\begin\{", visible)
    if raw:
        problems.append(f"{rel}: raw TeX left in the page: "
                        f"...{visible[max(0, raw.start() - 60): raw.end() + 60]}...")
    return problems


def test_rendering_check_sees_unrendered_math():
    """The browser test's judge: raw TeX, missing MathJax output and MathJax errors all fail."""
    static = ('<article class="bd-article"><p>Loss <span class="math notranslate nohighlight">'
              '\\(\\log D(x)\\)</span></p><div class="math notranslate nohighlight">'
              '\\[\\mathbb{E}[x]\\]</div><pre>x = "$\\alpha$"</pre></article>')
    good = static.replace('\\(\\log D(x)\\)', '<mjx-container>log D(x)</mjx-container>').replace(
        '\\[\\mathbb{E}[x]\\]', '<mjx-container>E[x]</mjx-container>')
    assert _rendering_problems("p.html", static, good) == []
    unrendered = _rendering_problems("p.html", static, static)
    assert any("only 0 rendered" in p for p in unrendered) and any("raw TeX" in p for p in unrendered)
    dollars = '<article class="bd-article"><p>We minimize $\\mathcal{L}$ here.</p></article>'
    assert any("raw TeX" in p for p in _rendering_problems("p.html", dollars, dollars))
    broken = good.replace("E[x]</mjx-container>", "<mjx-merror>x</mjx-merror></mjx-container>")
    assert any("MathJax errors" in p for p in _rendering_problems("p.html", static, broken))
    assert any("article" in p for p in _rendering_problems("p.html", static, "<body></body>"))


@pytest.mark.browser
def test_pages_render_in_headless_chromium(student_site, tmp_path):
    chromium = _chromium()
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    problems = []
    with _Server(student_site) as server:
        for path in _pages(student_site):
            rel = path.relative_to(student_site).as_posix()
            shot = SCREENSHOTS / (rel.replace("/", "__")[: -len(".html")] + ".png")
            profile = tmp_path / f"profile-{shot.stem}"
            done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                   f"--screenshot={shot}", "--dump-dom", f"{server.url}/{rel}"],
                                  capture_output=True, text=True, timeout=120)
            dom = done.stdout
            (SCREENSHOTS / (shot.stem + ".dom.html")).write_text(dom)
            if done.returncode != 0 or "<body" not in dom:
                problems.append(f"{rel}: Chromium could not load it (exit {done.returncode}): "
                                f"{done.stderr[-500:]}")
                continue
            if not shot.is_file() or shot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
                problems.append(f"{rel}: no screenshot was written")
            problems.extend(_rendering_problems(rel, path.read_text(), dom))
    failed = [(p, code) for p, code in server.requests if code >= 400 and not p.startswith("/favicon.ico")]
    if failed:
        problems.append("requests that failed while the pages loaded: "
                        + ", ".join(f"{p} ({code})" for p, code in failed))
    math_pages = [p for p in ("hw4__theory", "intro") if (SCREENSHOTS / f"{p}.png").is_file()]
    assert len(math_pages) == 2, "the theory page and the landing page were not shot"
    assert not problems, "\n".join(problems)
