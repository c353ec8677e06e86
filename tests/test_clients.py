"""Real podcast clients against `reviewcast serve`: the feed works where listeners use it.

Each test renders the sample review with the tone engine into a show whose base_url is a free
loopback port, serves it with `reviewcast serve`'s own app under uvicorn, and points a client at
it over HTTP:

- gPodder's command-line client ``gpo`` (Debian package ``gpodder``): subscribe, update,
  download; then a changed review is rendered again and the episode is updated, not duplicated;
- podcastparser (what gPodder parses with) and feedparser (PyPI);
- podcast-partytime (npm; tests/js/parse.mjs), a Podcasting 2.0 parser.

A client that is not installed skips its test and says how to install it; with the environment
variable CI set a missing client fails instead, so CI cannot pass without running them
(.ci/install-clients installs them: ``apt-get install gpodder`` and ``npm ci`` in tests/js).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import podcastparser
import pytest

from reviewcast.cli import main
from reviewcast.config import ShowConfig, load_config
from reviewcast.models import Chapter, EpisodeRecord
from reviewcast.records import load_records

from .conftest import SAMPLES, listening_socket, serving

JS = Path(__file__).resolve().parent / "js"
PARTYTIME = JS / "node_modules" / "podcast-partytime"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
OWNER = "owner@example.org"
HTTP_TIMEOUT = 10  # seconds; loopback answers in milliseconds, so this only bounds a hang
CLIENT_TIMEOUT = 60


def require_client(missing: str | None) -> None:
    """Skip the test when its client is missing, with how to install it; in CI, fail instead."""
    if missing is None:
        return
    message = f"{missing} (.ci/install-clients installs it)"
    if IN_CI:
        pytest.fail(f"CI is set, so this client must be installed: {message}")
    pytest.skip(message)


# -- a served show ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """A rendered show served over loopback HTTP."""

    root: Path
    base: str  # http://127.0.0.1:PORT/, also the show's base_url

    @property
    def config(self) -> ShowConfig:
        return load_config(self.root)

    @property
    def feed_url(self) -> str:
        return self.base + "feed/feed.xml"

    def record(self) -> EpisodeRecord:
        (record,) = load_records(self.root)
        return record

    def url(self, relative: str | None) -> str:
        assert relative is not None
        return self.config.url_for(relative)


def new_show(root: Path) -> Path:
    """What the conftest `show` and `sample_review` fixtures make, for a module-scoped show."""
    assert main(["init", str(root), "--title", "Spin Cycle", "--quiet"]) == 0
    (root / "voices" / "default.toml").write_text(
        'engine = "tone"\nvoice = "test"\nrate = 160\n', encoding="utf-8"
    )
    for name in ("tron-ares-ost.txt", "tron-ares-ost.tracks.txt"):
        shutil.copy(SAMPLES / name, root / "reviews" / name)
    return root


def set_setting(show: Path, key: str, value: str) -> None:
    """Set one string setting in the show's show.toml (which `reviewcast init` wrote)."""
    settings = show / "show.toml"
    text, count = re.subn(
        rf"^{key} = .*$",
        f"{key} = {json.dumps(value)}",
        settings.read_text(encoding="utf-8"),
        flags=re.M,
    )
    assert count == 1, f"show.toml has no single '{key} = ' line to change"
    settings.write_text(text, encoding="utf-8")


def render(show: Path, *paths: str) -> None:
    assert main(["render", "--show", str(show), "-q", *paths]) == 0


