"""End to end: a real ``streamlit run app.py`` server, driven by Debian's chromium.

Playwright only drives the browser: no browser is ever downloaded. Without /usr/bin/chromium
the tests are skipped (``.ci/run`` installs it; by hand: ``apt-get install chromium``).

One browser tab walks the dashboard like a reviewer: it opens a page by its URL first (the
case where Streamlit could bypass ``app.py``), loads the sample, visits every page, downloads
a CSV export and reads it with pandas, decides one tag on the Consensus page, records a
sign-off and downloads the sign-off report, which is then opened from disk and must render
with no request at all and show the figures of the ``risk`` command. Then it plays the
attacker: Markdown and HTML (images on another host, a "Session expired: sign in" link, bare
URLs) planted in an uploaded profile's title, description and reasons, in the decision
record (decider, reason, consensus name, reviewer, comments) and in an error message must show
as text on every page: no link or image to another host in the page, no request for one.
Every page must render without an exception box, and the browser must never ask a host other
than this machine for anything. The server keeps its decision record in a temporary data
folder. Screenshots of
each page go to ``tests/e2e/artifacts/``; with ``DEID_UPDATE_SCREENSHOTS=1`` they are also
copied to ``docs/screenshots/`` (the README shows them).
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

import deid
from deid import load_profile_text
from deid.audit import audit
from deid.consensus.store import DecisionStore
from deid.outputs.signoff import read_figures
from deid.policy.schema import TABLES
from ui.text import WORD_JOINER

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
#: The bundled sample as the Load page reads it (and the command line below).
SAMPLE = ["data/sample/files", "data/sample/cohort"]
CONSENSUS_NAME = "committee_2026"
SIGNED = "primage"
#: What an attacker plants: an image and a link to another host, HTML, bare URLs.
ATTACKER = "attacker.example"
PLANTED = (f"![pixel](http://{ATTACKER}/pixel.png) "
           f"[Session expired: sign in](https://{ATTACKER}/login) "
           f'<img src="http://{ATTACKER}/i.png"> www.{ATTACKER} http://{ATTACKER}/x '
           f"eve@{ATTACKER}")
HOSTILE_CONSENSUS = "hostile_committee"
HOSTILE_PROFILE = f"""\
schema_version = 1
id = "hostile_profile"
title = '{PLANTED}'
description = '''{PLANTED}
# A heading
[Session expired: sign in](https://{ATTACKER}/login)'''
provenance = "user"
base = "ps315_basic"

