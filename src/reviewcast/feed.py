"""Episode records → the show's RSS feed (feed/feed.xml), built with feedgen 1.0.0.

The feed carries Apple's itunes: tags, the Podcasting 2.0 namespace (podcast:guid, locked,
chapters, transcript) and Podlove Simple Chapters (psc:). The same records always give the
same bytes: nothing here reads the clock, so golden files can pin the output.

feedgen 1.0.0 has defects this module works around; each is marked ``feedgen 1.0.0 defect``
where it is handled, and tests/test_feed.py has a test for each:

1. ``itunes_explicit`` accepts only yes/no/clean, while Apple wants "true"/"false".
2. The channel's ``itunes_image`` silently drops a URL that does not end in .jpg/.png
   (it builds a ValueError and never raises it); the item's raises instead.
3. An enclosure without a length is written as ``length="None"``.
4. ``pubDate`` raises on a naive datetime.
5. lastBuildDate defaults to the wall clock and cannot be unset.
6. ``itunes_category`` puts the category into an XPath expression unescaped, so a quote in it
   raises.
7. No Podcasting 2.0 or Podlove Simple Chapters tags at all.
8. ``feedgen.util`` uses ``lxml.etree`` without importing it, so ``feedgen.ext.*`` cannot be
   imported first.
9. The channel's <link> is the last link given to ``link()``, not the first as documented.

feedgen writes the channel; each item is built by ``_add_item`` as feedgen and its podcast
extension would order it (feedgen's entries took 1 s of CPU at 10,000 episodes), so defects 1–4
are handled there for items. Each item is serialised alone and spliced into the channel's bytes,
so the show's index (index.py) can keep the items of unchanged episodes between renders.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

# feedgen 1.0.0 defect 8: feedgen.util does `import lxml` and then uses lxml.etree, so importing
# feedgen.ext.* first fails unless lxml.etree is already loaded. (lxml ships no type hints.)
import lxml.etree  # type: ignore[import-untyped]
from feedgen.ext.base import BaseExtension
from feedgen.ext.podcast import PodcastExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from reviewcast import __version__
from reviewcast.config import CONFIG_NAME, ShowConfig
from reviewcast.errors import ConfigError, ReviewcastError
from reviewcast.fsutil import WriteError, atomic_write_bytes
from reviewcast.models import EpisodeRecord

FEED_PATH = "feed/feed.xml"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
PSC_NS = "http://podlove.org/simple-chapters"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
CHAPTERS_JSON_TYPE = "application/json+chapters"
VTT_TYPE = "text/vtt"
SRT_TYPE = "application/x-subrip"
#: Apple's limits: the show description in bytes, and most other values in characters.
DESCRIPTION_MAX_BYTES = 4000
SUBTITLE_MAX_CHARS = 255
SUMMARY_MAX_CHARS = 4000

# Characters XML 1.0 forbids (C0 controls except tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) and
# the C1 controls, which are legal but only ever appear in text as mis-decoded bytes. lxml
# refuses the former outright ("All strings must be XML compatible").
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def build_feed(
    config: ShowConfig,
    records: Sequence[EpisodeRecord],
    *,
    artwork_url: str,
    items: ItemCache | None = None,
) -> bytes:
    """The RSS feed for ``records`` as UTF-8 bytes; newest episode first.

    ``items`` gives the serialised items of episodes it has seen before, and keeps the others.
    """
    _check_unique_guids(records)
    ordered = sorted(records, key=lambda r: (_aware(r.pub_date), r.number), reverse=True)
    # The channel is feedgen's; the items are built here, each serialised alone (feedgen's
    # entries took 1 s of CPU for 10,000 episodes), and the feed is the channel's bytes with the
    # items' bytes spliced in before its end tag: the bytes lxml writes for the whole tree (the
    # order of elements and attributes of feedgen 1.0.0 and the extensions above; the golden
    # files and tests/test_index.py compare). So an unchanged episode's item can come from
    # ``items``, the show's index, instead of being built and serialised again.
    rss, doc = _channel(config, ordered, artwork_url=artwork_url)
    head: bytes = lxml.etree.tostring(
        doc, pretty_print=True, encoding="UTF-8", xml_declaration=True
    )
    if not ordered:
        return head
    if not head.endswith(_CHANNEL_END):  # pragma: no cover - lxml changed how it indents
        raise AssertionError(f"the channel does not end as expected: {head[-40:]!r}")
    context = item_context(config)
    writer = _ItemWriter(config, rss.nsmap)
    parts: list[bytes | memoryview] = [head[: -len(_CHANNEL_END)]]
    for record in ordered:
        item = items.item(record, context) if items is not None else None
        if not item:
            made = writer.item(record)
            if items is not None:
                items.learn_item(record, context, made)
            item = made
        parts.append(item)
    parts.append(_CHANNEL_END)
    return b"".join(parts)


def _channel(
    config: ShowConfig, ordered: Sequence[EpisodeRecord], *, artwork_url: str
) -> tuple[Any, Any]:
    """feedgen's tree of the feed without its items, ``ordered`` newest first: its root (<rss>)
    and its document."""
    fg = FeedGenerator()
    # The subclasses below keep feedgen's podcast extension and fix what it gets wrong.
    fg.register_extension("podcast", ApplePodcastExtension, None)
    fg.register_extension("podcastindex", PodcastIndexExtension, None)
    fg.register_extension("psc", SimpleChaptersExtension, None)

    title = _clean(config.title).strip()
    if not title:  # show.toml allows a title of control characters only; feedgen would crash
        raise ConfigError(
            "'title' holds no characters a feed can carry (only control characters); "
            "give the show a name",
            path=config.root / CONFIG_NAME,
        )
    fg.title(title)
    # RSS requires a description (feedgen refuses to write the feed without one).
    description = _clean(config.description).strip() or title
    fg.description(_truncate_bytes(description, DESCRIPTION_MAX_BYTES))
    fg.language(config.language)
    # feedgen 1.0.0 defect 9: <link> is the *last* link given (its comment says the first), so
    # the self link must come before the site's.
    fg.link(href=config.feed_url, rel="self", type="application/rss+xml")
    fg.link(href=config.site_url, rel="alternate")
    fg.image(url=artwork_url, title=title, link=config.site_url)
    if config.copyright:
        fg.copyright(_clean(config.copyright))
    fg.generator(f"reviewcast {__version__}")
    if ordered:
        newest = _aware(ordered[0].pub_date)
        fg.pubDate(newest)
        # The newest episode, not the wall clock: the same records must give the same bytes.
        fg.lastBuildDate(newest)
    else:
        # feedgen 1.0.0 defect 5: lastBuildDate is "now" unless set; an empty show has no date
        # to give, so the element is dropped (see _NoBuildDateExtension).
        fg.register_extension("nobuilddate", _NoBuildDateExtension, None)

    apple: ApplePodcastExtension = fg.podcast
    apple.itunes_author(_clean(config.author_name))
    if config.owner_email:
        owner_name = _clean(config.owner_name or config.author_name).strip() or title
        apple.itunes_owner(name=owner_name, email=_clean(config.owner_email))
    apple.itunes_type(config.show_type)
    apple.image_url = artwork_url
    apple.explicit = config.explicit
    apple.category = tuple(_clean(c) for c in config.categories if c)

    index: PodcastIndexExtension = fg.podcastindex
    index.guid = config.podcast_guid
    index.locked = config.locked
    index.locked_owner = _clean(config.owner_email)

    rss, doc = fg._create_rss()
    return rss, doc


def write_feed(
    config: ShowConfig,
    records: Sequence[EpisodeRecord],
    *,
    artwork_url: str,
    items: ItemCache | None = None,
) -> Path:
    """Write feed/feed.xml under the show folder atomically and return its path."""
    target = config.root / FEED_PATH
    data = build_feed(config, records, artwork_url=artwork_url, items=items)
    try:
        atomic_write_bytes(target, data)
    except WriteError as exc:  # the disk is full, feed/ is read-only, …
        raise WriteError(f"{exc.detail}. The previous feed is unchanged.", path=target) from exc
    return target


class ItemCache(Protocol):
    """Where serialised items of unchanged episodes are kept between renders (index.ShowIndex)."""

    def item(self, record: EpisodeRecord, context: str) -> bytes | memoryview | None:
        """The item made earlier for ``record`` in ``context``, if any."""

    def learn_item(self, record: EpisodeRecord, context: str, item: bytes) -> None:
        """Keep ``item``, just made for ``record`` in ``context``."""


def item_context(config: ShowConfig) -> str:
    """What an item's bytes depend on besides its record: the settings _add_item reads, this
    module's code and the lxml (libxml2) that serialises it."""
    return repr((_item_code(), config.base, config.explicit, config.language))