@contextlib.contextmanager
def served(show: Path) -> Iterator[Served]:
    """Render ``show`` for a free loopback port and serve it there with `reviewcast serve`'s app."""
    sock, base = listening_socket()
    # The feed's URLs come from base_url, so it must name this server before rendering.
    set_setting(show, "base_url", base)
    # podcast:locked carries the owner's e-mail only when there is one (see the partytime test).
    set_setting(show, "owner_email", OWNER)
    render(show)
    with serving(show, sock):
        yield Served(show, base)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One served sample show for the parsers, which only read it."""
    with served(new_show(tmp_path_factory.mktemp("clients") / "show")) as show:
        yield show


def get(url: str) -> tuple[str, bytes]:
    """The Content-Type and body of a 200 answer to GET ``url``."""
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
        assert response.status == 200, url
        return response.headers.get_content_type(), response.read()


def npt_millis(chapter: Chapter) -> int:
    """The chapter's start as the feed's psc:chapter writes it, in whole milliseconds."""
    return round(chapter.start * 1000)


def whole_seconds(chapter: Chapter) -> int:
    """What podcastparser makes of the chapter's start: it drops the fraction of a second."""
    return npt_millis(chapter) // 1000


# -- gPodder ----------------------------------------------------------------------------------


class Gpo:
    """gPodder's command-line client with its own settings, database and downloads folder."""

    def __init__(self, folder: Path) -> None:
        self.home = folder / "gpodder"
        self.downloads = folder / "downloads"
        env = {
            k: v
            for k, v in os.environ.items()
            # gpo is Debian's /usr/bin/python3 program: keep this virtualenv out of its imports,
            # and any proxy out of its loopback requests.
            if k.upper() not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
            and not k.lower().endswith("_proxy")
        }
        env.update(
            GPODDER_HOME=str(self.home),
            GPODDER_DOWNLOAD_DIR=str(self.downloads),
            HOME=str(folder),  # nothing of gPodder's lands in the real home folder
            NO_PROXY="127.0.0.1,localhost",
            PYTHONIOENCODING="utf-8",
        )
        self.env = env

    def __call__(self, *args: str) -> str:
        """Run ``gpo ARGS``; its output, after checking that it reported no error."""
        result = subprocess.run(
            ["gpo", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            check=False,
        )
        output = result.stdout + result.stderr
        # gpo exits 0 even when it fails, printing the error (and often a traceback) instead.
        assert result.returncode == 0, output
        assert "Traceback" not in output and "[FAILED]" not in output, output
        return result.stdout

    def episodes(self) -> list[dict[str, Any]]:
        """The rows of gPodder's episode table, read from its SQLite database."""
        db = sqlite3.connect(f"file:{self.home / 'Database'}?mode=ro", uri=True, timeout=5)
        try:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute("SELECT * FROM episode")]
        finally:
            db.close()

    def podcast_urls(self) -> list[str]:
        db = sqlite3.connect(f"file:{self.home / 'Database'}?mode=ro", uri=True, timeout=5)
        try:
            return [row[0] for row in db.execute("SELECT url FROM podcast")]
        finally:
            db.close()

    def downloaded(self) -> list[Path]:
        return sorted(p for p in self.downloads.rglob("*") if p.is_file())


def gpodder_chapters(record: EpisodeRecord) -> list[dict[str, Any]]:
    """The chapters gPodder stores: podcastparser's reading of psc:chapters, as JSON."""
    return [{"start": whole_seconds(c), "title": c.title} for c in record.chapters]