[[rules]]
keyword = "PatientSex"
action = "keep"
reason = '{PLANTED}'
source = '[Session expired: sign in](https://{ATTACKER}/login)'
"""
YOUR_NAME = "Your name (recorded with each decision) — recorded as unverified"
REVIEWER = "Reviewer — recorded as unverified"
#: Sidebar title, URL path and what each page shows once it has rendered.
PAGES = [
    ("Load", "", "Loaded"),
    ("Tag effects", "tag_effects", "Why: one tag"),
    ("Compare profiles", "compare", "Tags compared"),
    ("Residual risk", "risk", "Findings"),
    ("Consensus", "consensus", "Worklist"),
    ("Audit", "audit", "Run the audit"),
    ("Profiles", "profiles", "Read a profile"),
    ("Export", "export", "headers"),
    ("Glossary", "glossary", "Find a word"),
]
AI4HI = ["procancer_i", "chaimeleon_images_w_ecrfs", "chaimeleon_images_only", "primage",
         "incisive", "eucanimage"]

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

#: Files in the bundled sample (data/sample, every .dcm at any depth).
N_SAMPLE = sum(1 for _ in (Path(__file__).resolve().parents[2] / "data" / "sample").rglob("*.dcm"))


@dataclass
class Server:
    """A running dashboard: its address and the file collecting its output."""

    url: str
    log: Path
    data_dir: Path

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
        (ARTIFACTS / f"{name}-failed.txt").write_text(self.page.inner_text("body"),
                                                      encoding="utf-8")
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
    data_dir = tmp_path_factory.mktemp("data")
    environment["DEID_DATA_DIR"] = str(data_dir)  # the decision record, not ~/.deid-review
    _plant_record(data_dir)
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                   env=environment)
    try:
        _wait_healthy(url, process, log)
        yield Server(url=url, log=log, data_dir=data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _plant_record(data_dir: Path) -> None:
    """A decision record someone filled with Markdown: as decider, reason, consensus name,
    reviewer and comments."""
    store = DecisionStore(data_dir)
    store.decide(HOSTILE_CONSENSUS, "(0010,0040)", decider=PLANTED, action="empty",
                 reason=PLANTED)
    store.decide(PLANTED, "(0010,1010)", decider="Ana", action="remove", reason=PLANTED)
    store.sign_off(SIGNED, "0" * 64, reviewer=PLANTED, decision="rejected", comments=PLANTED)


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


def _download(page: Page, key: str, folder: Path) -> Path:
    """Click the download button with Streamlit key ``key``; the file it gives, saved in
    ``folder`` under its suggested name."""
    with page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
        page.locator(f".st-key-{key} button").click()
    saved = folder / download.value.suggested_filename
    download.value.save_as(saved)
    return saved


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
    assert f"{N_SAMPLE} files" in sidebar, sidebar + _context(tab)
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
    assert metrics[:1] == [str(N_SAMPLE)], metrics
    assert _exceptions(tab) == 0, _context(tab)
    _screenshot(tab, "load")


@pytest.mark.parametrize(("title", "path", "ready"), PAGES[1:], ids=[p[1] for p in PAGES[1:]])
def test_every_page_renders(tab: Tab, title: str, path: str, ready: str) -> None:
    page = tab.page
    try:
        _nav(page, title).click()
        _show(tab, title, ready)
        if path == "audit":  # review the sample's files as an export on their own
            _fill(page, "Export (a folder or zip archive on this machine)",
                  str(REPO_ROOT / "data" / "sample" / "files"))
            page.get_by_role("button", name="Run the audit").click()
            page.get_by_text("The export's residual risk").first.wait_for(timeout=60_000)
            _settle(page)
        expected_charts = {"compare": 1, "risk": 3}.get(path, 0)
        deadline = time.monotonic() + 20  # charts below the fold are drawn a moment later
        while (page.locator('[data-testid="stPlotlyChart"]').count() < expected_charts
               and time.monotonic() < deadline):
            time.sleep(0.25)
        tables = page.locator('[data-testid="stDataFrame"]').count()
        charts = page.locator('[data-testid="stPlotlyChart"]').count()
    except PlaywrightError as exc:
        tab.fail(path, exc)
    assert _exceptions(tab) == 0, f"an exception box is on {title}{_context(tab)}"
    assert page.url.rstrip("/").endswith(path)
    assert charts >= expected_charts, (title, charts)
    if path != "export":
        assert tables >= 1, title
    if path == "risk":  # the picture: the element-by-element summary under the metrics
        page.get_by_role("heading", name="Findings").first.evaluate(
            "element => element.scrollIntoView({block: 'start'})")
        time.sleep(0.5)
    if path not in ("tag_effects", "consensus", "audit"):  # their pictures are taken below
        _screenshot(tab, path)


AUDIT_EXPORT = "Export (a folder or zip archive on this machine)"
AUDIT_ORIGINALS = "Originals (leave empty to review the export alone)"


def test_audit_an_export_against_the_profile_it_claims(tab: Tab, tmp_path: Path) -> None:
    """Copies written with primage, audited against ps315_basic: the page's figures are the
    library's, the deviations filter narrows the table, and the Profiles page's sign-off
    report of ps315_basic carries the audit's figures."""
    originals = REPO_ROOT / "data" / "sample" / "files"
    deid.apply_profiles([str(originals)], [deid.load_profile("primage")],
                        secrets=deid.Secrets({"default": "browser"}),
                        write_dicom=tmp_path / "copies", workers=1)
    exported = tmp_path / "copies" / "primage"
    expected = audit([originals], [exported], deid.load_profile("ps315_basic"))
    deviations = expected.audit_deviations
    n_patient_name = int((deviations["keyword"] == "PatientName").sum())
    page = tab.page
    try:
        _nav(page, "Audit").click()
        _show(tab, "Audit", "Run the audit")
        _fill(page, AUDIT_EXPORT, str(exported))
        _fill(page, AUDIT_ORIGINALS, str(originals))
        _choose(page, "Claimed profile", "ps315_basic")
        page.get_by_role("button", name="Run the audit").click()
        page.get_by_text("Against ps315_basic").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        _settle(page)
        labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        deadline = time.monotonic() + 20
        while (page.locator('[data-testid="stPlotlyChart"]').count() < 1
               and time.monotonic() < deadline):
            time.sleep(0.25)
        page.locator('[data-testid="stMetric"]').first.evaluate(  # figures, then the picture
            "element => element.scrollIntoView({block: 'start'})")
        time.sleep(1)
        _screenshot(tab, "audit")
        _fill(page, "Keyword, tag or file contains", "PatientName")
        page.get_by_text(f"{n_patient_name:,} of {len(deviations):,} deviations match the "
                         "filters").wait_for(timeout=PAGE_TIMEOUT_MS)

        _nav(page, "Profiles").click()
        _show(tab, "Profiles", "Read a profile")
        _choose(page, "Profile", "ps315_basic")
        page.get_by_text("With the audit run on").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        report = _download(page, "profiles-signoff_download", tmp_path)
    except PlaywrightError as exc:
        tab.fail("audit", exc)
    metrics = {label.strip(): value.strip() for label, value in zip(labels, values,
                                                                    strict=False)}
    assert metrics["Paired"] == str(len(list(originals.glob("*.dcm")))), metrics
    assert metrics["Deviations"] == f"{expected.n_deviations:,}" != "0", metrics
    assert _exceptions(tab) == 0, _context(tab)
    figures = read_figures(report.read_text(encoding="utf-8"))
    assert report.name == "signoff_ps315_basic.html"
    assert figures["audit_deviations"] == expected.n_deviations
    assert figures["audit_files_paired"] == len(expected.audit_pairs)


