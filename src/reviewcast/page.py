"""The show's web page, feed/index.html: cover, subscribe links, and every episode to play.

The page is the template ``index.html.j2`` (a show's own templates/ overrides it), with the small
stylesheet and script it includes, ``page.css`` and ``page.js``, inlined so that the page is one
file that works on any static host. Links to the show's files are relative to the page
(``../episodes/<slug>/…``) so that it works under ``reviewcast serve``, on any host and even when
base_url is wrong; only the subscribe block shows the feed's public URL, config.feed_url, because
that is what podcast apps must be given.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup

from reviewcast.config import ShowConfig
from reviewcast.errors import ReviewcastError
from reviewcast.fsutil import atomic_write_text
from reviewcast.models import EpisodeRecord
from reviewcast.templates import environment, render
from reviewcast.transcript import format_timestamp

PAGE_TEMPLATE = "index.html.j2"
#: Where the page is written, relative to the show folder; links from it start with "../".
PAGE_PATH = "feed/index.html"
#: The feed beside the page.
FEED_HREF = "feed.xml"
_UP = "../"  # from feed/ back to the show folder's published root


@dataclass(frozen=True)
class AppLink:
    """A link that opens the feed in a podcast app."""

    name: str
    href: str


@dataclass(frozen=True)
class SeekPoint:
    """A moment of an episode a listener can jump to: a chapter or a transcript caption."""

    start: float
    text: str

    @property
    def time(self) -> str:
        """The start as shown: MM:SS, or HH:MM:SS from an hour on."""
        return format_timestamp(self.start)

    @property
    def seconds(self) -> str:
        """The start for the page's script (data-start): seconds, at most 3 decimals."""
        return _number(self.start)


@dataclass(frozen=True)
class EpisodeView:
    """One episode as the page template sees it; ``record`` has every stored field."""

    record: EpisodeRecord
    anchor: str  # the article's id, for links to one episode
    audio_href: str
    cover_href: str | None
    transcript_href: str | None
    date_iso: str
    date_text: str
    duration_iso: str
    duration_text: str
    notes: Markup
    chapters: tuple[SeekPoint, ...]
    captions: tuple[SeekPoint, ...]


#: The page shows the newest episodes; older ones are in the feed, which podcast apps read.
PAGE_EPISODES = 100


def render_page(config: ShowConfig, records: Sequence[EpisodeRecord], *, artwork_url: str) -> str:
    """The show's web page as HTML, episodes newest first.

    ``artwork_url`` is the cover's URL as the feed gives it; under base_url it becomes a link
    relative to the page.
    """
    env = environment(config.root)
    # The shared environment escapes only names ending in .html, and ours end in .html.j2;
    # every HTML template of the page is escaped, the included .css/.js are not (they are code).
    env.autoescape = _autoescape
    newest = _newest_first(records)
    # A page of 10,000 episodes with every transcript was 102 MB; the feed lists them all.
    episodes = [_episode_view(config, record) for record in newest[:PAGE_EPISODES]]
    return render(
        env,
        PAGE_TEMPLATE,
        show=config,
        feed_url=config.feed_url,
        feed_href=FEED_HREF,
        artwork_href=page_href(config, artwork_url),
        apps=subscribe_links(config.feed_url),
        episodes=episodes,
        older=len(newest) - len(episodes),
    )


def write_page(config: ShowConfig, records: Sequence[EpisodeRecord], *, artwork_url: str) -> Path:
    """Write feed/index.html atomically and return its path."""
    target = config.root / PAGE_PATH
    text = render_page(config, records, artwork_url=artwork_url)
    try:
        atomic_write_text(target, text)
    except OSError as exc:
        raise ReviewcastError(
            f"could not write the web page: {exc.strerror or exc}", path=target
        ) from exc
    return target


def subscribe_links(feed_url: str) -> list[AppLink]:
    """Links that open ``feed_url`` in the common podcast apps, then the feed itself.

    The last link is relative, like every link of the page to the show's own files: it opens
    the feed that sits beside the page wherever the page is served.
    """
    bare = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", feed_url)
    return [
        AppLink("Apple Podcasts", "podcasts://" + bare),
        AppLink("Pocket Casts", "pktc://subscribe/" + bare),
        AppLink("AntennaPod", "antennapod-subscribe://" + feed_url),
        # A query parameter: the feed URL's own ?, & and = must not end it early.
        AppLink("Overcast", "overcast://x-callback-url/add?url=" + quote(feed_url, safe=":/")),
        AppLink("Other podcast apps", "podcast://" + bare),
        AppLink("RSS feed", FEED_HREF),
    ]


