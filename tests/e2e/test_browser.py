"""End to end: a real ``streamlit run app.py`` server, driven by Debian's chromium.

Playwright only drives the browser: no browser is ever downloaded. Without /usr/bin/chromium
the test is skipped (``.ci/run`` installs it; by hand: ``apt-get install chromium``).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import deid

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
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
PAGE_TIMEOUT_MS = 30_000

if not CHROMIUM.exists():
    pytest.skip(
        "Debian chromium not installed: .ci/run installs it; apt-get install chromium",
        allow_module_level=True,
    )

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import Page, Request, Route, sync_playwright  # noqa: E402


@dataclass
class Server:
    """A running dashboard: its address and the file collecting its output."""

    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


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
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT)
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


def _open_home(page: Page, server: Server, outside: list[str]) -> None:
    def block_outside(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS or request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    page.route("**/*", block_outside)
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("heading", name="Profiles").first.wait_for(timeout=PAGE_TIMEOUT_MS)
    # The grid draws on a canvas; its accessible table holds the cell text.
    cells = page.locator('[data-testid="stDataFrame"] [role="gridcell"]')
    cells.first.wait_for(state="attached", timeout=PAGE_TIMEOUT_MS)
    # Let the script run finish so that a late exception box would be there to see.
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=PAGE_TIMEOUT_MS)


def test_home_page_in_chromium(server: Server) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "home.png"
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            try:
                _open_home(page, server, outside)
                exceptions = page.locator('[data-testid="stException"]').count()
                table_text = page.locator('[data-testid="stDataFrame"]').first.text_content() or ""
            except PlaywrightError as exc:
                page.screenshot(path=ARTIFACTS / "home-failed.png", full_page=True)
                pytest.fail(f"{exc}\n--- server output ---\n{server.output()}")
            page.screenshot(path=screenshot, full_page=True)
        finally:
            browser.close()

    context = f"\n--- server output ---\n{server.output()}"
    assert exceptions == 0, f"an exception box is on the home page (see {screenshot}){context}"
    first_id = deid.list_profiles()[0].id
    assert "provenance" in table_text and first_id in table_text, table_text + context
    assert not outside, f"the page tried to reach other hosts: {outside}{context}"