_CONTRAST = """element => {
    const rgb = text => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map(c => c / 255)
        .map(c => c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4))
        .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
    let back = element, colour = 'rgba(0, 0, 0, 0)';
    while (back && (colour === 'rgba(0, 0, 0, 0)' || colour === 'transparent')) {
        colour = getComputedStyle(back).backgroundColor; back = back.parentElement;
    }
    const [a, b] = [lum(rgb(getComputedStyle(element).color)), lum(rgb(colour))];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_captions_are_readable_and_the_keyboard_focus_shows(tab: Tab) -> None:
    page = tab.page
    try:
        _nav(page, "Glossary").click()
        _show(tab, "Glossary", "Find a word")
        captions = page.locator('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]')
        ratios = [captions.nth(i).evaluate(_CONTRAST) for i in range(captions.count())]
        box = page.get_by_label("Find a word", exact=True)
        box.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        ring = page.evaluate("""() => {
            const e = document.activeElement;
            let node = e, shadow = 'none';
            for (let i = 0; node && i < 4; i++, node = node.parentElement) {
                const s = getComputedStyle(node).boxShadow;
                if (s && s !== 'none') { shadow = s; break; }
            }
            return [getComputedStyle(e).outlineWidth, getComputedStyle(e).outlineStyle,
                    shadow];
        }""")
        _fill(page, "Find a word", "k_min")
        page.get_by_text("k-anonymity").first.wait_for(state="attached",
                                                       timeout=PAGE_TIMEOUT_MS)
    except PlaywrightError as exc:
        tab.fail("accessibility", exc)
    assert ratios and min(ratios) >= 4.5, ratios
    width, style, shadow = ring
    assert (style != "none" and float(width.rstrip("px")) >= 2) or "3px" in shadow, ring
    _screenshot(tab, "glossary")


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
        saved = _download(page, "export-headers-csv", tmp_path)
    except PlaywrightError as exc:
        tab.fail("export", exc)
    assert saved.name == "headers.csv"
    headers = pd.read_csv(saved)
    assert list(headers.columns) == TABLES["headers"].column_names()
    assert len(headers) > 9000 and headers["file"].nunique() == N_SAMPLE
    assert headers["value"].isna().all(), "values must be left out unless asked for"
    assert _exceptions(tab) == 0, _context(tab)


def _fill(page: Page, label: str, text: str) -> None:
    """Type into a text input or area and commit it (Streamlit reruns on blur)."""
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.blur()
    _settle(page)


def _choose(page: Page, label: str, option: str) -> None:
    """Pick an option of a selectbox by typing it."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option).first.click()
    _settle(page)