@functools.cache
def _item_code() -> str:
    digest = hashlib.sha256(repr((lxml.etree.LXML_VERSION, lxml.etree.LIBXML_VERSION)).encode())
    # A change to _add_item must not leave items made by the old code in the index, even
    # without a new version number (an editable install).
    with contextlib.suppress(OSError):
        digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


#: How the serialised channel ends; the items go before it.
_CHANNEL_END = b"  </channel>\n</rss>\n"
_CHANNEL_START = b"<channel>\n"


class _ItemWriter:
    """Serialises one item as it appears in the whole feed: inside an <rss> root with the feed's
    namespace prefixes and a <channel>, so its indentation and prefixes are the feed's."""

    def __init__(self, config: ShowConfig, nsmap: dict[str | None, str]) -> None:
        self._config = config
        self._root = lxml.etree.Element("rss", nsmap=nsmap)
        self._channel = lxml.etree.SubElement(self._root, "channel")

    def item(self, record: EpisodeRecord) -> bytes:
        """The <item> of ``record``: its lines, indented as in the feed, with their newlines."""
        try:
            _add_item(self._channel, self._config, record)
            data: bytes = lxml.etree.tostring(self._root, pretty_print=True, encoding="UTF-8")
        finally:
            del self._channel[:]  # the next item is made alone again, even after an error
        # The root's start tag holds only namespace declarations (no "<" in them), so the first
        # "<channel>" is the channel's own.
        start = data.index(_CHANNEL_START) + len(_CHANNEL_START)
        if not data.endswith(_CHANNEL_END):  # pragma: no cover - lxml changed how it indents
            raise AssertionError(f"an item does not end as expected: {data[-40:]!r}")
        return data[start : -len(_CHANNEL_END)]


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _add_item(channel: Any, config: ShowConfig, record: EpisodeRecord) -> None:
    """The episode's <item>, appended to ``channel``."""
    item = _sub(channel, "item")
    # Apple wants no surrounding spaces, and an item without a title is no episode to Apple.
    _sub(item, "title", _clean(record.title).strip() or f"Episode {record.number}")
    notes = _cdata_html(record.notes_html)
    # Apple asks for HTML in CDATA, in <description> and <content:encoded> alike.
    _sub(item, "description", lxml.etree.CDATA(notes))
    _sub(item, f"{{{CONTENT_NS}}}encoded", lxml.etree.CDATA(notes))
    _sub(item, "guid", _clean(record.guid), isPermaLink="false")
    # The exact size, always (feedgen 1.0.0 defect 3 wrote a missing one as "None").
    _sub(
        item,
        "enclosure",
        url=_url(config, record.audio),
        length=str(record.length),
        type="audio/mpeg",
    )
    _sub(item, "pubDate", _rfc2822(_aware(record.pub_date)))

    reviewer = _clean(record.reviewer or "").strip()
    if reviewer:
        _sub(item, f"{{{ITUNES_NS}}}author", reviewer)
    _sub(item, f"{{{ITUNES_NS}}}duration", str(_whole_seconds(record.duration)))
    summary = _clean(record.summary)
    if summary:
        _sub(item, f"{{{ITUNES_NS}}}subtitle", _truncate_chars(summary, SUBTITLE_MAX_CHARS))
        _sub(item, f"{{{ITUNES_NS}}}summary", _truncate_chars(summary, SUMMARY_MAX_CHARS))
    if record.number:
        _sub(item, f"{{{ITUNES_NS}}}episode", str(record.number))
    _sub(item, f"{{{ITUNES_NS}}}episodeType", "full")
    if record.cover:
        _sub(item, f"{{{ITUNES_NS}}}image", href=_url(config, record.cover))
    # A clean episode in a show marked explicit would tell Apple something the show denies.
    explicit = record.explicit or config.explicit
    _sub(item, f"{{{ITUNES_NS}}}explicit", _true_false(explicit))

    if record.chapters_json:
        _sub(
            item,
            f"{{{PODCAST_NS}}}chapters",
            url=_url(config, record.chapters_json),
            type=CHAPTERS_JSON_TYPE,
        )
    language = _clean(record.language or config.language)
    for path, mime in ((record.transcript_vtt, VTT_TYPE), (record.transcript_srt, SRT_TYPE)):
        if path:
            # Both formats are timed, so players may show them as captions (spec: rel).
            _sub(
                item,
                f"{{{PODCAST_NS}}}transcript",
                url=_url(config, path),
                type=mime,
                language=language,
                rel="captions",
            )
    if record.chapters:  # Podlove Simple Chapters 1.2
        chapters = _sub(item, f"{{{PSC_NS}}}chapters", version="1.2")
        for chapter in record.chapters:
            start, title = _npt(chapter.start), _clean(chapter.title)
            _sub(chapters, f"{{{PSC_NS}}}chapter", start=start, title=title)


