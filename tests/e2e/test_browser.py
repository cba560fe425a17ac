"""End to end: a real ``streamlit run app.py`` server, driven by Debian's chromium.

Playwright only drives the browser: no browser is ever downloaded. Without /usr/bin/chromium
the tests are skipped (``.ci/run`` installs it; by hand: ``apt-get install chromium``).

One browser tab walks the dashboard like a reviewer: it opens a page by its URL first (the
case where Streamlit could bypass ``app.py``), loads the sample, visits every page, downloads
a CSV export and reads it with pandas. Every page must render without an exception box, and
the browser must never ask a host other than this machine for anything. Screenshots of each
page go to ``tests/e2e/artifacts/``; with ``DEID_UPDATE_SCREENSHOTS=1`` they are also copied to
``docs/screenshots/`` (the README shows them).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from deid.schema import TABLES

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("DEID_UPDATE_SCREENSHOTS") == "1"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
START_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1440, "height": 1100}
#: Sidebar title, URL path and what each page shows once it has rendered.
PAGES = [
    ("Load", "", "Loaded"),
    ("Tag effects", "tag_effects", "Why: one tag"),
    ("Compare profiles", "compare", "Tags compared"),
    ("Residual risk", "risk", "Findings"),
    ("Profiles", "profiles", "Read a profile"),
    ("Export", "export", "headers"),
]

if not CHROMIUM.exists():
    pytest.skip(
        "Debian chromium not installed: .ci/run installs it; apt-get install chromium",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402
    Browser,
    Locator,
    Page,
    Request,
    Route,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError  # noqa: E402


@dataclass
class Server:
    """A running dashboard: its address and the file collecting its output."""

    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class Tab:
    """The browser tab the tests share, and the outside requests it tried."""

    page: Page
    server: Server
    outside: list[str] = field(default_factory=list)

    def fail(self, name: str, error: BaseException) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=ARTIFACTS / f"{name}-failed.png", full_page=True)
        pytest.fail(f"{error}\n--- server output ---\n{self.server.output()}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], server_log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"streamlit exited with {process.returncode} before answering\n"
                f"--- server output ---\n{server_log.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(
        f"{url}/_stcore/health did not answer within {START_TIMEOUT_S} s\n"
        f"--- server output ---\n{server_log.read_text(errors='replace')}"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = _free_port()
    url = f"http://localhost:{port}"
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", "localhost",
        "--server.port", str(port),
    ]  # fmt: skip
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DEID_SECRET")}
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                   env=environment)
    try:
        _wait_healthy(url, process, log)
        yield Server(url=url, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
    shared = Tab(page, server)

    def block_outside(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS or request.url.startswith("data:"):
            route.continue_()
        else:
            shared.outside.append(request.url)
            route.abort()

    page.route("**/*", block_outside)
    yield shared
    page.close()


def _settle(page: Page) -> None:
    """Wait until the script run has finished (no running indicator, no spinner) and stayed
    finished for a moment, so that a late exception box would be there to see."""
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        busy = (page.locator('[data-testid="stStatusWidget"]').count()
                + page.locator('[data-testid="stSpinner"]').count())
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.5:
            return
        time.sleep(0.1)
    raise PlaywrightError(f"the page was still running after {PAGE_TIMEOUT_MS / 1000:.0f} s")


def _nav(page: Page, title: str) -> Locator:
    """The sidebar link to the page with this title."""
    return page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title,
                                                                      exact=True)


def _show(tab: Tab, title: str, ready: str) -> None:
    page = tab.page
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_text(ready, exact=False).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    _settle(page)


def _screenshot(tab: Tab, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.page.screenshot(path=path)
    if UPDATE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)
    return path


def _exceptions(tab: Tab) -> int:
    return tab.page.locator('[data-testid="stException"]').count()


def _context(tab: Tab) -> str:
    return f"\n--- server output ---\n{tab.server.output()}"


def test_a_page_opened_by_its_url_runs_through_app(tab: Tab) -> None:
    """The first visit after the server starts opens a page other than the first."""
    try:
        tab.page.goto(f"{tab.server.url}/compare", wait_until="domcontentloaded")
        _show(tab, "Compare profiles", "Tags compared")
        links = tab.page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        sidebar = tab.page.locator('[data-testid="stSidebarUserContent"]').inner_text()
    except PlaywrightError as exc:
        tab.fail("direct", exc)
    titles = [text.strip().splitlines()[-1].strip() for text in links]  # after the icon
    assert titles == [title for title, _, _ in PAGES], titles
    assert "319 files" in sidebar, sidebar + _context(tab)
    assert _exceptions(tab) == 0, _context(tab)


def test_load_the_sample(tab: Tab) -> None:
    page = tab.page
    try:
        _nav(page, "Load").click()
        _show(tab, "Load", "Loaded")
        page.get_by_role("button", name="Load the bundled sample").click()
        page.get_by_text("Loaded bundled sample").wait_for(timeout=PAGE_TIMEOUT_MS)
        _settle(page)
        metrics = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    except PlaywrightError as exc:
        tab.fail("load", exc)
    assert metrics[:1] == ["319"], metrics
    assert _exceptions(tab) == 0, _context(tab)
    _screenshot(tab, "load")


@pytest.mark.parametrize(("title", "path", "ready"), PAGES[1:], ids=[p[1] for p in PAGES[1:]])
def test_every_page_renders(tab: Tab, title: str, path: str, ready: str) -> None:
    page = tab.page
    try:
        _nav(page, title).click()
        _show(tab, title, ready)
        tables = page.locator('[data-testid="stDataFrame"]').count()
        charts = page.locator('[data-testid="stPlotlyChart"]').count()
    except PlaywrightError as exc:
        tab.fail(path, exc)
    assert _exceptions(tab) == 0, f"an exception box is on {title}{_context(tab)}"
    assert page.url.rstrip("/").endswith(path)
    expected_charts = {"compare": 1, "risk": 3}.get(path, 0)
    assert charts >= expected_charts, (title, charts)
    if path != "export":
        assert tables >= 1, title
    if path != "tag_effects":  # its picture is taken filtered, below
        _screenshot(tab, path)


def test_tag_effects_cells_show_actions(tab: Tab) -> None:
    page = tab.page
    try:
        _nav(page, "Tag effects").click()
        _show(tab, "Tag effects", "Why: one tag")
        search = page.get_by_label("Keyword or tag contains")
        search.fill("Patient")
        search.press("Enter")
        _wait_filtered(page)
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.locator('[role="gridcell"]').first.wait_for(state="attached")
        text = grid.text_content() or ""
    except PlaywrightError as exc:
        tab.fail("tag_effects-filter", exc)
    assert "(0010,0040)" in text and "PatientSex" in text, text
    assert "keep" in text, text  # chaimeleon_images_w_ecrfs keeps it: a risk, marked
    assert _exceptions(tab) == 0, _context(tab)
    _screenshot(tab, "tag_effects")


def _wait_filtered(page: Page) -> None:
    """Wait until the tag count caption says fewer tags are shown than there are."""
    counts = re.compile(r"^([\d,]+) of ([\d,]+) tags")
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for text in page.locator('[data-testid="stCaptionContainer"]').all_inner_texts():
            match = counts.match(text.strip())
            if match and match.group(1) != match.group(2):
                _settle(page)
                return
        time.sleep(0.1)
    raise PlaywrightError("the tag table was not filtered")


def test_download_a_csv_export(tab: Tab, tmp_path: Path) -> None:
    page = tab.page
    try:
        _nav(page, "Export").click()
        _show(tab, "Export", "headers")
        with page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
            page.locator(".st-key-export-headers-csv button").click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
    except PlaywrightError as exc:
        tab.fail("export", exc)
    assert saved.name == "headers.csv"
    headers = pd.read_csv(saved)
    assert list(headers.columns) == TABLES["headers"].column_names()
    assert len(headers) > 9000 and headers["file"].nunique() == 319
    assert headers["value"].isna().all(), "values must be left out unless asked for"
    assert _exceptions(tab) == 0, _context(tab)


def test_no_request_left_this_machine(tab: Tab) -> None:
    assert not tab.outside, f"the page tried to reach other hosts: {tab.outside}"
