"""The RSS feed: read back by podcastparser, feedparser and a strict XML parser; golden files.

Golden files live in tests/data/feeds/. After an intended change to the feed, regenerate them
with ``REVIEWCAST_REGEN_GOLDEN=1 pytest tests/test_feed.py -k golden`` and review the diff.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import email.utils
import html
import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
import podcastparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewcast import __version__
from reviewcast.config import ShowConfig
from reviewcast.errors import ReviewcastError
from reviewcast.feed import build_feed, write_feed
from reviewcast.models import Chapter, EpisodeRecord

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "psc": "http://podlove.org/simple-chapters",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
BASE = "https://reviews.example.org/podcast/"
ARTWORK = BASE + "feed/artwork.png"
CET = dt.timezone(dt.timedelta(hours=1))
GOLDEN = Path(__file__).parent / "data" / "feeds"


def make_config(root: Path, **changes: Any) -> ShowConfig:
    settings: dict[str, Any] = {
        "title": "Spin Cycle",
        "description": "Album reviews, read aloud.",
        "owner_name": "Ada Reviewer",
        "owner_email": "ada@example.org",
        "base_url": BASE,
        "copyright": "© 2024 Ada Reviewer",
    }
    settings.update(changes)
    return ShowConfig(root=root, **settings)


def make_record(number: int, **changes: Any) -> EpisodeRecord:
    slug = changes.pop("slug", f"episode-{number}")
    record = EpisodeRecord(
        slug=slug,
        guid=f"urn:uuid:00000000-0000-4000-8000-{number:012d}",
        source=f"reviews/{slug}.md",
        title=f"Episode {number}",
        summary=f"Summary of episode {number}.",
        notes_html=f"<p>Notes for <em>episode {number}</em>.</p>",
        pub_date=dt.datetime(2024, 3, number, 8, 0, tzinfo=CET),
        number=number,
        duration=300.0 + number,
        audio=f"episodes/{slug}/{slug}.mp3",
        length=1_000_000 + number,
    )
    return dataclasses.replace(record, **changes)


def rich_record() -> EpisodeRecord:
    return make_record(
        7,
        slug="björk-homogenic",
        title="Björk — Homogenic",
        reviewer="Zoë",
        cover="episodes/björk-homogenic/cover.jpg",
        chapters_json="episodes/björk-homogenic/chapters.json",
        transcript_vtt="episodes/björk-homogenic/transcript.vtt",
        transcript_srt="episodes/björk-homogenic/transcript.srt",
        duration=3725.6,
        chapters=(
            Chapter("Intro", 0.0, 10.5, kind="intro"),
            Chapter("Jóga", 10.5, 3725.25, track_number=3),
            Chapter("Pluto", 3725.25, 3725.6, track_number=9),
        ),
    )


def channel_of(xml: bytes) -> ET.Element:
    root = ET.fromstring(xml)  # strict: any malformed byte raises
    assert root.tag == "rss"
    channel = root.find("channel")
    assert channel is not None
    return channel


def only(element: ET.Element, path: str) -> ET.Element:
    found = element.findall(path, NS)
    assert len(found) == 1, f"{path}: {len(found)} elements"
    return found[0]


def parse_podcast(config: ShowConfig, xml: bytes) -> dict[str, Any]:
    result: dict[str, Any] = podcastparser.parse(config.feed_url, io.BytesIO(xml))
    return result


# -- what the three parsers read back ----------------------------------------------------


def test_channel_read_strictly(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    records = [make_record(1), make_record(3), make_record(2)]
    channel = channel_of(build_feed(config, records, artwork_url=ARTWORK))

    assert only(channel, "title").text == "Spin Cycle"
    assert only(channel, "description").text == "Album reviews, read aloud."
    assert only(channel, "language").text == "en"
    assert only(channel, "link").text == config.site_url == BASE + "feed/"
    self_link = only(channel, "atom:link")
    assert self_link.attrib == {
        "href": BASE + "feed/feed.xml",
        "rel": "self",
        "type": "application/rss+xml",
    }
    assert only(channel, "copyright").text == "© 2024 Ada Reviewer"
    assert only(channel, "generator").text == f"reviewcast {__version__}"
    assert only(channel, "image/url").text == ARTWORK
    assert only(channel, "image/link").text == config.site_url
    assert only(channel, "itunes:image").get("href") == ARTWORK
    assert only(channel, "itunes:author").text == "Ada Reviewer"
    assert only(channel, "itunes:owner/itunes:name").text == "Ada Reviewer"
    assert only(channel, "itunes:owner/itunes:email").text == "ada@example.org"
    assert only(channel, "itunes:type").text == "episodic"
    assert only(channel, "itunes:explicit").text == "false"
    category = only(channel, "itunes:category")
    assert category.get("text") == "Music"
    assert only(category, "itunes:category").get("text") == "Music Commentary"
    assert only(channel, "podcast:guid").text == config.podcast_guid
    locked = only(channel, "podcast:locked")
    assert (locked.text, locked.get("owner")) == ("yes", "ada@example.org")
    newest = email.utils.parsedate_to_datetime(only(channel, "lastBuildDate").text or "")
    assert newest == records[1].pub_date


def test_items_read_strictly(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    record = rich_record()
    channel = channel_of(build_feed(config, [record], artwork_url=ARTWORK))
    item = only(channel, "item")

    assert only(item, "title").text == "Björk — Homogenic"
    assert only(item, "description").text == record.notes_html
    assert only(item, "content:encoded").text == record.notes_html
    guid = only(item, "guid")
    assert (guid.text, guid.get("isPermaLink")) == (record.guid, "false")
    enclosure = only(item, "enclosure")
    assert enclosure.attrib == {
        "url": BASE + "episodes/bj%C3%B6rk-homogenic/bj%C3%B6rk-homogenic.mp3",
        "length": str(record.length),
        "type": "audio/mpeg",
    }
    assert email.utils.parsedate_to_datetime(only(item, "pubDate").text or "") == record.pub_date
    assert only(item, "itunes:duration").text == "3726"
    assert only(item, "itunes:episode").text == "7"
    assert only(item, "itunes:episodeType").text == "full"
    assert only(item, "itunes:explicit").text == "false"
    assert only(item, "itunes:author").text == "Zoë"
    assert only(item, "itunes:summary").text == record.summary
    assert only(item, "itunes:subtitle").text == record.summary
    assert only(item, "itunes:image").get("href") == (
        BASE + "episodes/bj%C3%B6rk-homogenic/cover.jpg"
    )
    chapters = only(item, "podcast:chapters")
    assert chapters.attrib == {
        "url": BASE + "episodes/bj%C3%B6rk-homogenic/chapters.json",
        "type": "application/json+chapters",
    }
    transcripts = [t.attrib for t in item.findall("podcast:transcript", NS)]
    assert transcripts == [
        {
            "url": BASE + "episodes/bj%C3%B6rk-homogenic/transcript.vtt",
            "type": "text/vtt",
            "language": "en",
            "rel": "captions",
        },
        {
            "url": BASE + "episodes/bj%C3%B6rk-homogenic/transcript.srt",
            "type": "application/x-subrip",
            "language": "en",
            "rel": "captions",
        },
    ]
    psc = only(item, "psc:chapters")
    assert psc.get("version") == "1.2"
    assert [c.attrib for c in psc.findall("psc:chapter", NS)] == [
        {"start": "00:00:00.000", "title": "Intro"},
        {"start": "00:00:10.500", "title": "Jóga"},
        {"start": "01:02:05.250", "title": "Pluto"},
    ]


def test_podcastparser_reads_the_feed(tmp_path: Path) -> None:
    config = make_config(tmp_path, explicit=True)
    record = rich_record()
    parsed = parse_podcast(
        config, build_feed(config, [record, make_record(1)], artwork_url=ARTWORK)
    )

    assert parsed["title"] == "Spin Cycle"
    assert parsed["link"] == config.site_url
    assert parsed["cover_url"] == ARTWORK
    assert parsed["explicit"] is True
    assert parsed["type"] == "episodic"
    assert parsed["itunes_owner"] == {"name": "Ada Reviewer", "email": "ada@example.org"}
    assert parsed["itunes_categories"] == [["Music", "Music Commentary"]]
    assert parsed["generator"] == f"reviewcast {__version__}"

    first, second = parsed["episodes"]
    assert first["title"] == "Björk — Homogenic"
    assert first["guid"] == record.guid
    assert first["published"] == int(record.pub_date.timestamp())
    assert first["total_time"] == 3726
    assert first["number"] == 7
    assert first["type"] == "full"
    assert first["explicit"] is True  # the show is explicit, so every episode is
    assert first["itunes_author"] == "Zoë"
    assert first["description_html"] == record.notes_html
    assert first["episode_art_url"] == BASE + "episodes/bj%C3%B6rk-homogenic/cover.jpg"
    assert first["enclosures"] == [
        {
            "url": BASE + "episodes/bj%C3%B6rk-homogenic/bj%C3%B6rk-homogenic.mp3",
            "file_size": record.length,
            "mime_type": "audio/mpeg",
        }
    ]
    # podcastparser reads Podlove Simple Chapters, to whole seconds. (It maps podcast: tags
    # only under the GitHub namespace URI, so the podcastindex.org ones are checked elsewhere.)
    assert first["chapters"] == [
        {"start": 0, "title": "Intro"},
        {"start": 10, "title": "Jóga"},
        {"start": 3725, "title": "Pluto"},
    ]
    assert second["guid"] == make_record(1).guid
    assert "chapters" not in second


def test_feedparser_reads_the_feed(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    record = rich_record()
    parsed = feedparser.parse(build_feed(config, [record], artwork_url=ARTWORK))

    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Spin Cycle"
    assert parsed.feed.link == config.site_url
    assert parsed.feed.image.href == ARTWORK
    assert parsed.feed.podcast_guid == config.podcast_guid
    assert parsed.feed.podcast_locked == {"owner": "ada@example.org"}
    (entry,) = parsed.entries
    assert entry.title == "Björk — Homogenic"
    assert entry.id == record.guid
    assert entry.guidislink is False
    assert entry.content[0].value == record.notes_html
    assert entry.itunes_duration == "3726"
    assert entry.published_parsed[:6] == record.pub_date.astimezone(dt.UTC).timetuple()[:6]
    (enclosure,) = entry.enclosures
    assert (enclosure.href, enclosure.length, enclosure.type) == (
        BASE + "episodes/bj%C3%B6rk-homogenic/bj%C3%B6rk-homogenic.mp3",
        str(record.length),
        "audio/mpeg",
    )
    assert entry.podcast_chapters["url"] == BASE + "episodes/bj%C3%B6rk-homogenic/chapters.json"
    assert [(c.start, c.title) for c in entry.psc_chapters.chapters] == [
        ("00:00:00.000", "Intro"),
        ("00:00:10.500", "Jóga"),
        ("01:02:05.250", "Pluto"),
    ]


# -- order, identity, determinism -------------------------------------------------------


def test_newest_first_and_ties_by_number_descending(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    same_time = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    records = [
        make_record(1),
        make_record(4, pub_date=same_time),
        make_record(5, pub_date=same_time.astimezone(CET)),  # the same instant, other zone
        make_record(2),
        make_record(3, pub_date=dt.datetime(2024, 4, 1, tzinfo=dt.UTC)),
    ]
    parsed = parse_podcast(config, build_feed(config, records, artwork_url=ARTWORK))
    assert [e["number"] for e in parsed["episodes"]] == [5, 4, 3, 2, 1]


def test_same_records_give_identical_bytes(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    records = [rich_record(), make_record(1), make_record(2)]
    first = build_feed(config, records, artwork_url=ARTWORK)
    assert build_feed(config, list(reversed(records)), artwork_url=ARTWORK) == first
    assert build_feed(config, tuple(records), artwork_url=ARTWORK) == first


def test_last_build_date_is_the_newest_episode_not_the_clock(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    old = make_record(1, pub_date=dt.datetime(2001, 9, 1, 6, 30, tzinfo=dt.UTC))
    channel = channel_of(build_feed(config, [old], artwork_url=ARTWORK))
    assert only(channel, "lastBuildDate").text == "Sat, 01 Sep 2001 06:30:00 +0000"
    assert only(channel, "pubDate").text == "Sat, 01 Sep 2001 06:30:00 +0000"


@pytest.mark.parametrize(
    ("feed_url", "expected"),
    [
        # docs/tags/guid.md of the Podcasting 2.0 namespace: these feed URLs give these GUIDs.
        ("https://mp3s.nashownotes.com/pc20rss.xml", "917393e3-1b1e-5cef-ace4-edaa54e1f810"),
        ("http://podnews.net/rss/", "9b024349-ccf0-5f69-a609-6b82873eab3c"),
    ],
)
def test_podcast_guid_matches_the_spec_examples(
    tmp_path: Path, feed_url: str, expected: str
) -> None:
    class HostedElsewhere(ShowConfig):
        @property
        def feed_url(self) -> str:
            return feed_url

    config = HostedElsewhere(root=tmp_path)
    channel = channel_of(build_feed(config, [], artwork_url=ARTWORK))
    assert only(channel, "podcast:guid").text == expected
    assert only(channel, "atom:link").get("href") == feed_url


def test_duplicate_guids_are_refused(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    twin = make_record(2, guid=make_record(1).guid)
    with pytest.raises(ReviewcastError, match="'episode-1' and 'episode-2' have the same guid"):
        build_feed(config, [make_record(1), twin], artwork_url=ARTWORK)


# -- one test per feedgen 1.0.0 defect ----------------------------------------------------


@pytest.mark.parametrize(("show", "episode"), [(False, False), (False, True), (True, False)])
def test_explicit_is_true_or_false(tmp_path: Path, show: bool, episode: bool) -> None:
    # Defect 1: feedgen only accepts yes/no/clean; Apple wants true/false.
    config = make_config(tmp_path, explicit=show)
    xml = build_feed(config, [make_record(1, explicit=episode)], artwork_url=ARTWORK)
    channel = channel_of(xml)
    assert only(channel, "itunes:explicit").text == ("true" if show else "false")
    item_explicit = only(channel, "item/itunes:explicit").text
    assert item_explicit == ("true" if show or episode else "false")
    parsed = parse_podcast(config, xml)
    assert parsed["explicit"] is show
    assert parsed["episodes"][0]["explicit"] is (show or episode)


@pytest.mark.parametrize(
    "artwork",
    [BASE + "feed/artwork.jpeg", BASE + "feed/artwork.png?v=3", BASE + "feed/Artwork.JPG"],
)
def test_artwork_url_is_kept_whatever_its_ending(tmp_path: Path, artwork: str) -> None:
    # Defect 2: feedgen silently drops a channel itunes:image not ending in .jpg/.png.
    config = make_config(tmp_path)
    record = make_record(1, cover="episodes/episode-1/cover.jpeg")
    xml = build_feed(config, [record], artwork_url=artwork)
    channel = channel_of(xml)
    assert only(channel, "itunes:image").get("href") == artwork
    item_image = only(channel, "item/itunes:image").get("href")
    assert item_image == BASE + "episodes/episode-1/cover.jpeg"
    assert parse_podcast(config, xml)["cover_url"] == artwork


def test_enclosure_length_is_exact(tmp_path: Path) -> None:
    # Defect 3: feedgen writes length="None" for an enclosure given without a length.
    config = make_config(tmp_path)
    big = make_record(1, length=5_368_709_121)  # over 4 GiB: no int32 truncation either
    empty = make_record(2, length=0)
    xml = build_feed(config, [big, empty], artwork_url=ARTWORK)
    assert b'length="None"' not in xml
    lengths = [e.get("length") for e in channel_of(xml).findall("item/enclosure")]
    assert lengths == ["0", "5368709121"]


def test_naive_pub_date_is_taken_as_utc(tmp_path: Path) -> None:
    # Defect 4: feedgen raises on naive datetimes.
    config = make_config(tmp_path)
    naive = make_record(1, pub_date=dt.datetime(2024, 6, 1, 12, 0))
    aware = make_record(2, pub_date=dt.datetime(2024, 6, 1, 13, 0, tzinfo=CET))  # 12:00 UTC
    channel = channel_of(build_feed(config, [naive, aware], artwork_url=ARTWORK))
    dates = [only(item, "pubDate").text for item in channel.findall("item")]
    assert dates == ["Sat, 01 Jun 2024 13:00:00 +0100", "Sat, 01 Jun 2024 12:00:00 +0000"]


def test_empty_show_has_no_wall_clock_date(tmp_path: Path) -> None:
    # Defect 5: feedgen writes the current time as lastBuildDate unless told otherwise.
    config = make_config(tmp_path)
    xml = build_feed(config, [], artwork_url=ARTWORK)
    channel = channel_of(xml)
    assert channel.find("lastBuildDate") is None
    assert channel.find("item") is None
    assert parse_podcast(config, xml)["episodes"] == []
    assert not feedparser.parse(xml).bozo


def test_category_with_a_quote(tmp_path: Path) -> None:
    # Defect 6: feedgen builds an XPath from the category name and chokes on quotes.
    config = make_config(tmp_path, category='Society & Culture > "Documentary"')
    channel = channel_of(build_feed(config, [], artwork_url=ARTWORK))
    category = only(channel, "itunes:category")
    assert category.get("text") == "Society & Culture"
    assert only(category, "itunes:category").get("text") == '"Documentary"'


def test_category_without_subcategory(tmp_path: Path) -> None:
    config = make_config(tmp_path, category="Music")
    channel = channel_of(build_feed(config, [], artwork_url=ARTWORK))
    category = only(channel, "itunes:category")
    assert category.get("text") == "Music"
    assert list(category) == []


def test_podcasting_20_tags_are_written(tmp_path: Path) -> None:
    # Defect 7: feedgen has no Podcasting 2.0 tags; the extension writes them under the
    # podcastindex.org namespace URI that the spec asks publishers to use.
    xml = build_feed(make_config(tmp_path), [rich_record()], artwork_url=ARTWORK)
    assert b'xmlns:podcast="https://podcastindex.org/namespace/1.0"' in xml
    assert b'xmlns:psc="http://podlove.org/simple-chapters"' in xml
    item = only(channel_of(xml), "item")
    assert len(item.findall("podcast:transcript", NS)) == 2
    assert len(item.findall("podcast:chapters", NS)) == 1


def test_feed_module_imports_first_in_a_fresh_interpreter() -> None:
    # Defect 8: feedgen.ext.* fails to import unless lxml.etree was imported before.
    src = Path(__file__).resolve().parents[1] / "src"
    result = subprocess.run(
        [sys.executable, "-c", "import reviewcast.feed"],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_channel_link_is_the_site_not_the_feed(tmp_path: Path) -> None:
    # Defect 9: feedgen uses the last link() for <link>; the site must win over the self link.
    config = make_config(tmp_path, link="https://ada.example.org/")
    channel = channel_of(build_feed(config, [], artwork_url=ARTWORK))
    assert only(channel, "link").text == "https://ada.example.org/"
    assert only(channel, "atom:link").get("href") == BASE + "feed/feed.xml"


# -- optional parts and limits ------------------------------------------------------------


def test_optional_parts_left_out(tmp_path: Path) -> None:
    config = make_config(tmp_path, copyright="", owner_email="", locked=False)
    xml = build_feed(config, [make_record(1)], artwork_url=ARTWORK)
    channel = channel_of(xml)
    assert channel.find("copyright") is None
    assert channel.find("itunes:owner", NS) is None  # Apple's owner needs an e-mail
    locked = only(channel, "podcast:locked")
    assert (locked.text, locked.attrib) == ("no", {})
    item = only(channel, "item")
    for absent in (
        "itunes:image",
        "itunes:author",
        "podcast:chapters",
        "podcast:transcript",
        "psc:chapters",
    ):
        assert item.find(absent, NS) is None, absent


def test_empty_description_falls_back_to_the_title(tmp_path: Path) -> None:
    config = make_config(tmp_path, description=" \x01 ")
    channel = channel_of(build_feed(config, [], artwork_url=ARTWORK))
    assert only(channel, "description").text == "Spin Cycle"


@pytest.mark.parametrize(
    ("duration", "expected"),
    [(0.4, "0"), (0.5, "0"), (1.5, "2"), (59.49, "59"), (-3.0, "0"), (float("nan"), "0")],
)
def test_duration_in_whole_seconds(tmp_path: Path, duration: float, expected: str) -> None:
    record = make_record(1, duration=duration)
    item = only(
        channel_of(build_feed(make_config(tmp_path), [record], artwork_url=ARTWORK)), "item"
    )
    assert only(item, "itunes:duration").text == expected


def test_transcript_language_follows_the_episode(tmp_path: Path) -> None:
    config = make_config(tmp_path, language="en")
    record = make_record(1, language="de", transcript_vtt="episodes/episode-1/t.vtt")
    item = only(channel_of(build_feed(config, [record], artwork_url=ARTWORK)), "item")
    assert only(item, "podcast:transcript").get("language") == "de"


def test_urls_quote_each_path_segment(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    record = make_record(1, audio="episodes/a b#1?/Sigur Rós – ( ).mp3")
    enclosure = only(
        channel_of(build_feed(config, [record], artwork_url=ARTWORK)), "item/enclosure"
    )
    assert enclosure.get("url") == (
        BASE + "episodes/a%20b%231%3F/Sigur%20R%C3%B3s%20%E2%80%93%20%28%20%29.mp3"
    )


def test_overlong_description_is_cut_to_4000_bytes(tmp_path: Path) -> None:
    # Config refuses this, but a ShowConfig built in code can hold anything.
    config = make_config(tmp_path, description="ü" * 3000)  # 6000 bytes
    text = only(channel_of(build_feed(config, [], artwork_url=ARTWORK)), "description").text
    assert text is not None
    assert len(text.encode("utf-8")) <= 4000
    assert text.startswith("ü" * 1990)
    assert text.endswith("ü…")


def test_long_summary_gives_a_short_subtitle(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    record = make_record(1, summary="word " * 2000)
    item = only(channel_of(build_feed(config, [record], artwork_url=ARTWORK)), "item")
    subtitle = only(item, "itunes:subtitle").text or ""
    summary = only(item, "itunes:summary").text or ""
    assert len(subtitle) <= 255 and subtitle.endswith("…")
    assert len(summary) <= 4000 and summary.startswith("word word")


def test_cdata_end_in_notes_stays_in_one_cdata_section(tmp_path: Path) -> None:
    # lxml 6 would split the section itself, older lxml refuses; "]]&gt;" is the same HTML.
    record = make_record(1, notes_html='<p>a ]]> b <a title="x]]>y">c</a></p>')
    xml = build_feed(make_config(tmp_path), [record], artwork_url=ARTWORK)
    expected = '<p>a ]]&gt; b <a title="x]]&gt;y">c</a></p>'
    assert f"<description><![CDATA[{expected}]]></description>".encode() in xml
    assert f"<content:encoded><![CDATA[{expected}]]></content:encoded>".encode() in xml


# -- hostile text -------------------------------------------------------------------------

HOSTILE = {
    "xml specials": "<b>&amp; \"quotes\" 'apos' </b> & < > &#x26; &lt;",
    "cdata end": "before ]]> after ]]]]>> <![CDATA[ x ]]>",
    "control characters": "bell\x07 nul\x00 esc\x1b vt\x0b ff\x0c del\x7f c1\x85\x9f"
    " tab\tnl\ncr\r.",
    "rtl": "مراجعة الألبوم \u202eأغنية\u202c עברית",
    "emoji": "🎧 Review 👩🏽‍🎤 of 🇮🇸 \U0001f3b8",
    "non-characters and surrogates": "a\ufffeb\uffffc\ud800d",
    "long": "ab<&]]>" * 1500,  # over 10,000 characters
}


def _expected_text(text: str) -> str:
    """What survives into the feed: XML 1.0's forbidden characters and C1 controls go."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r"
        or not (
            ord(c) < 0x20
            or 0x7F <= ord(c) <= 0x9F
            or 0xD800 <= ord(c) <= 0xDFFF
            or c in "\ufffe\uffff"
        )
    )