def test_consensus_decide_one_tag(tab: Tab, tmp_path: Path) -> None:
    page = tab.page
    try:
        _nav(page, "Consensus").click()
        _show(tab, "Consensus", "Worklist")
        _fill(page, "Consensus name (the consensus profile's id)", CONSENSUS_NAME)
        _fill(page, YOUR_NAME, "Ada Committee")
        page.locator(".st-key-consensus-family_button-ai4hi button").first.click()
        _settle(page)
        _fill(page, "Keyword or tag contains", "PatientSex")
        page.get_by_text("Decided 0 / ").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        _fill(page, "Reason (required): why the committee decides this",
              "Sex is needed for the analyses; the cohort is large enough.")
        page.get_by_role("button", name="Decide", exact=True).click()
        page.get_by_text("Decided (0010,0040)").wait_for(timeout=PAGE_TIMEOUT_MS)
        _settle(page)
        progress = page.get_by_text("Decided 1 / ").first.inner_text()
        grid = page.locator(".st-key-consensus-history_table [data-testid=\"stDataFrame\"]")
        grid.locator('[role="gridcell"]').first.wait_for(state="attached")
        history = grid.text_content() or ""
    except PlaywrightError as exc:
        tab.fail("consensus", exc)
    assert "tags where the profiles disagree" in progress, progress
    assert "Ada Committee (unverified)" in history, history
    decisions = DecisionStore(tab.server.data_dir).current(CONSENSUS_NAME)
    assert list(decisions) == ["(0010,0040)"], decisions
    decision = decisions["(0010,0040)"]
    assert decision.decider == "Ada Committee" and decision.reason.startswith("Sex is needed")
    assert _exceptions(tab) == 0, _context(tab)
    settings = DecisionStore(tab.server.data_dir).settings(CONSENSUS_NAME)
    assert settings is not None and list(settings.profile_ids) == AI4HI

    try:  # a reload is a new session: the URL reopens the consensus with its profiles
        assert f"consensus={CONSENSUS_NAME}" in page.url, page.url
        page.reload(wait_until="domcontentloaded")
        _show(tab, "Consensus", "Worklist")
        page.get_by_text("Decided 1 / ").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        name = page.get_by_label("Consensus name (the consensus profile's id)",
                                 exact=True).input_value()
        chosen = page.locator(".st-key-consensus-profiles").first.inner_text()
    except PlaywrightError as exc:
        tab.fail("consensus-reload", exc)
    assert name == CONSENSUS_NAME
    assert all(pid in chosen for pid in AI4HI), chosen  # the profile set, reopened
    assert "ps315_basic" not in chosen and "ctp_basic" not in chosen, chosen
    assert _exceptions(tab) == 0, _context(tab)
    try:  # the consensus profile and its CTP script, made when the buttons are clicked
        saved = {}
        for key in ("consensus-toml_download", "consensus-ctp_download"):
            saved[key] = _download(page, key, tmp_path)
    except PlaywrightError as exc:
        tab.fail("consensus-save", exc)
    profile = load_profile_text(saved["consensus-toml_download"].read_text(encoding="utf-8"),
                                name=f"{CONSENSUS_NAME}.toml")
    assert profile.id == CONSENSUS_NAME and profile.provenance.value == "consensus"
    rule = next(r for r in profile.rules if r.matcher.describe() == "(0010,0040)")
    assert (rule.action.value, rule.decided_by) == (decision.new_action,
                                                    "Ada Committee (unverified)")
    script = saved["consensus-ctp_download"].read_text(encoding="utf-8")
    assert saved["consensus-ctp_download"].name == f"{CONSENSUS_NAME}.script"
    assert '<script>' in script and 't="00100040"' in script, script[:500]

    try:  # the picture: the Patient tags of the worklist, one decided, and the decision
        _fill(page, "Keyword or tag contains", "PatientS")
        page.get_by_role("heading", name="Worklist").evaluate(
            "element => element.scrollIntoView({block: 'start'})")
        time.sleep(0.5)
    except PlaywrightError as exc:
        tab.fail("consensus-picture", exc)
    _screenshot(tab, "consensus")