def _sub(parent: Any, tag: str, text: Any = None, **attributes: str) -> Any:
    element = lxml.etree.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _rfc2822(date: dt.datetime) -> str:
    """``date`` as RSS wants it, in English whatever the locale (feedgen switched the process's
    locale twice an item for this)."""
    day, month = _DAYS[date.weekday()], _MONTHS[date.month - 1]
    return f"{day}, {date.strftime('%d')} {month} {date.strftime('%Y %H:%M:%S %z')}"


# -- feedgen extensions -------------------------------------------------------------------


class ApplePodcastExtension(PodcastExtension):  # type: ignore[misc]
    """feedgen's itunes: channel tags, with the image, explicit flag and category done right."""

    def __init__(self) -> None:
        super().__init__()
        self.image_url = ""
        self.explicit: bool | None = None
        self.category: tuple[str, ...] = ()

    def extend_rss(self, rss_feed: Any) -> Any:
        """Add feedgen's itunes: tags, then the ones it cannot write."""
        super().extend_rss(rss_feed)
        channel = rss_feed[0]
        # feedgen 1.0.0 defect 2: itunes_image() silently ignores any URL not ending in
        # .jpg/.png (a query string, ".jpeg"); Apple only asks that the type match the file.
        if self.image_url:
            xml_elem(f"{{{ITUNES_NS}}}image", channel).set("href", self.image_url)
        # feedgen 1.0.0 defect 1: itunes_explicit() rejects "true"/"false", Apple's values.
        if self.explicit is not None:
            _text_elem(channel, f"{{{ITUNES_NS}}}explicit", _true_false(self.explicit))
        # feedgen 1.0.0 defect 6: itunes_category() breaks on a quote in the category name.
        parent = channel
        for name in self.category:
            parent = xml_elem(f"{{{ITUNES_NS}}}category", parent)
            parent.set("text", name)
        return rss_feed