def test_gpodder_subscribes_downloads_and_follows_a_changed_episode(
    show: Path, sample_review: Path, tmp_path: Path
) -> None:
    require_client(None if shutil.which("gpo") else "gpo is not on PATH: apt-get install gpodder")
    listener = Gpo(tmp_path / "listener")  # downloads the episode
    follower = Gpo(tmp_path / "follower")  # subscribes from the web page and downloads nothing
    with served(show) as site:
        first = site.record()
        assert first.chapters and first.transcript_vtt

        assert "Successfully added" in listener("subscribe", site.feed_url)
        assert "1 new episode" in listener("update")
        assert "1 episodes downloaded." in listener("download")
        (downloaded,) = listener.downloaded()
        assert downloaded.read_bytes() == (show / first.audio).read_bytes()
        (row,) = listener.episodes()
        assert row["guid"] == first.guid
        assert row["url"] == site.url(first.audio)
        assert (row["file_size"], row["mime_type"]) == (first.length, "audio/mpeg")
        assert row["published"] == int(first.pub_date.timestamp())
        assert row["total_time"] == round(first.duration)
        # gPodder reads the Podlove Simple Chapters and keeps them in its database (whole
        # seconds: podcastparser drops the fraction).
        assert json.loads(row["chapters"]) == gpodder_chapters(first)

        # The address of the show's web page is enough: gPodder finds the feed from its
        # <link rel="alternate"> and subscribes to the feed itself.
        assert "Successfully added" in follower("subscribe", site.base + "feed/")
        assert follower.podcast_urls() == [site.feed_url]
        assert "1 new episode\n" in follower("update")

        # The review changes: a new, content-named MP3 under the same guid.
        sample_review.write_text(
            sample_review.read_text(encoding="utf-8").replace("procrastination", "delay"),
            encoding="utf-8",
        )
        render(show, str(sample_review))
        second = site.record()
        assert second.guid == first.guid
        assert second.audio != first.audio and not (show / first.audio).exists()
        assert second.length != first.length  # else the size checks below prove nothing

        # Updated in place, not a second episode, for both (gpo counts episodes neither
        # downloaded nor dismissed as new: the follower's one episode is still the only one).
        assert "0 new episodes" in listener("update")
        assert "1 new episode\n" in follower("update")
        for gpo in (listener, follower):
            (row,) = gpo.episodes()
            assert row["guid"] == second.guid
            assert row["url"] == site.url(second.audio)
            assert json.loads(row["chapters"]) == gpodder_chapters(second)
        # gPodder keeps a downloaded episode's size as downloaded (gPodder issue #648), and it
        # does not fetch the new audio by itself: the listener still has the first file.
        (row,) = listener.episodes()
        assert row["file_size"] == first.length
        assert listener.downloaded() == [downloaded]
        (row,) = follower.episodes()
        assert row["file_size"] == second.length

        # Deleting the old download and downloading again fetches the new audio from the new URL.
        listener("delete", site.feed_url, second.guid)
        assert listener.downloaded() == []
        assert "1 episodes downloaded." in listener("download", site.feed_url, second.guid)
        (again,) = listener.downloaded()
        assert again.read_bytes() == (show / second.audio).read_bytes()
        (row,) = listener.episodes()
        assert (row["url"], row["file_size"]) == (site.url(second.audio), second.length)


# -- Python parsers ---------------------------------------------------------------------------


def test_podcastparser_reads_the_served_feed(published: Served) -> None:
    record = published.record()
    with urllib.request.urlopen(published.feed_url, timeout=HTTP_TIMEOUT) as response:
        feed = podcastparser.parse(published.feed_url, response)
    assert feed["title"] == "Spin Cycle"
    (episode,) = feed["episodes"]
    assert episode["guid"] == record.guid
    assert episode["enclosures"] == [
        {
            "url": published.url(record.audio),
            "file_size": record.length,
            "mime_type": "audio/mpeg",
        }
    ]
    assert episode["published"] == int(record.pub_date.timestamp())
    assert episode["total_time"] == round(record.duration)
    assert episode["chapters"] == [
        {"start": whole_seconds(c), "title": c.title} for c in record.chapters
    ]
    # podcastparser maps the podcast: prefix only for the namespace's GitHub URI, not for
    # https://podcastindex.org/namespace/1.0, the URI the namespace's documentation names and
    # our feed uses: it sees neither our transcripts nor our chapters JSON. Its psc:chapters
    # (above) are what gPodder shows.
    assert "transcript_url" not in episode
    assert "chapters_json_url" not in episode