def _hostile_feed(tmp_path: Path, text: str) -> tuple[ShowConfig, EpisodeRecord, bytes]:
    config = make_config(tmp_path, title="Show " + text[:100], description=text[:500])
    record = make_record(
        1,
        title=text,
        notes_html=f"<p>{text}</p>",
        summary=text,
        reviewer=text,
        chapters=(Chapter(text, 0.0, 1.0), Chapter("second", 1.0, 2.0)),
    )
    return config, record, build_feed(config, [record], artwork_url=ARTWORK)


def _check_all_parsers(config: ShowConfig, record: EpisodeRecord, xml: bytes, text: str) -> None:
    item = only(channel_of(xml), "item")
    assert only(item, "title").text == (_expected_text(text).strip() or "Episode 1")
    notes = only(item, "content:encoded").text or ""
    # HTML notes travel as CDATA, where line ends can only be LF.
    expected_notes = f"<p>{_expected_text(text)}</p>".replace("\r\n", "\n").replace("\r", "\n")
    assert html.unescape(notes) == html.unescape(expected_notes)
    authors = [a.text for a in item.findall("itunes:author", NS)]
    assert authors == ([_expected_text(text).strip()] if _expected_text(text).strip() else [])
    chapter_titles = [c.get("title") for c in item.findall("psc:chapters/psc:chapter", NS)]
    assert chapter_titles == [_expected_text(text), "second"]

    parsed = parse_podcast(config, xml)
    (episode,) = parsed["episodes"]
    assert episode["guid"] == record.guid
    assert episode["enclosures"][0]["file_size"] == record.length
    assert len(episode["chapters"]) == 2

    fp = feedparser.parse(xml)
    assert not fp.bozo, fp.get("bozo_exception")
    (entry,) = fp.entries
    assert entry.id == record.guid
    assert entry.enclosures[0].length == str(record.length)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_text_parses_everywhere(tmp_path: Path, name: str) -> None:
    text = HOSTILE[name]
    config, record, xml = _hostile_feed(tmp_path, text)
    _check_all_parsers(config, record, xml, text)
    if name not in ("control characters", "non-characters and surrogates"):
        # Nothing to strip: podcastparser gives back the title, whitespace squashed.
        title = parse_podcast(config, xml)["episodes"][0]["title"]
        assert title == " ".join(text.split())
        assert feedparser.parse(xml).entries[0].title == text.strip()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(alphabet=st.characters(exclude_categories=()), max_size=300))
