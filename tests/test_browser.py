"""The web page in a real browser: headless Chromium (Debian's) driven by Playwright.

The show is served by `reviewcast serve`'s own app under uvicorn on a free loopback port, with
two episodes whose MP3s ffmpeg makes here. CI needs the Debian package ``chromium`` and the
PyPI package ``playwright`` (no ``playwright install``: the system Chromium is used); without
either the tests skip and say which is missing.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reviewcast.models import Chapter, Cue, EpisodeRecord
from reviewcast.page import write_page
from reviewcast.transcript import webvtt

from .conftest import listening_socket, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_MISSING = [
    what
    for what, ok in (
        (f"{CHROMIUM} (apt-get install chromium)", CHROMIUM.exists()),
        (
            "the playwright package (pip install playwright)",
            bool(importlib.util.find_spec("playwright")),
        ),
    )
    if not ok
]
pytestmark = pytest.mark.skipif(
    bool(_MISSING), reason="browser tests need " + " and ".join(_MISSING)
)

TIMEOUT_MS = 10_000


def _mp3(target: Path, *, seconds: int, frequency: int) -> None:
    import imageio_ffmpeg

    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={frequency}:duration={seconds}",
            "-ac",
            "1",
            "-ar",
            "44100",
            "-b:a",
            "64k",
            str(target),
        ],
        check=True,
        timeout=60,
    )


def _png(target: Path, colour: str) -> None:
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (300, 300), colour).save(target)


def _episode(
    root: Path,
    slug: str,
    *,
    day: int,
    number: int,
    seconds: int,
    frequency: int,
    chapters: tuple[Chapter, ...],
) -> EpisodeRecord:
    folder = f"episodes/{slug}"
    _mp3(root / folder / f"{slug}.mp3", seconds=seconds, frequency=frequency)
    _png(root / folder / "cover.png", "#335577")
    cues = [
        Cue(float(i * 4), float(i * 4 + 4), f"Sentence {i} of {slug}.", "review")
        for i in range(seconds // 4)
    ]
    (root / folder / "transcript.vtt").write_text(webvtt(cues), encoding="utf-8")
    return EpisodeRecord(
        slug=slug,
        guid=f"guid-{slug}",
        source=f"reviews/{slug}.md",
        title=f"Review: {slug.replace('-', ' ').title()}",
        summary="A test episode.",
        notes_html=f"<p>A <em>sine</em> at {frequency} Hz.</p>",
        pub_date=dt.datetime(2025, 3, day, 8, 0, tzinfo=dt.UTC),
        number=number,
        duration=float(seconds),
        audio=f"{folder}/{slug}.mp3",
        length=(root / folder / f"{slug}.mp3").stat().st_size,
        cover=f"{folder}/cover.png",
        transcript_vtt=f"{folder}/transcript.vtt",
        chapters=chapters,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A show with two episodes, served by reviewcast.serve under uvicorn; yields the page URL."""
    from reviewcast.config import load_config

    root = tmp_path_factory.mktemp("show")
    sock, base = listening_socket()
    (root / "show.toml").write_text(
        f'title = "Spin Cycle"\ndescription = "Music reviews, read aloud."\nbase_url = "{base}"\n',
        encoding="utf-8",
    )
    newest = _episode(
        root,
        "tron-ares",
        day=10,
        number=2,
        seconds=20,
        frequency=440,
        chapters=(
            Chapter("Introduction", 0.0, 5.0, kind="intro"),
            Chapter("Init", 5.0, 12.0, track_number=1),
            Chapter("Derezzed", 12.0, 20.0, track_number=2),
        ),
    )
    older = _episode(
        root,
        "discovery",
        day=3,
        number=1,
        seconds=16,
        frequency=660,
        chapters=(Chapter("Introduction", 0.0, 8.0, kind="intro"), Chapter("Voyager", 8.0, 16.0)),
    )
    _png(root / "feed" / "cover.png", "#aa3366")
    write_page(load_config(root), [older, newest], artwork_url=base + "feed/cover.png")

    with serving(root, sock):
        yield base + "feed/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Page:
    """A browser tab on the page that records every console error and uncaught exception."""

    def __init__(self, browser: Any, url: str, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.tab = self.context.new_page()
        self.tab.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.tab.on("console", self._console)
        self.tab.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.tab.on("requestfailed", self._failed)
        self.tab.on("response", self._response)
        self.tab.goto(url, wait_until="load")

    def _failed(self, request: Any) -> None:
        # With preload="metadata" Chromium aborts a media download once it has what it needs.
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"request failed: {request.url} {request.failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"console {message.type}: {message.text}")

    def audio(self, anchor: str) -> Any:
        return self.tab.locator(f"#{anchor} audio")

    def wait_metadata(self, anchor: str) -> None:
        self.tab.wait_for_function(f"document.querySelector('#{anchor} audio').readyState >= 1")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Page]:
    tab = Page(browser, site, viewport={"width": 900, "height": 1000})
    try:
        yield tab
    finally:
        tab.close()


