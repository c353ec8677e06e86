"""`reviewcast check`: lint a show the way a podcast directory would see it.

The lint reads what subscribers get — feed/feed.xml, parsed by a strict XML parser, and the
files its URLs point at — rather than trusting the episode records the feed was built from.
Rules follow Apple's "A Podcaster's Guide to RSS" (required and recommended tags, artwork,
the 4000-byte description), the Podcasting 2.0 namespace (podcast:guid, locked, chapters,
transcript) and Apple's loudness advice (−16 LUFS, true peak at most −1 dBTP).

Every finding names where it is (``feed``, ``channel`` or an episode) and says what to do.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import math
import os
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeGuard
from urllib.parse import unquote, urlsplit

from reviewcast.config import ShowConfig, load_config
from reviewcast.errors import ReviewcastError
from reviewcast.feed import (
    CHAPTERS_JSON_TYPE,
    DESCRIPTION_MAX_BYTES,
    FEED_PATH,
    ITUNES_NS,
    PODCAST_NS,
    SRT_TYPE,
    VTT_TYPE,
)
from reviewcast.models import EpisodeRecord
from reviewcast.records import load_records

ATOM_NS = "http://www.w3.org/2005/Atom"
#: Apple's loudness advice for podcasts; the show's own target is checked against it.
APPLE_LOUDNESS = -16.0
LOUDNESS_TOLERANCE = 1.0  # LU either side of the target
ARTWORK_MIN, ARTWORK_MAX = 1400, 3000
#: itunes:duration may differ from the audio by rounding; more than this is a stale value.
DURATION_TOLERANCE = 2.0

_RENDER_ALL = "run `reviewcast render` to rebuild the show"
_REWRITE_FEED = "run `reviewcast render` to write the feed again"
_LANGUAGE = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*")


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, where ("feed", "channel" or an episode), and what to do about it."""

    level: Literal["error", "warning"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def check_show(show_root: Path, *, loudness: bool = True) -> list[Finding]:
    """Lint the show at ``show_root`` as a podcast directory would; findings in feed order.

    ``loudness=False`` skips measuring each episode's loudness, the one check that decodes audio.
    """
    config = load_config(show_root)
    lint = _Lint(config)
    records = lint.records()
    channel = lint.channel()
    if channel is None:
        return lint.findings
    lint.check_channel(channel)
    items = channel.findall("item")
    if not items:
        lint.warn("channel", f"the feed lists no episodes yet; {_RENDER_ALL}.")
    episodes = lint.check_items(items, records)
    if loudness:
        lint.check_loudness(episodes)
    return lint.findings


# -- the checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Episode:
    """An item of the feed as the checks need it."""

    where: str
    record: EpisodeRecord | None
    audio: Path | None  # the enclosure's local file, when it exists


@dataclass
class _Lint:
    config: ShowConfig
    findings: list[Finding] = field(default_factory=list)
    #: False when the episode records could not be read: then no item is blamed for lacking one.
    have_records: bool = True

    def error(self, where: str, message: str) -> None:
        self.findings.append(Finding("error", where, message))

    def warn(self, where: str, message: str) -> None:
        self.findings.append(Finding("warning", where, message))

    # -- inputs ---------------------------------------------------------------------------

    def records(self) -> list[EpisodeRecord]:
        try:
            return load_records(self.config.root)
        except ReviewcastError as error:
            # Without the records the lint still reads the feed; it only loses its hints.
            where = error.path.parent.name if error.path is not None else "episodes"
            self.error(where, str(error))
            self.have_records = False
            return []

    def channel(self) -> ET.Element | None:
        path = self.config.root / FEED_PATH
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.error("feed", f"{FEED_PATH} does not exist; {_RENDER_ALL}.")
            return None
        except OSError as exc:
            self.error("feed", f"{FEED_PATH} cannot be read ({exc.strerror or exc}).")
            return None
        try:
            # ElementTree refuses anything not well-formed and never fetches external entities.
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            self.error("feed", f"{FEED_PATH} is not well-formed XML ({exc}); {_REWRITE_FEED}.")
            return None
        if root.tag != "rss" or root.get("version") != "2.0":
            self.error(
                "feed",
                f'{FEED_PATH} is not an RSS 2.0 document (<rss version="2.0">); {_REWRITE_FEED}.',
            )
            return None
        channel = root.find("channel")
        if channel is None:
            self.error("feed", f"{FEED_PATH} has no <channel>; {_REWRITE_FEED}.")
        return channel

    # -- channel --------------------------------------------------------------------------

    def check_channel(self, channel: ET.Element) -> None:
        where = "channel"
        for tag in ("title", "link", "language"):
            if not _text(channel, tag):
                self.error(where, f"<{tag}> is missing or empty; {_REWRITE_FEED}.")
        language = _text(channel, "language")
        if language and not _LANGUAGE.fullmatch(language):
            self.warn(
                where,
                f"<language> {language!r} is not a language code; set 'language' in "
                "show.toml to one such as 'en' or 'en-US' and run `reviewcast render`.",
            )

        description = _text(channel, "description")
        if not description:
            self.error(
                where,
                "<description> is missing or empty; set 'description' in show.toml and "
                "run `reviewcast render`.",
            )
        elif (size := len(description.encode("utf-8"))) > DESCRIPTION_MAX_BYTES:
            self.error(
                where,
                f"<description> is {size} bytes, over Apple's limit of {DESCRIPTION_MAX_BYTES}; "
                "shorten 'description' in show.toml and run `reviewcast render`.",
            )

        self_links = [
            link for link in channel.findall(f"{{{ATOM_NS}}}link") if link.get("rel") == "self"
        ]
        if not self_links or not self_links[0].get("href"):
            self.error(where, f'<atom:link rel="self"> is missing; {_REWRITE_FEED}.')
        elif (href := self_links[0].get("href")) != self.config.feed_url:
            self.warn(
                where,
                f'<atom:link rel="self"> is {href}, but the feed belongs at '
                f"{self.config.feed_url}; {_REWRITE_FEED}.",
            )

        self._check_explicit(channel, where, required=True)
        category = channel.find(f"{{{ITUNES_NS}}}category")
        if category is None or not (category.get("text") or "").strip():
            self.error(
                where,
                "<itunes:category> is missing; set 'category' in show.toml (e.g. "
                "'Music > Music Commentary') and run `reviewcast render`.",
            )
        if not _text(channel, f"{{{ITUNES_NS}}}author"):
            self.warn(
                where,
                "<itunes:author> is missing; set 'author' in show.toml and run "
                "`reviewcast render`.",
            )
        if not _text(channel, f"{{{ITUNES_NS}}}owner/{{{ITUNES_NS}}}email"):
            self.warn(
                where,
                "<itunes:owner> has no e-mail, which directories use to verify the show; set "
                "'owner_email' in show.toml and run `reviewcast render`.",
            )
        if not _text(channel, f"{{{PODCAST_NS}}}guid"):
            self.warn(where, f"<podcast:guid> is missing; {_REWRITE_FEED}.")
        locked = channel.find(f"{{{PODCAST_NS}}}locked")
        if locked is None or not (locked.text or "").strip():
            self.warn(
                where,
                "<podcast:locked> is missing; set 'locked' in show.toml and run "
                "`reviewcast render`.",
            )
        elif (locked.text or "").strip() == "yes" and not locked.get("owner"):
            # podcast-partytime (and so the apps built on it) ignores a lock with no owner
            self.warn(
                where,
                "<podcast:locked> has no owner, so some apps ignore the lock; set "
                "'owner_email' in show.toml and run `reviewcast render`.",
            )
        for tag in ("pubDate", "lastBuildDate"):
            value = _text(channel, tag)
            if value and (problem := _date_problem(value)):
                self.error(where, f"<{tag}> {value!r} {problem}; {_REWRITE_FEED}.")

        self._check_show_artwork(channel)
        self._check_base_url()
        if not math.isclose(self.config.loudness, APPLE_LOUDNESS, abs_tol=LOUDNESS_TOLERANCE):
            self.warn(
                where,
                f"show.toml sets 'loudness' to {self.config.loudness:g} LUFS; Apple asks for "
                f"{APPLE_LOUDNESS:g} LUFS. Set it to {APPLE_LOUDNESS:g} and render again.",
            )

    def _check_explicit(self, parent: ET.Element, where: str, *, required: bool) -> None:
        value = _text(parent, f"{{{ITUNES_NS}}}explicit")
        if not value:
            if required:
                self.error(
                    where,
                    "<itunes:explicit> is missing; set 'explicit' in show.toml and run "
                    "`reviewcast render`.",
                )
        elif value.lower() in ("yes", "no", "clean"):
            self.warn(where, f"<itunes:explicit> is {value!r}; Apple now wants true or false.")
        elif value.lower() not in ("true", "false"):
            self.error(where, f"<itunes:explicit> is {value!r}, not true or false.")

    def _check_show_artwork(self, channel: ET.Element) -> None:
        where = "channel"
        image = channel.find(f"{{{ITUNES_NS}}}image")
        href = image.get("href", "") if image is not None else ""
        if not href:
            self.error(where, f"<itunes:image href> is missing; {_REWRITE_FEED}.")
            return
        path = self.local(href, where, "<itunes:image>", _RENDER_ALL)
        if path is None:
            return
        if self.config.artwork:
            fix = (
                f"replace '{self.config.artwork}' with a square RGB JPEG or PNG of "
                f"{ARTWORK_MIN}–{ARTWORK_MAX} px (or empty 'artwork' in show.toml for "
                "generated art), then run `reviewcast render`"
            )
        else:
            fix = _RENDER_ALL
        for problem in _artwork_problems(path):
            self.error(where, f"the show's artwork {problem}; {fix}.")

    def _check_base_url(self) -> None:
        host = urlsplit(self.config.base).hostname or ""
        try:
            local = ipaddress.ip_address(host).is_private
        except ValueError:
            local = host == "localhost" or host.endswith((".local", ".localhost"))
        if local:
            self.warn(
                "channel",
                f"every URL starts with {self.config.base}, which podcast apps cannot reach; "
                "set 'base_url' in show.toml to where you publish the show and run "
                "`reviewcast render`.",
            )

    # -- items ----------------------------------------------------------------------------

    def check_items(
        self, items: Sequence[ET.Element], records: Sequence[EpisodeRecord]
    ) -> list[_Episode]:
        by_guid = {r.guid: r for r in records}
        by_url = {self.config.url_for(r.audio): r for r in records}
        guids: dict[str, str] = {}
        enclosures: dict[str, str] = {}
        listed: set[str] = set()
        episodes = []
        for number, item in enumerate(items, start=1):
            title = _text(item, "title")
            guid = _text(item, "guid")
            enclosure = item.find("enclosure")
            url = enclosure.get("url", "") if enclosure is not None else ""
            # The enclosure names the file, so it identifies the episode even when guids clash.
            record = by_url.get(url) or by_guid.get(guid)
            where = record.slug if record else title or f"item {number}"
            redo = _redo(record)
            if record is not None:
                listed.add(record.slug)
            elif self.have_records:
                self.warn(
                    where,
                    "no episodes/*/episode.json describes this episode, so the next render "
                    f"drops it from the feed; {_REWRITE_FEED} now and check the result.",
                )

            if not title:
                self.error(where, f"the episode has no <title>; {redo}.")
            if not guid:
                self.error(where, f"the episode has no <guid>; {redo}.")
            elif guid in guids:
                self.error(
                    where,
                    f"<guid> {guid!r} is also the guid of '{guids[guid]}', so apps would show "
                    "only one of them; give one a new guid in its episode.json and run "
                    "`reviewcast render`.",
                )
            else:
                guids[guid] = where
                guid_element = item.find("guid")
                permalink = (
                    guid_element.get("isPermaLink", "true") if guid_element is not None else ""
                )
                if permalink == "true" and not guid.startswith(("http://", "https://")):
                    self.warn(
                        where,
                        f"<guid> {guid!r} is not a URL but is marked as a permalink "
                        f"(isPermaLink defaults to true); {_REWRITE_FEED}.",
                    )

            pub_date = _text(item, "pubDate")
            if not pub_date:
                self.error(where, f"the episode has no <pubDate>; {redo}.")
            elif problem := _date_problem(pub_date):
                self.error(where, f"<pubDate> {pub_date!r} {problem}; {redo}.")

            audio = self._check_enclosure(enclosure, where, redo, enclosures)
            duration = self._check_duration(item, where, record, audio, redo)
            self._check_explicit(item, where, required=False)
            self._check_item_artwork(item, where, redo)
            self._check_chapters(item, where, redo, duration)
            self._check_transcripts(item, where, redo)
            episodes.append(_Episode(where, record, audio))

        for record in records:
            if record.slug not in listed:
                self.warn(
                    record.slug,
                    f"episodes/{record.slug}/episode.json is published but the feed does not "
                    f"list it; {_REWRITE_FEED}.",
                )
        return episodes

    def _check_enclosure(
        self, enclosure: ET.Element | None, where: str, redo: str, seen: dict[str, str]
    ) -> Path | None:
        if enclosure is None:
            self.error(
                where, f"the episode has no <enclosure>, so there is nothing to play; {redo}."
            )
            return None
        url = enclosure.get("url", "")
        kind = enclosure.get("type", "")
        if kind != "audio/mpeg":
            self.error(
                where, f"the enclosure's type is {kind!r}, not 'audio/mpeg' for an MP3; {redo}."
            )
        if url in seen:
            self.error(
                where,
                f"the enclosure URL is also that of '{seen[url]}'; Apple ignores an episode "
                f"whose file was used before. {_cap(redo)}.",
            )
        elif url:
            seen[url] = where
        path = self.local(url, where, "the enclosure", redo)
        if path is None:
            return None
        size = path.stat().st_size
        length = enclosure.get("length", "")
        if not length.isdigit():
            self.error(
                where, f"the enclosure's length {length!r} is not a number of bytes; {redo}."
            )
        elif int(length) != size:
            self.error(
                where,
                f"the enclosure's length is {int(length)} bytes but {path.name} has {size}; "
                f"apps use it to download and seek. {_cap(redo)}.",
            )
        return path

    def _check_duration(
        self,
        item: ET.Element,
        where: str,
        record: EpisodeRecord | None,
        audio: Path | None,
        redo: str,
    ) -> float | None:
        text = _text(item, f"{{{ITUNES_NS}}}duration")
        actual, source = _mp3_duration(audio), "the audio file"
        if audio is not None and actual is None:
            self.error(where, f"{audio.name} is not an MP3 file that can be read; {redo}.")
        if actual is None and record is not None:
            actual, source = record.duration, "episode.json"
        if not text:
            self.warn(where, f"<itunes:duration> is missing; {redo}.")
            return actual
        duration = _parse_duration(text)
        if duration is None:
            self.error(
                where, f"<itunes:duration> {text!r} is neither seconds nor HH:MM:SS; {redo}."
            )
            return actual
        if duration <= 0:
            self.warn(where, f"<itunes:duration> is {text!r}; {redo}.")
        elif actual is not None and abs(duration - actual) > max(DURATION_TOLERANCE, 0.02 * actual):
            self.warn(
                where,
                f"<itunes:duration> says {duration:g} s but {source} says {actual:.1f} s; {redo}.",
            )
        return duration

    def _check_item_artwork(self, item: ET.Element, where: str, redo: str) -> None:
        image = item.find(f"{{{ITUNES_NS}}}image")
        if image is None:
            return
        path = self.local(image.get("href", ""), where, "the episode's <itunes:image>", redo)
        if path is None:
            return
        # Episode art is optional for Apple, so its flaws only warn.
        for problem in _artwork_problems(path):
            self.warn(where, f"the episode's artwork {problem}; {redo}.")

    def _check_chapters(
        self, item: ET.Element, where: str, redo: str, duration: float | None
    ) -> None:
        element = item.find(f"{{{PODCAST_NS}}}chapters")
        if element is None:
            return
        if element.get("type") != CHAPTERS_JSON_TYPE:
            self.warn(
                where,
                f"<podcast:chapters> has type {element.get('type')!r}, not "
                f"{CHAPTERS_JSON_TYPE!r}; {redo}.",
            )
        path = self.local(element.get("url", ""), where, "the chapters file", redo)
        if path is None:
            return
        try:
            document = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.error(where, f"the chapters file {path.name} is not valid JSON ({exc}); {redo}.")
            return
        for level, problem in _chapters_problems(document, duration):
            finding = f"the chapters file {path.name} {problem}; {redo}."
            (self.error if level == "error" else self.warn)(where, finding)

    def _check_transcripts(self, item: ET.Element, where: str, redo: str) -> None:
        for element in item.findall(f"{{{PODCAST_NS}}}transcript"):
            kind = element.get("type", "")
            if not kind:
                self.error(where, f"a <podcast:transcript> has no type; {redo}.")
            path = self.local(element.get("url", ""), where, "the transcript", redo)
            if path is None:
                continue
            text = path.read_bytes().decode("utf-8", "replace").lstrip("\ufeff")
            if not text.strip():
                self.error(where, f"the transcript {path.name} is empty; {redo}.")
            elif kind == VTT_TYPE and not re.match(r"WEBVTT(?:[ \t\r\n]|$)", text):
                self.error(where, f"the transcript {path.name} does not start with WEBVTT; {redo}.")
            elif kind == SRT_TYPE and "-->" not in text:
                self.error(where, f"the transcript {path.name} has no SRT captions; {redo}.")

    # -- loudness -------------------------------------------------------------------------

    def check_loudness(self, episodes: Sequence[_Episode]) -> None:
        from reviewcast.audio import Loudness, measure_file

        todo = [e for e in episodes if e.audio is not None]

        def measure(episode: _Episode) -> Loudness | ReviewcastError:
            assert episode.audio is not None
            try:
                return measure_file(episode.audio)
            except ReviewcastError as error:
                return error

        # Each measurement is an ffmpeg process, so threads run them in parallel.
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            results = list(pool.map(measure, todo))
        target, ceiling = self.config.loudness, self.config.true_peak
        for episode, result in zip(todo, results, strict=True):
            redo = _redo(episode.record)
            if isinstance(result, ReviewcastError):
                self.error(episode.where, f"its loudness could not be measured: {result}")
                continue
            if not math.isfinite(result.integrated):
                self.error(episode.where, f"the audio is silent; {redo}.")
                continue
            if abs(result.integrated - target) > LOUDNESS_TOLERANCE:
                self.error(
                    episode.where,
                    f"integrated loudness is {result.integrated:.1f} LUFS; podcast apps expect "
                    f"{target:g} ±{LOUDNESS_TOLERANCE:g} LUFS. {_cap(redo)}.",
                )
            if result.true_peak > ceiling:
                self.error(
                    episode.where,
                    f"true peak is {result.true_peak:.1f} dBTP, above the {ceiling:g} dBTP "
                    f"ceiling, so players' decoders may clip. {_cap(redo)}.",
                )

    # -- URLs -----------------------------------------------------------------------------

    def local(self, url: str, where: str, what: str, redo: str) -> Path | None:
        """The show's file at ``url``, or None after a finding says why there is none."""
        base = self.config.base
        parts = urlsplit(url)
        if not url:
            self.error(where, f"{what} has no URL; {redo}.")
            return None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.error(where, f"{what} URL {url!r} is not an absolute http(s) URL; {redo}.")
            return None
        if not url.startswith(base):
            self.error(
                where,
                f"{what} URL {url} is not under base_url {base}, so it points outside the "
                f"published show; {_RENDER_ALL} with the base_url in show.toml.",
            )
            return None
        relative = unquote(urlsplit(url[len(base) :]).path)
        parts_ = PurePosixPath(relative).parts
        if not parts_ or any(part in ("..", ".") for part in parts_):
            self.error(where, f"{what} URL {url} does not name a file of the show; {redo}.")
            return None
        path = self.config.root.joinpath(*parts_)
        if not path.is_file():
            self.error(
                where, f"{what} {relative} does not exist, so its URL is a dead link; {redo}."
            )
            return None
        return path


# -- helpers --------------------------------------------------------------------------------


def _text(parent: ET.Element, path: str) -> str:
    element = parent.find(path)
    return (element.text or "").strip() if element is not None else ""


def _redo(record: EpisodeRecord | None) -> str:
    if record is None:
        return _RENDER_ALL
    return f"re-render it with `reviewcast render {shlex.quote(record.source)}`"


def _cap(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def _date_problem(value: str) -> str | None:
    """Why ``value`` is not an RFC 2822 date with a time zone, or None when it is one."""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError):
        return "is not an RFC 2822 date such as 'Fri, 01 Mar 2024 08:00:00 +0000'"
    if parsed.tzinfo is None:
        return "has no time zone (write +0000 for UTC, not -0000 or nothing)"
    return None


def _parse_duration(text: str) -> float | None:
    """itunes:duration in seconds: "3726", "62:06" or "1:02:06"; None when it is neither."""
    if not re.fullmatch(r"\d+(?:\.\d+)?|\d+:\d{1,2}(?::\d{1,2})?", text):
        return None
    total = 0.0
    for part in text.split(":"):
        total = total * 60 + float(part)
    return total


def _mp3_duration(path: Path | None) -> float | None:
    if path is None:
        return None
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    try:
        # mutagen ships py.typed but leaves MP3 unannotated.
        info: Any = MP3(path).info  # type: ignore[no-untyped-call]
        return float(info.length)
    except (MutagenError, OSError):
        return None


def _artwork_problems(path: Path) -> list[str]:
    """What is wrong with an artwork file by Apple's rules; empty when nothing is."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()  # decodes the pixels, so that a truncated file fails here
            kind, (width, height), mode = image.format or "", image.size, image.mode
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        return [f"{path.name} is not an image that can be read ({exc})"]
    problems = []
    if kind not in ("JPEG", "PNG"):
        problems.append(f"{path.name} is a {kind or 'unknown'} image; apps need JPEG or PNG")
    elif path.suffix.lower() not in ((".jpg", ".jpeg") if kind == "JPEG" else (".png",)):
        problems.append(f"{path.name} is a {kind} image with the wrong file extension")
    if width != height or not ARTWORK_MIN <= width <= ARTWORK_MAX:
        problems.append(
            f"{path.name} is {width}×{height} px; apps need a square image of "
            f"{ARTWORK_MIN}–{ARTWORK_MAX} px"
        )
    if mode != "RGB":
        problems.append(f"{path.name} is in {mode} mode; apps need RGB colour without alpha")
    return problems


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _chapters_problems(
    document: Any, duration: float | None
) -> list[tuple[Literal["error", "warning"], str]]:
    """Problems of a Podcasting 2.0 JSON chapters document (jsonChapters.md)."""
    if not isinstance(document, dict):
        return [("error", "is not a JSON object")]
    problems: list[tuple[Literal["error", "warning"], str]] = []
    if not isinstance(document.get("version"), str):
        problems.append(("error", 'has no "version" string'))
    chapters = document.get("chapters")
    if not isinstance(chapters, list):
        return [*problems, ("error", 'has no "chapters" list')]
    previous = -math.inf
    for index, chapter in enumerate(chapters):
        label = f"chapter {index + 1}"
        if not isinstance(chapter, dict):
            problems.append(("error", f"has a {label} that is not an object"))
            continue
        start = chapter.get("startTime")
        if not _is_number(start) or start < 0:
            problems.append(("error", f"has a {label} without a startTime of 0 or more seconds"))
            continue
        if start < previous:
            problems.append(("error", f"has {label} starting before the one ahead of it"))
        elif duration is not None and start > duration:
            problems.append(("warning", f"has {label} starting after the episode ends"))
        previous = max(previous, start)
        title = chapter.get("title")
        if title is None:
            problems.append(("warning", f"has a {label} without a title"))
        elif not isinstance(title, str):
            problems.append(("error", f"has a {label} whose title is not a string"))
        end = chapter.get("endTime")
        if end is not None and (not _is_number(end) or end < start):
            problems.append(("error", f"has a {label} whose endTime is before its startTime"))
    return problems