def test_any_text_parses_everywhere(tmp_path: Path, text: str) -> None:
    config, record, xml = _hostile_feed(tmp_path, text)
    _check_all_parsers(config, record, xml, text)


# -- writing ------------------------------------------------------------------------------


def test_write_feed(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    records = [make_record(1)]
    path = write_feed(config, records, artwork_url=ARTWORK)
    assert path == tmp_path / "feed" / "feed.xml"
    assert path.read_bytes() == build_feed(config, records, artwork_url=ARTWORK)
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_failed_write_keeps_the_old_feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(tmp_path)
    path = write_feed(config, [make_record(1)], artwork_url=ARTWORK)
    old = path.read_bytes()

    def half_then_fail(self: Path, data: bytes) -> int:
        with self.open("wb") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(ReviewcastError, match="No space left on device") as info:
        write_feed(config, [make_record(1), make_record(2)], artwork_url=ARTWORK)
    monkeypatch.undo()

    assert info.value.path == path
    assert "previous feed is unchanged" in str(info.value)
    assert path.read_bytes() == old
    assert sorted(p.name for p in path.parent.iterdir()) == ["feed.xml"]


# -- golden files -------------------------------------------------------------------------


def _golden_basic(root: Path) -> bytes:
    config = make_config(root, category="Music > Music Commentary", explicit=False)
    records = [
        rich_record(),
        make_record(1, reviewer="Ada Reviewer"),
        make_record(2, explicit=True, transcript_vtt="episodes/episode-2/episode-2.vtt"),
    ]
    return build_feed(config, records, artwork_url=ARTWORK)


def _golden_empty(root: Path) -> bytes:
    config = make_config(root, copyright="", owner_email="", locked=False, show_type="serial")
    return build_feed(config, [], artwork_url=ARTWORK)


GOLDEN_CASES: dict[str, Callable[[Path], bytes]] = {
    "basic.xml": _golden_basic,
    "empty.xml": _golden_empty,
}


@pytest.mark.parametrize("name", list(GOLDEN_CASES))
def test_golden(tmp_path: Path, name: str) -> None:
    # The generator line carries the version; pin it so that a release does not churn goldens.
    actual = GOLDEN_CASES[name](tmp_path).replace(
        f"reviewcast {__version__}".encode(), b"reviewcast VERSION"
    )
    golden = GOLDEN / name
    if os.environ.get("REVIEWCAST_REGEN_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(actual)
    assert golden.exists(), f"{golden} is missing; run with REVIEWCAST_REGEN_GOLDEN=1"
    expected = golden.read_bytes()
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.decode("utf-8").splitlines(keepends=True),
                actual.decode("utf-8").splitlines(keepends=True),
                fromfile=f"tests/data/feeds/{name} (golden)",
                tofile="build_feed() now",
            )
        )
        pytest.fail(
            f"feed differs from {name}; if the change is intended, regenerate with "
            f"REVIEWCAST_REGEN_GOLDEN=1 pytest tests/test_feed.py -k golden\n{diff}",
            pytrace=False,
        )