def test_page_loads_without_errors_and_players_know_their_episodes(page: Page) -> None:
    tab = page.tab
    assert tab.title() == "Spin Cycle"
    assert tab.locator("article h3").all_inner_texts() == ["Review: Tron Ares", "Review: Discovery"]
    page.wait_metadata("episode-tron-ares")
    page.wait_metadata("episode-discovery")
    assert page.audio("episode-tron-ares").evaluate("a => a.duration") == pytest.approx(20, abs=0.3)
    assert page.audio("episode-discovery").evaluate("a => a.duration") == pytest.approx(16, abs=0.3)
    # The cover art loaded (not a broken image).
    assert tab.locator("img.cover").evaluate("img => img.naturalWidth") == 300
    assert page.errors == []


def test_clicking_a_chapter_seeks_that_episodes_player(page: Page) -> None:
    tab = page.tab
    page.wait_metadata("episode-tron-ares")
    chapter = tab.get_by_role("button", name="00:12 Derezzed")
    chapter.click()
    tab.wait_for_function(
        "(() => { const a = document.querySelector('#episode-tron-ares audio');"
        " return a.currentTime > 11 && !a.seeking; })()"
    )
    position = page.audio("episode-tron-ares").evaluate("a => a.currentTime")
    assert position == pytest.approx(12, abs=0.5)
    # The other episode's player did not move.
    assert page.audio("episode-discovery").evaluate("a => a.currentTime") == 0
    assert chapter.get_attribute("data-start") == "12"

    # The other episode's chapter seeks its own player, and only one player plays at a time.
    tab.get_by_role("button", name="00:08 Voyager").click()
    tab.wait_for_function(
        "(() => { const a = document.querySelector('#episode-discovery audio');"
        " return a.currentTime > 7 && !a.seeking; })()"
    )
    assert page.audio("episode-discovery").evaluate("a => a.currentTime") == pytest.approx(
        8, abs=0.5
    )
    assert page.audio("episode-tron-ares").evaluate("a => a.paused") is True
    assert page.errors == []


def test_transcript_opens_and_its_times_seek(page: Page) -> None:
    tab = page.tab
    transcript = tab.locator("#episode-tron-ares details.transcript")
    assert transcript.locator(".captions").is_visible() is False
    transcript.locator("summary").click()
    first = transcript.locator(".captions li").first
    assert first.is_visible()
    assert " ".join(first.inner_text().split()) == "00:00 Sentence 0 of tron-ares."
    transcript.get_by_role("button", name="Play from 00:08").click()
    tab.wait_for_function(
        "(() => { const a = document.querySelector('#episode-tron-ares audio');"
        " return a.currentTime > 7 && !a.seeking; })()"
    )
    assert page.audio("episode-tron-ares").evaluate("a => a.currentTime") == pytest.approx(
        8, abs=0.5
    )
    assert page.errors == []


def test_copy_button_copies_the_feed_url(browser: Any, site: str) -> None:
    page = Page(browser, site, permissions=["clipboard-read", "clipboard-write"])
    try:
        tab = page.tab
        feed_url = site + "feed.xml"
        assert tab.get_by_label("Paste this address into your podcast app:").input_value() == (
            feed_url
        )
        tab.get_by_role("button", name="Copy").click()
        tab.wait_for_function("document.getElementById('copy-status').textContent !== ''")
        assert tab.locator("#copy-status").inner_text() == "Copied the feed address."
        assert tab.evaluate("navigator.clipboard.readText()") == feed_url
        assert page.errors == []
    finally:
        page.close()


def test_page_fits_a_phone(browser: Any, site: str) -> None:
    page = Page(browser, site, viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        width = page.tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, "the page scrolls sideways on a phone"
        audio_box = page.audio("episode-tron-ares").bounding_box()
        assert audio_box is not None and audio_box["width"] > 250
        assert page.errors == []
    finally:
        page.close()