def page_href(config: ShowConfig, url: str) -> str:
    """``url`` relative to the page when it lies under base_url; otherwise unchanged."""
    if url.startswith(config.base):
        return _UP + url[len(config.base) :]
    return url


def read_captions(text: str) -> list[SeekPoint]:
    """The captions of a WebVTT file as plain text with their start times, in file order.

    Tolerant: cue identifiers, NOTE/STYLE/REGION blocks and cue settings are skipped, cue
    markup (<v Speaker>, <i>) is dropped and character references are decoded.
    """
    captions = []
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip("\n").split("\n")
        for index, line in enumerate(lines[:2]):  # an optional identifier, then the timing
            match = _TIMING.match(line)
            if match is None:
                continue
            words = " ".join(html.unescape(_TAG.sub("", cue)) for cue in lines[index + 1 :])
            words = " ".join(words.split())
            if words:
                captions.append(SeekPoint(_vtt_seconds(match[1]), words))
            break
    return captions


# -- helpers ------------------------------------------------------------------------------

_TIMING = re.compile(r"\s*((?:\d+:)?\d{1,2}:\d{2}\.\d{1,3})\s+-->\s+(?:\d+:)?\d{1,2}:\d{2}\.\d")
_TAG = re.compile(r"<[^>]*>")


def _autoescape(name: str | None) -> bool:
    return name is None or name.endswith((".html", ".htm", ".html.j2", ".htm.j2"))


def _newest_first(records: Sequence[EpisodeRecord]) -> list[EpisodeRecord]:
    def key(record: EpisodeRecord) -> tuple[dt.datetime, int, str]:
        date = record.pub_date
        # A naive datetime cannot be compared with an aware one; records are meant to be aware.
        return (date if date.tzinfo else date.replace(tzinfo=dt.UTC), record.number, record.slug)

    return sorted(records, key=key, reverse=True)


def _episode_view(config: ShowConfig, record: EpisodeRecord) -> EpisodeView:
    captions: tuple[SeekPoint, ...] = ()
    transcript_href = None
    if record.transcript_vtt:
        captions = tuple(_captions_of(config.root / record.transcript_vtt))
        transcript_href = _file_href(record.transcript_vtt) if captions else None
    chapters = tuple(
        SeekPoint(chapter.start, chapter.title)
        for chapter in sorted(record.chapters, key=lambda chapter: chapter.start)
    )
    return EpisodeView(
        record=record,
        anchor="episode-" + re.sub(r"\s+", "-", record.slug),
        audio_href=_file_href(record.audio),
        cover_href=_file_href(record.cover) if record.cover else None,
        transcript_href=transcript_href,
        date_iso=record.pub_date.isoformat(),
        date_text=f"{record.pub_date.day} {record.pub_date:%B %Y}",
        duration_iso=_iso_duration(record.duration),
        duration_text=_duration_text(record.duration),
        # notes_html is HTML that publish.py rendered from our own template: trusted.
        notes=Markup(record.notes_html),
        chapters=chapters,
        captions=captions,
    )


def _captions_of(path: Path) -> list[SeekPoint]:
    # A transcript that cannot be read leaves the episode without one on the page: the page
    # is rebuilt with the feed, and one lost file should not keep every other episode off it.
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return read_captions(text)


def _file_href(relative: str) -> str:
    """A path relative to the show folder as a URL relative to the page, percent-encoded."""
    return _UP + quote(relative.replace("\\", "/").removeprefix("./"), safe="/")


def _vtt_seconds(stamp: str) -> float:
    *hours, minutes, seconds = stamp.split(":")
    return int(hours[0] if hours else 0) * 3600 + int(minutes) * 60 + float(seconds)


def _number(seconds: float) -> str:
    text = f"{max(0.0, seconds):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _iso_duration(seconds: float) -> str:
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{secs}S"


def _duration_text(seconds: float) -> str:
    """'45 s', '12 min', '1 h 05 min': what a listener wants to know before pressing play."""
    if seconds < 59.5:
        return f"{max(0, round(seconds))} s"
    minutes = max(1, math.floor(seconds / 60 + 0.5))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