class PodcastIndexExtension(BaseExtension):  # type: ignore[misc]
    """Podcasting 2.0 channel tags: podcast:guid and podcast:locked (feedgen 1.0.0 defect 7)."""

    def __init__(self) -> None:
        self.guid = ""
        self.locked: bool | None = None
        self.locked_owner = ""

    def extend_ns(self) -> dict[str, str]:
        """The podcast: prefix, with the namespace URI the spec asks publishers to use."""
        return {"podcast": PODCAST_NS}

    def extend_rss(self, rss_feed: Any) -> Any:
        """Add podcast:guid and podcast:locked to the channel."""
        channel = rss_feed[0]
        if self.guid:
            _text_elem(channel, f"{{{PODCAST_NS}}}guid", self.guid)
        if self.locked is not None:
            locked = _text_elem(channel, f"{{{PODCAST_NS}}}locked", "yes" if self.locked else "no")
            if self.locked_owner:
                locked.set("owner", self.locked_owner)
        return rss_feed


class SimpleChaptersExtension(BaseExtension):  # type: ignore[misc]
    """Declares the psc: prefix on the feed; the chapters themselves are per item."""

    def extend_ns(self) -> dict[str, str]:
        """The psc: prefix of Podlove Simple Chapters."""
        return {"psc": PSC_NS}