def _cli(*args: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DEID_SECRET")}
    done = subprocess.run([sys.executable, "-m", "deid", *args], cwd=REPO_ROOT, check=False,
                          capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr


def test_signoff_report_renders_offline_with_the_risk_figures(
        tab: Tab, browser: Browser, tmp_path: Path) -> None:
    page = tab.page
    try:
        _nav(page, "Profiles").click()
        _show(tab, "Profiles", "Read a profile")
        _choose(page, "Profile", f"{SIGNED} (reconstructed)")
        page.get_by_text("Sign-off report of primage").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        _fill(page, REVIEWER, "Dr DPO")
        _choose(page, "Decision", "approved")
        page.get_by_role("button", name="Record the sign-off").click()
        page.get_by_text("Recorded: approved by Dr DPO (unverified)").wait_for(
            timeout=PAGE_TIMEOUT_MS)
        _settle(page)
        report = _download(page, "profiles-signoff_download", tmp_path)
    except PlaywrightError as exc:
        tab.fail("signoff", exc)
    assert report.name == f"signoff_{SIGNED}.html"
    assert _exceptions(tab) == 0, _context(tab)

    # the figures equal the command line's risk tables for the same files and profile
    _cli("risk", *SAMPLE, "--profiles", SIGNED, "--out", str(tmp_path / "risk"),
         "--format", "csv", "--ephemeral-secret")
    findings = pd.read_csv(tmp_path / "risk" / "residual_risk.csv")
    kanon = pd.read_csv(tmp_path / "risk" / "k_anonymity.csv")
    coverage = pd.read_csv(tmp_path / "risk" / "aryanto_coverage.csv")
    figures = read_figures(report.read_text(encoding="utf-8"))
    assert figures["n_findings"] == len(findings)
    assert figures["findings_by_kind"] == findings["risk_kind"].value_counts().to_dict()
    assert figures["k_anonymity"] == {
        row.quasi_identifiers: {"k_min": row.k_min, "n_records": row.n_records,
                                "n_records_below_k": row.n_records_below_k,
                                "k_threshold": row.k_threshold} for row in kanon.itertuples()}
    assert figures["aryanto_untouched"] == int(coverage["n_untouched"].iloc[0])
    _cli("signoff-report", "--profile", SIGNED, *SAMPLE, "--out", str(tmp_path / "cli.html"),
         "--ephemeral-secret", "--data-dir", str(tmp_path / "cli-data"))
    from_cli = read_figures((tmp_path / "cli.html").read_text(encoding="utf-8"))
    # the dashboard's record holds an earlier sign-off of another version (planted above)
    assert figures.pop("previous_sha256") == "0" * 64 and from_cli.pop("previous_sha256") is None
    assert figures.pop("n_changed_since_signed") is from_cli.pop("n_changed_since_signed") is None
    assert from_cli == figures  # the same files (same digest), rules, risks and figures

    # opened from disk, it renders with no request at all and shows those figures
    viewer = browser.new_page(viewport=VIEWPORT)
    requested: list[str] = []

    def record(route: Route, request: Request) -> None:
        if request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            requested.append(request.url)
            route.abort()

    viewer.route("**/*", record)
    try:
        viewer.goto(report.as_uri(), wait_until="load")
        heading = viewer.locator("h1").inner_text()
        counts = viewer.locator("h2:has-text('2. Residual risks') + p").inner_text()
        shown = _html_table(viewer, "h2:has-text('6. k-anonymity') + table")
        text = viewer.locator("body").inner_text()
        sign_block = text.split("9. Sign-off")[1]
        ARTIFACTS.mkdir(exist_ok=True)
        viewer.screenshot(path=ARTIFACTS / "signoff_report.png")
        viewer.pdf(path=tmp_path / "report.pdf")
    finally:
        viewer.close()
    assert not requested, f"the report asked for {requested}"
    assert heading.startswith("Sign-off report:"), heading
    assert f"({len(findings):,} findings over the files" in counts, counts
    assert text.index("Conclusion") < text.index("1. The data reviewed")
    shown_rows = {row["Quasi-identifiers"]: (int(row["Smallest group (k_min)"]),
                                             int(row["Patients in groups below k"]))
                  for row in shown}
    assert shown_rows == {row.quasi_identifiers: (row.k_min, row.n_records_below_k)
                          for row in kanon.itertuples()}
    assert "Dr DPO (unverified)" in sign_block and "approved" in sign_block
    assert "\u2610 approved" in sign_block  # the reviewer's tick box, none ticked
    assert (tmp_path / "report.pdf").stat().st_size > 10_000


def _html_table(page: Page, selector: str) -> list[dict[str, str]]:
    """The rows of an HTML table as the browser shows them, by column header."""
    table = page.locator(selector)
    headers = [h.strip() for h in table.locator("th").all_inner_texts()]
    rows = []
    for row in table.locator("tbody tr").all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        rows.append(dict(zip(headers, cells, strict=True)))
    return rows


def _outside_elements(page: Page) -> list[str]:
    """Links, images and other elements of the page that point at another host."""
    found: list[str] = page.evaluate(
        """host => Array.from(document.querySelectorAll('[href], [src], [srcset]'))
              .map(e => e.getAttribute('href') || e.getAttribute('src')
                   || e.getAttribute('srcset') || '')
              .filter(url => url.includes(host))""", ATTACKER)
    return found


def _planted_shown_as_text(tab: Tab, where: str) -> None:
    """The planted text is on the page as text, and nothing on the page points outside."""
    page = tab.page
    page.get_by_text("Session expired: sign in", exact=False).filter(visible=True).first.wait_for(
        timeout=PAGE_TIMEOUT_MS)
    assert not _outside_elements(page), (where, _outside_elements(page))
    assert not tab.outside, (where, tab.outside)
    assert _exceptions(tab) == 0, f"an exception box is on {where}{_context(tab)}"


def test_planted_markdown_is_shown_as_text_everywhere(tab: Tab) -> None:
    page = tab.page
    try:
        # an uploaded profile whose title, description and reasons carry the attack
        _nav(page, "Profiles").click()
        _show(tab, "Profiles", "Read a profile")
        page.locator(".st-key-profiles-upload input[type=file]").set_input_files(files=[{
            "name": "hostile.toml", "mimeType": "application/toml",
            "buffer": HOSTILE_PROFILE.encode()}])
        _settle(page)
        page.get_by_role("button", name="Add the profile").click()
        page.get_by_text("Added hostile_profile").wait_for(timeout=PAGE_TIMEOUT_MS)
        _settle(page)
        _planted_shown_as_text(tab, "Profiles (uploaded profile)")
        heading = page.get_by_role("heading").filter(has_text="Session expired").first
        shown = heading.inner_text().replace(WORD_JOINER, "")
        assert f"[Session expired: sign in](https://{ATTACKER}/login)" in shown, shown
        _screenshot(tab, "injection_profiles")

        # the decision record: decider, reason and consensus name
        _nav(page, "Consensus").click()
        _show(tab, "Consensus", "Worklist")
        _fill(page, "Consensus name (the consensus profile's id)", HOSTILE_CONSENSUS)
        _fill(page, "Keyword or tag contains", "PatientSex")
        _choose(page, "Tag (or click a row above)", "(0010,0040) PatientSex")
        page.get_by_text("Decided: empty by").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        _planted_shown_as_text(tab, "Consensus")
        names = page.get_by_text("Consensus names in this record").first.inner_text()
        assert f"https://{ATTACKER}/login" in names.replace(WORD_JOINER, ""), names
        _screenshot(tab, "injection_consensus")

        # an error message quoting what was typed
        _nav(page, "Load").click()
        _show(tab, "Load", "Loaded")
        page.get_by_role("tab", name="Folder").click()
        _fill(page, "Folder on this machine (read recursively)", PLANTED)
        page.get_by_role("button", name="Load the folder").click()
        page.locator('[data-testid="stAlertContentError"]').first.wait_for(
            timeout=PAGE_TIMEOUT_MS)
        _settle(page)
        _planted_shown_as_text(tab, "Load (error message)")

        # every page, with the hostile profile active and the record as it is
        for title, _, ready in PAGES:
            _nav(page, title).click()
            _show(tab, title, ready)
            assert not _outside_elements(page), (title, _outside_elements(page))
            assert _exceptions(tab) == 0, f"an exception box is on {title}{_context(tab)}"
    except PlaywrightError as exc:
        tab.fail("injection", exc)
    assert not tab.outside, f"the page tried to reach other hosts: {tab.outside}"


def test_load_a_scan_dataset(tab: Tab, tmp_path: Path) -> None:
    """A dataset written by ``report --cluster`` opens on Load (no DICOM read) and the risk
    and tag pages show its tables; the sample is loaded again afterwards."""
    dataset = tmp_path / "dataset"
    _cli("report", str(REPO_ROOT / "data" / "sample" / "files"), "--profiles",
         "chaimeleon_images_w_ecrfs,eucanimage", "--include-values", "--ephemeral-secret",
         "--out", str(dataset), "--cluster", "local:2")
    page = tab.page
    try:
        _nav(page, "Load").click()
        _show(tab, "Load", "Loaded")
        page.get_by_role("tab", name="Scan dataset").click()
        _fill(page, "Folder of a scan dataset on this machine", str(dataset))
        page.get_by_role("button", name="Open the dataset").click()
        page.get_by_text("Loaded scan dataset").wait_for(timeout=PAGE_TIMEOUT_MS)
        _settle(page)
        metrics = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        source = page.get_by_text("Read from the dataset's tables").count()
        _screenshot(tab, "load-dataset")
        for title, path, ready in PAGES[1:]:
            if path == "audit":
                continue
            _nav(page, title).click()
            _show(tab, title, ready)
            assert _exceptions(tab) == 0, f"an exception box is on {title}{_context(tab)}"
            if path == "risk":
                note = page.get_by_text("From the scan dataset").count()
        _nav(page, "Load").click()
        _show(tab, "Load", "Loaded")
        page.get_by_role("tab", name="Bundled sample").click()
        page.get_by_role("button", name="Load the bundled sample").click()
        page.get_by_text("Loaded bundled sample").wait_for(timeout=PAGE_TIMEOUT_MS)
        _settle(page)
    except PlaywrightError as exc:
        tab.fail("dataset", exc)
    n_files = len(list((REPO_ROOT / "data" / "sample" / "files").glob("*.dcm")))
    assert metrics[:1] == [str(n_files)], metrics
    assert source == 1 and note >= 1
    assert _exceptions(tab) == 0, _context(tab)


def test_no_request_left_this_machine(tab: Tab) -> None:
    assert not tab.outside, f"the page tried to reach other hosts: {tab.outside}"
