"""The show's web page: structure, order, links, escaping, overrides. Parsed back with lxml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import lxml.html  # type: ignore[import-untyped, unused-ignore]
import pytest

from reviewcast.config import ShowConfig, config_from_mapping
from reviewcast.errors import ConfigError
from reviewcast.models import Chapter, EpisodeRecord
from reviewcast.page import read_captions, render_page, subscribe_links, write_page

BASE = "https://podcasts.example.org/spin/"
ARTWORK = BASE + "feed/cover.jpg"
HOSTILE = """<script>alert("x")</script> & 'quotes' "onload=alert(1)" </textarea>"""


def _config(root: Path, **settings: Any) -> ShowConfig:
    data = {"title": "Spin Cycle", "base_url": BASE, **settings}
    return config_from_mapping(root, data, root / "show.toml")


def _record(slug: str, day: int, *, number: int = 1, **fields: Any) -> EpisodeRecord:
    values: dict[str, Any] = {
        "slug": slug,
        "guid": f"guid-{slug}",
        "source": f"reviews/{slug}.md",
        "title": f"Review of {slug}",
        "summary": "An album.",
        "notes_html": f"<p>Notes for <em>{slug}</em></p>",
        "pub_date": dt.datetime(2025, 3, day, 9, 30, tzinfo=dt.UTC),
        "number": number,
        "duration": 754.2,
        "audio": f"episodes/{slug}/{slug}.mp3",
        "length": 1234,
        "cover": f"episodes/{slug}/cover-1.jpg",
        "chapters": (
            Chapter("Introduction", 0.0, 5.0, kind="intro"),
            Chapter("Derezzed", 12.5, 60.0, track_number=2),
            Chapter("Outro", 3725.25, 3730.0, kind="outro"),
        ),
    }
    values.update(fields)
    return EpisodeRecord(**values)


def _page(config: ShowConfig, records: list[EpisodeRecord]) -> Any:
    return lxml.html.document_fromstring(render_page(config, records, artwork_url=ARTWORK))


def test_episodes_newest_first_each_with_its_player(tmp_path: Path) -> None:
    records = [
        _record("second", 10, number=2),
        _record("first", 3, number=1),
        _record("third", 20, number=3),
    ]
    doc = _page(_config(tmp_path), records)

    articles = doc.xpath("//article[contains(concat(' ', @class, ' '), ' episode ')]")
    assert [a.get("id") for a in articles] == ["episode-third", "episode-second", "episode-first"]
    for article, slug in zip(articles, ["third", "second", "first"], strict=True):
        (audio,) = article.xpath(".//audio")
        assert audio.get("src") == f"../episodes/{slug}/{slug}.mp3"
        assert audio.get("controls") is not None
        assert audio.get("preload") == "metadata"
        assert article.xpath(".//h3")[0].text_content() == f"Review of {slug}"
        assert article.xpath(".//img[contains(concat(' ', @class, ' '), ' episode-cover ')]")[
            0
        ].get("src") == (f"../episodes/{slug}/cover-1.jpg")
    assert len(doc.xpath(".//audio")) == 3


def test_same_day_episodes_ordered_by_number(tmp_path: Path) -> None:
    doc = _page(_config(tmp_path), [_record("a", 5, number=7), _record("b", 5, number=8)])
    assert [a.get("id") for a in doc.xpath("//article")] == ["episode-b", "episode-a"]


def test_date_and_duration_are_shown_and_machine_readable(tmp_path: Path) -> None:
    doc = _page(_config(tmp_path), [_record("a", 5, duration=3725.0)])
    date, duration = doc.xpath("//article//p[contains(concat(' ', @class, ' '), ' meta ')]/time")
    assert date.get("datetime") == "2025-03-05T09:30:00+00:00"
    assert date.text_content() == "5 March 2025"
    assert duration.get("datetime") == "PT1H2M5S"
    assert duration.text_content() == "1 h 02 min"

    short = _page(_config(tmp_path), [_record("b", 5, duration=42.4)])
    assert (
        short.xpath("//article//p[contains(concat(' ', @class, ' '), ' meta ')]/time")[
            1
        ].text_content()
        == "42 s"
    )


def test_chapter_buttons_carry_their_start_in_seconds(tmp_path: Path) -> None:
    doc = _page(_config(tmp_path), [_record("a", 5)])
    buttons = doc.xpath("//article//ol[contains(concat(' ', @class, ' '), ' chapters ')]//button")
    assert [b.get("data-start") for b in buttons] == ["0", "12.5", "3725.25"]
    assert [b.get("type") for b in buttons] == ["button"] * 3
    assert [" ".join(b.text_content().split()) for b in buttons] == [
        "00:00 Introduction",
        "00:12 Derezzed",
        "01:02:05 Outro",
    ]


def test_chapters_listed_in_time_order_and_absent_when_none(tmp_path: Path) -> None:
    shuffled = (Chapter("Late", 30.0, 40.0), Chapter("Early", 2.0, 30.0))
    doc = _page(
        _config(tmp_path), [_record("a", 5, chapters=shuffled), _record("b", 4, chapters=())]
    )
    first, second = doc.xpath("//article")
    assert [
        b.get("data-start")
        for b in first.xpath(".//ol[contains(concat(' ', @class, ' '), ' chapters ')]//button")
    ] == ["2", "30"]
    assert second.xpath(".//ol[contains(concat(' ', @class, ' '), ' chapters ')]") == []
    assert second.xpath(".//h4") == []


def test_subscribe_block_shows_the_feed_url_and_app_links(tmp_path: Path) -> None:
    config = _config(tmp_path)
    doc = _page(config, [])

    (field,) = doc.xpath("//input[@id='feed-url']")
    assert field.get("value") == config.feed_url == BASE + "feed/feed.xml"
    assert field.get("readonly") is not None
    assert doc.xpath("//label[@for='feed-url']")
    (copy,) = doc.xpath("//button[@id='copy-feed']")
    assert copy.get("type") == "button"
    assert copy.text_content() == "Copy"

    links = {
        a.text_content(): a.get("href")
        for a in doc.xpath("//ul[contains(concat(' ', @class, ' '), ' apps ')]//a")
    }
    bare = "podcasts.example.org/spin/feed/feed.xml"
    assert links == {
        "Apple Podcasts": "podcasts://" + bare,
        "Pocket Casts": "pktc://subscribe/" + bare,
        "AntennaPod": "antennapod-subscribe://https://" + bare,
        "Overcast": "overcast://x-callback-url/add?url=https://" + bare,
        "Other podcast apps": "podcast://" + bare,
        "RSS feed": "feed.xml",
    }
    (alternate,) = doc.xpath("//link[@rel='alternate']")
    assert alternate.get("type") == "application/rss+xml"
    assert alternate.get("href") == config.feed_url  # absolute: see index.html.j2
    assert "No episodes yet" in doc.text_content()


def test_overcast_link_keeps_a_feed_query_inside_its_parameter() -> None:
    links = {link.name: link.href for link in subscribe_links("https://ex.org/f.xml?a=1&b=2")}
    assert (
        links["Overcast"]
        == "overcast://x-callback-url/add?url=https://ex.org/f.xml%3Fa%3D1%26b%3D2"
    )
    assert links["Apple Podcasts"] == "podcasts://ex.org/f.xml?a=1&b=2"


def test_artwork_relative_under_base_url_else_as_given(tmp_path: Path) -> None:
    config = _config(tmp_path)
    doc = _page(config, [])
    assert (
        doc.xpath("//img[contains(concat(' ', @class, ' '), ' cover ')]")[0].get("src")
        == "../feed/cover.jpg"
    )
    elsewhere = "https://cdn.example.net/art.png"
    other = lxml.html.document_fromstring(render_page(config, [], artwork_url=elsewhere))
    assert (
        other.xpath("//img[contains(concat(' ', @class, ' '), ' cover ')]")[0].get("src")
        == elsewhere
    )


def test_hostile_strings_are_escaped(tmp_path: Path) -> None:
    config = _config(tmp_path, title=HOSTILE, description=HOSTILE)
    record = _record(
        "a",
        5,
        title=HOSTILE,
        chapters=(Chapter(HOSTILE, 1.0, 2.0),),
    )
    text = render_page(config, [record], artwork_url=ARTWORK)
    doc = lxml.html.document_fromstring(text)

    assert "<script>alert" not in text
    # Only the page's own script: none of the hostile ones became an element.
    assert len(doc.xpath("//script")) == 1
    assert doc.xpath("//script")[0].text_content().lstrip().startswith("// The page's only")
    assert not doc.xpath("//@onload")
    assert doc.xpath("//title")[0].text_content() == HOSTILE
    assert doc.xpath("//h1")[0].text_content() == HOSTILE
    assert doc.xpath("//article//h3")[0].text_content() == HOSTILE
    assert doc.xpath(".//audio")[0].get("aria-label") == "Play " + HOSTILE
    assert (
        doc.xpath("//img[contains(concat(' ', @class, ' '), ' cover ')]")[0].get("alt")
        == "Cover art of " + HOSTILE
    )
    assert (
        doc.xpath(".//ol[contains(concat(' ', @class, ' '), ' chapters ')]//button")[0]
        .text_content()
        .endswith(HOSTILE)
    )


def test_show_notes_are_trusted_html(tmp_path: Path) -> None:
    doc = _page(_config(tmp_path), [_record("a", 5)])
    (notes,) = doc.xpath("//article//div[contains(concat(' ', @class, ' '), ' notes ')]")
    assert notes.xpath("./p/em")[0].text_content() == "a"


def test_unusual_file_names_are_percent_encoded(tmp_path: Path) -> None:
    record = _record("a", 5, audio="episodes/a/A Night #1?.mp3")
    doc = _page(_config(tmp_path), [record])
    assert doc.xpath(".//audio")[0].get("src") == "../episodes/a/A%20Night%20%231%3F.mp3"


def test_transcript_is_read_from_the_vtt_file(tmp_path: Path) -> None:
    folder = tmp_path / "episodes" / "a"
    folder.mkdir(parents=True)
    (folder / "transcript-1.vtt").write_text(
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:03.200\nWelcome to Spin Cycle.\n\n"
        "00:00:03.200 --> 00:00:07.850\nDaft Punk &amp; friends &lt;3\nscore the grid.\n",
        encoding="utf-8",
    )
    with_file = _record("a", 5, transcript_vtt="episodes/a/transcript-1.vtt")
    without_file = _record("b", 4, transcript_vtt="episodes/b/transcript-1.vtt")
    doc = _page(_config(tmp_path), [with_file, without_file])

    first, second = doc.xpath("//article")
    (details,) = first.xpath(".//details[contains(concat(' ', @class, ' '), ' transcript ')]")
    assert details.xpath(".//summary")[0].text_content() == "Transcript"
    rows = details.xpath(".//ol[contains(concat(' ', @class, ' '), ' captions ')]/li")
    assert [row.xpath(".//span")[0].text_content() for row in rows] == [
        "Welcome to Spin Cycle.",
        "Daft Punk & friends <3 score the grid.",
    ]
    assert [row.xpath(".//button")[0].get("data-start") for row in rows] == ["0", "3.2"]
    assert details.xpath(".//a")[0].get("href") == "../episodes/a/transcript-1.vtt"
    # A transcript whose file is missing is left off rather than linked to nothing.
    assert second.xpath(".//details") == []


def test_read_captions_tolerates_what_webvtt_allows() -> None:
    text = (
        "WEBVTT - a title\r\n\r\n"
        "NOTE made by hand\r\nover two lines\r\n\r\n"
        "STYLE\r\n::cue { color: red }\r\n\r\n"
        "intro\r\n00:05.000 --> 00:07.000 align:start\r\n<v Narrator>Hello</v> <i>there</i>\r\n\r\n"
        "01:02:03.500 --> 01:02:04.000\r\nLate &nbsp;line\r\n\r\n"
        "00:00:09.000 --> 00:00:10.000\r\n\r\n"
    )
    captions = read_captions(text)
    assert [(c.start, c.text) for c in captions] == [
        (5.0, "Hello there"),
        (3723.5, "Late line"),
    ]
    assert [c.time for c in captions] == ["00:05", "01:02:03"]


def test_write_page_writes_feed_index_html(tmp_path: Path) -> None:
    config = _config(tmp_path)
    path = write_page(config, [_record("a", 5)], artwork_url=ARTWORK)
    assert path == tmp_path / "feed" / "index.html"
    assert path.read_text(encoding="utf-8") == render_page(
        config, [_record("a", 5)], artwork_url=ARTWORK
    )
    assert sorted(p.name for p in path.parent.iterdir()) == ["index.html"]


def test_a_shows_own_template_overrides_the_packaged_one(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "index.html.j2").write_text(
        "<!doctype html><title>{{ show.title }}</title>\n"
        "{% for e in episodes %}<p class=mine data-start={{ e.chapters[1].seconds }}>"
        "{{ e.record.title }}</p>{% endfor %}\n",
        encoding="utf-8",
    )
    config = _config(tmp_path)
    doc = _page(config, [_record("a", 5, title="<b>A</b>")])
    (mine,) = doc.xpath("//p[contains(concat(' ', @class, ' '), ' mine ')]")
    # The show's template is escaped too, though its name does not end in .html.
    assert mine.text_content() == "<b>A</b>"
    assert mine.get("data-start") == "12.5"
    assert doc.xpath(".//audio") == []


def test_a_shows_own_stylesheet_replaces_only_the_css(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.css").write_text("body > h1 { color: teal }", encoding="utf-8")
    doc = _page(_config(tmp_path), [_record("a", 5)])
    assert doc.xpath("//style")[0].text_content().strip() == "body > h1 { color: teal }"
    assert len(doc.xpath(".//audio")) == 1


def test_a_broken_show_template_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "index.html.j2").write_text("{{ show.nope }}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"index\.html\.j2"):
        render_page(_config(tmp_path), [], artwork_url=ARTWORK)


def test_page_is_accessible_in_its_structure(tmp_path: Path) -> None:
    doc = _page(_config(tmp_path), [_record("a", 5)])
    html_element = doc.getroottree().getroot()
    assert html_element.get("lang") == "en"
    assert doc.xpath("//meta[@name='viewport']")
    assert [h.tag for h in doc.xpath("//h1 | //h2 | //h3")] == ["h1", "h2", "h2", "h3"]
    # Everything clickable that is not a link is a real button.
    assert doc.xpath("//*[@onclick]") == []
    for button in doc.xpath("//button"):
        assert button.get("type") == "button"
    for img in doc.xpath("//img"):
        assert img.get("alt") is not None


def test_the_page_shows_the_newest_episodes_and_leaves_the_rest_to_the_feed(
    tmp_path: Path,
) -> None:
    from reviewcast import page

    config = config_from_mapping(tmp_path, {"base_url": BASE}, tmp_path / "show.toml")
    records = [
        _record(f"e{n}", 1, number=n, title=f"Episode {n}.")
        for n in range(1, page.PAGE_EPISODES + 4)
    ]
    html = page.render_page(config, records, artwork_url=BASE + "feed/cover.jpg")
    assert f"Episode {page.PAGE_EPISODES + 3}." in html and "Episode 3." not in html
    assert "3 older episodes in the" in html