class _NoBuildDateExtension(BaseExtension):  # type: ignore[misc]
    """Drops the wall-clock lastBuildDate that feedgen 1.0.0 always writes (defect 5)."""

    def extend_rss(self, rss_feed: Any) -> Any:
        channel = rss_feed[0]
        for element in channel.findall("lastBuildDate"):
            channel.remove(element)
        return rss_feed


# -- helpers ------------------------------------------------------------------------------


def _text_elem(parent: Any, tag: str, text: str) -> Any:
    element = xml_elem(tag, parent)
    element.text = text
    return element


def _true_false(value: bool) -> str:
    return "true" if value else "false"


def _clean(text: str) -> str:
    """``text`` without the characters XML cannot carry."""
    return _XML_INVALID.sub("", text)


def _cdata_html(html: str) -> str:
    # "]]>" would end a CDATA section early. In HTML, "]]&gt;" means the same in text and in
    # attribute values, so the notes stay what they were (and no lxml version can trip on it).
    # A CR cannot be escaped inside CDATA and XML parsers turn it into LF anyway; say so here.
    text = _clean(html).replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("]]>", "]]&gt;")


def _truncate_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    ellipsis = "…"
    cut = data[: limit - len(ellipsis.encode("utf-8"))].decode("utf-8", "ignore")
    return cut.rstrip() + ellipsis


def _truncate_chars(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _url(config: ShowConfig, relative: str) -> str:
    return config.url_for(_clean(relative))


def _aware(value: dt.datetime) -> dt.datetime:
    # Records are meant to hold aware datetimes; a naive one is taken as UTC rather than
    # crashing the whole feed.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _whole_seconds(seconds: float) -> int:
    return round(seconds) if math.isfinite(seconds) and seconds > 0 else 0


def _npt(seconds: float) -> str:
    """Normal Play Time as Podlove Simple Chapters writes it: HH:MM:SS.mmm."""
    millis = round(seconds * 1000) if math.isfinite(seconds) and seconds > 0 else 0
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _check_unique_guids(records: Sequence[EpisodeRecord]) -> None:
    seen: dict[str, str] = {}
    for record in records:
        other = seen.setdefault(record.guid, record.slug)
        if other != record.slug:
            raise ReviewcastError(
                f"episodes '{other}' and '{record.slug}' have the same guid {record.guid!r}; "
                "podcast apps would show only one of them. Give one of them a new guid in its "
                "episodes/<slug>/episode.json."
            )