def test_feedparser_reads_the_served_feed(published: Served) -> None:
    record = published.record()
    config = published.config
    # feedparser fetches the feed itself (urllib, with no timeout of its own).
    default_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(HTTP_TIMEOUT)
    try:
        feed = feedparser.parse(published.feed_url)
        by_etag = feedparser.parse(published.feed_url, etag=feed.etag)
        by_date = feedparser.parse(published.feed_url, modified=feed.modified)
    finally:
        socket.setdefaulttimeout(default_timeout)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.status == 200
    assert feed.headers["content-type"].startswith("application/rss+xml")
    # Podcast apps poll with the validators they were given: an unchanged feed costs a 304.
    assert (by_etag.status, by_etag.entries) == (304, [])
    assert (by_date.status, by_date.entries) == (304, [])

    assert feed.feed.podcast_guid == config.podcast_guid
    # feedparser keeps an element's attributes or its text, not both: the lock's "yes" is lost.
    assert feed.feed.podcast_locked == {"owner": OWNER}
    (entry,) = feed.entries
    assert entry.id == record.guid and not entry.guidislink
    assert entry.enclosures == [
        {"href": published.url(record.audio), "length": str(record.length), "type": "audio/mpeg"}
    ]
    assert tuple(entry.published_parsed)[:6] == record.pub_date.utctimetuple()[:6]
    chapters = entry.psc_chapters["chapters"]
    assert [(c["title"], c["start_parsed"]) for c in chapters] == [
        (c.title, dt.timedelta(milliseconds=npt_millis(c))) for c in record.chapters
    ]
    assert entry.podcast_chapters == {
        "url": published.url(record.chapters_json),
        "type": "application/json+chapters",
    }
    # feedparser keeps the attributes of only the last of repeated podcast:transcript
    # elements: the SRT. The VTT before it is lost to feedparser's users.
    assert entry.podcast_transcript == {
        "url": published.url(record.transcript_srt),
        "type": "application/x-subrip",
        "language": "en",
        "rel": "captions",
    }


# -- podcast-partytime (Node) -------------------------------------------------------------------


def test_partytime_reads_podcasting_2_0_tags(published: Served, tmp_path: Path) -> None:
    require_client(
        None
        if shutil.which("node")
        else "node is not on PATH: apt-get install nodejs npm, then npm ci in tests/js"
    )
    require_client(None if PARTYTIME.is_dir() else f"{PARTYTIME} is missing: run npm ci in {JS}")
    record = published.record()
    config = published.config
    output = tmp_path / "partytime.json"
    result = subprocess.run(
        ["node", "parse.mjs", published.feed_url, str(output)],
        cwd=JS,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # partytime logs (pino, to stdout) and warns (to stderr) about tags it cannot use, such as
    # a transcript type it does not know: it had nothing to say about this feed.
    assert (result.stdout.strip(), result.stderr.strip()) == ("", "")
    feed = json.loads(output.read_text(encoding="utf-8"))

    assert feed["guid"] == config.podcast_guid
    # partytime reads podcast:locked only when it has an owner attribute (the show's
    # owner_email); a show without one has its lock ignored by partytime.
    assert feed["locked"] is True
    assert feed["podcastOwner"] == OWNER
    (item,) = feed["items"]
    assert item["guid"] == record.guid
    assert item["enclosure"] == {
        "url": published.url(record.audio),
        "length": record.length,
        "type": "audio/mpeg",
    }
    assert item["pubDate"] == record.pub_date.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert item["podcastChapters"] == {
        "url": published.url(record.chapters_json),
        "type": "application/json+chapters",
    }
    assert item["podcastTranscripts"] == [
        {
            "url": published.url(record.transcript_vtt),
            "type": "text/vtt",
            "language": "en",
            "rel": "captions",
        },
        # partytime names SRT application/srt whatever the feed calls it (application/x-subrip).
        {
            "url": published.url(record.transcript_srt),
            "type": "application/srt",
            "language": "en",
            "rel": "captions",
        },
    ]
    assert {"transcript", "chapters"} <= set(feed["pc20support"]["1"])

    # An app fetches what partytime pointed it to: each URL answers with what it claims to be.
    kind, body = get(item["podcastChapters"]["url"])
    assert kind == "application/json+chapters"
    assert [c["title"] for c in json.loads(body)["chapters"]] == [c.title for c in record.chapters]
    kind, body = get(item["podcastTranscripts"][0]["url"])
    assert kind == "text/vtt" and body.startswith(b"WEBVTT")
    kind, body = get(item["podcastTranscripts"][1]["url"])
    assert kind == "application/x-subrip" and body.split(maxsplit=1)[0] == b"1"
