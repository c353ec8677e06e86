"""Bad input at every stage's boundary: each ends in a result or in one clear ReviewcastError.

tests/test_reviews.py already feeds arbitrary bytes to the three review readers, and
tests/test_feed.py hostile strings straight into the feed writer. This file covers what lies
between and around them: sidecars, front matter and tracklist files; markup built to hurt
parsers; hostile metadata carried through the real stages (reader → tracks → script → audio
timing → show notes and tags → episode record → feed) and, for a few, through
``reviewcast render``; and slugs, which must never leave the show's episodes/ folder.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import subprocess
import time
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import podcastparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewcast.cli import main
from reviewcast.config import ShowConfig, config_from_mapping
from reviewcast.errors import ConfigError, ReviewcastError, ReviewError
from reviewcast.models import EpisodeRecord, Review
from reviewcast.publish import Identity, identity, slugify
from reviewcast.records import load_records
from reviewcast.reviews import read_review
from reviewcast.reviews.metadata import MAX_TITLE_CHARS, MAX_TRACKS
from reviewcast.tracks import detect_tracks, resolve_tracklist

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
BODY = "Low Tide return with a warmer record, and the band sounds at ease.\n"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def one_line_naming(error: ReviewcastError, name: str) -> None:
    """A message a user can act on: one line, and it names the file at fault."""
    message = str(error)
    assert "\n" not in message and "\r" not in message, message
    assert name in message, message


def read_or_refuse(path: Path, blamed: str | None = None) -> Review | None:
    """read_review's answer: a Review, or None after checking the ReviewcastError's message."""
    try:
        return read_review(path)
    except ReviewcastError as error:
        one_line_naming(error, blamed or path.name)
        return None


# -- sidecars ------------------------------------------------------------------------------------

_TOML_BITS = st.sampled_from(
    [
        "title = ", "artist = ", "album = ", "reviewer = ", "date = ", "lang = ", "tracklist = ",
        "url = ", "bio = ", "[table]\n", "[[x]]\n", '"', "'''", '"""', "\n", "[", "]", "{", "}",
        ",", "=", "1979-05-27", "07:32:00", "inf", "nan", "-0", "0x_1", "true", "\\u0000",
        "\\U0010FFFF", "\\", "é", "\x00", "\x7f", "\ufeff", "a.b.c = 1\n", "#", "\r\n",
    ]
)  # fmt: skip
_sidecar_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(_TOML_BITS, st.text(max_size=12)), max_size=30).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
)


@FUZZ
@given(data=_sidecar_bytes, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_any_sidecar_gives_a_review_or_a_config_error_naming_it(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    review = tmp_path / ("r" + suffix)
    review.write_text(BODY, encoding="utf-8")
    (tmp_path / "r.toml").write_bytes(data)
    try:
        result = read_review(review)
    except ConfigError as error:
        one_line_naming(error, "r.toml")
    else:
        assert result.blocks
        for value in (result.title, result.artist, result.album, result.reviewer, result.bio):
            assert value is None or (value and value == " ".join(value.split()))
        for title in result.tracklist or ():
            assert title and len(title) <= MAX_TITLE_CHARS


def test_a_huge_sidecar_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text(BODY, encoding="utf-8")
    with (tmp_path / "r.toml").open("wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: 64 MB of NULs
    with pytest.raises(ConfigError, match="larger than 1024 KB") as info:
        read_review(tmp_path / "r.txt")
    one_line_naming(info.value, "r.toml")


# -- front matter --------------------------------------------------------------------------------

_YAML_BITS = st.sampled_from(
    [
        "title: ", "artist: ", "tracklist:", "date: ", "lang: ", "author: ", "bio: ", "url: ",
        "\n", "  - ", "- ", "&a ", "*a", "!!binary ", "!!timestamp ", "!!bool ", "!!int ",
        "!!float ", "!!python/object:os.system ", "!!set ", "!!omap ", "? ", "[", "]", "{",
        "}", "2025-02-30", "2025-10-12", ".inf", "~", "yes", "0x1F", "1e400", "12:30:00",
        "'", '"', "|\n", ">\n", "%YAML 1.1\n", "%TAG ! x\n", "---\n", "...\n", "\t", "\x0c",
        "\u2028", "\ufeff", "<<: ", "!", "#", ":", ",",
    ]
)  # fmt: skip


@FUZZ
@given(parts=st.lists(st.one_of(_YAML_BITS, st.text(max_size=8)), max_size=40))
def test_any_front_matter_gives_a_review_or_one_line_naming_the_file(
    tmp_path: Path, parts: list[str]
) -> None:
    front = "".join(parts)
    path = tmp_path / "r.md"
    path.write_bytes(f"---\n{front}\n---\n{BODY}".encode("utf-8", "surrogatepass"))
    read_or_refuse(path)


@pytest.mark.parametrize(
    ("front", "problem"),
    [
        # PyYAML's own constructors fail on these with AttributeError and KeyError.
        ("date: !!timestamp soon", "front matter is not valid YAML"),
        ("!!timestamp x", "front matter is not valid YAML"),
        ("explicit: !!bool maybe", "front matter is not valid YAML"),
        ("n: !!int 0x", "front matter is not valid YAML"),
        ("!!python/object/apply:os.system ['true']", "front matter is not valid YAML"),
        # The reader's error spans two lines ("… in <unicode string>, position 0").
        ("title: a\x0cb", "front matter is not valid YAML: unacceptable character #x000c"),
        ("title: [unclosed", ": front matter is not valid YAML"),
    ],
)
def test_front_matter_parser_failures_are_one_line(
    tmp_path: Path, front: str, problem: str
) -> None:
    path = tmp_path / "r.md"
    path.write_text(f"---\n{front}\n---\n{BODY}", encoding="utf-8")
    with pytest.raises(ReviewError) as info:
        read_review(path)
    one_line_naming(info.value, "r.md")
    assert problem in str(info.value)
    if "[unclosed" in front:
        assert re.search(r"r\.md: line [23]: front matter", str(info.value))


def test_an_alias_bomb_in_front_matter_is_refused_at_once(tmp_path: Path) -> None:
    # 100 KB of front matter naming one 100 KB string 2000 times: it took 70 s and 440 MB.
    words = "word " * 20_000
    aliases = ", ".join(["*w"] * 2000)
    path = tmp_path / "r.md"
    path.write_text(f'---\nw: &w "{words}"\ntracklist: [{aliases}]\n---\n{BODY}', "utf-8")
    start = time.monotonic()
    with pytest.raises(ReviewError, match=f"more than the {MAX_TRACKS}") as info:
        read_review(path)
    assert time.monotonic() - start < 5
    one_line_naming(info.value, "r.md")
    path.write_text(f'---\nw: &w "{words}"\ntracklist: [*w, *w, *w]\n---\n{BODY}', "utf-8")
    with pytest.raises(ReviewError, match=f"longer than the {MAX_TITLE_CHARS}"):
        read_review(path)


# -- tracklist files -----------------------------------------------------------------------------


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.one_of(
                st.sampled_from(["1. ", "A1 ", "01 - ", "\n", "(3:12)", "Side A", "\ufeff", '"']),
                st.text(max_size=20),
            ),
            max_size=30,
        ).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
    )
)
def test_any_tracklist_file_gives_titles_or_one_line_naming_it(tmp_path: Path, data: bytes) -> None:
    review = tmp_path / "r.txt"
    review.write_text(BODY, encoding="utf-8")
    listing = tmp_path / "r.tracks.txt"
    listing.write_bytes(data)
    try:
        _, tracklist = resolve_tracklist(read_review(review), listing)
    except ReviewError as error:
        one_line_naming(error, "r.tracks.txt")
    else:
        assert tracklist is not None and tracklist.titles
        assert all(t and t == t.strip() for t in tracklist.titles)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("\n".join(f"Song {n}" for n in range(MAX_TRACKS + 1)), f"more than the {MAX_TRACKS}"),
        ("Intro\n" + "very long " * 40 + "\nOutro\n", f"longer than the {MAX_TITLE_CHARS}"),
        ("x\n" * 600_000, "larger than 1024 KB"),
        ("Intro\n".encode("utf-16"), "cannot read the tracklist file"),
    ],
    ids=["too many", "too long", "too big", "not utf-8"],
)
def test_tracklist_files_past_the_limits_are_refused(
    tmp_path: Path, content: str | bytes, problem: str
) -> None:
    review = tmp_path / "r.txt"
    review.write_text(BODY, encoding="utf-8")
    listing = tmp_path / "r.tracks.txt"
    listing.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ReviewError, match=problem) as info:
        resolve_tracklist(read_review(review), listing)
    one_line_naming(info.value, "r.tracks.txt")


def test_a_numbered_list_longer_than_any_album_is_not_taken_for_the_tracklist(
    tmp_path: Path,
) -> None:
    listing = "\n".join(f"{n}. Song number {n}" for n in range(1, MAX_TRACKS + 2))
    review = tmp_path / "r.md"
    review.write_text(f"{BODY}\n{listing}\n", encoding="utf-8")
    _, tracklist = resolve_tracklist(read_review(review))
    assert tracklist is None


# -- markup built to hurt parsers ----------------------------------------------------------------

HURTFUL = {
    "nested divs.html": "<div>" * 100_000 + "Words here." + "</div>" * 100_000,
    "unclosed bold.html": "<html><body>" + "<b>" * 50_000 + "Words",
    "nested quotes.html": "<blockquote>" * 5000 + "Words" + "</blockquote>" * 5000,
    "entities.html": "&amp;" * 400_000 + " Words",
    "one huge attribute.html": "<p title='" + "x" * 3_000_000 + "'>Words</p>",
    "unclosed comments.html": "<!--" * 100_000 + "Words",
    "nested quotes.md": ">" * 50_000 + " Words",
    "nested lists.md": "".join("  " * i + "- x\n" for i in range(1500)),
    "emphasis run.md": "*" * 100_000 + "Words" + "*" * 100_000,
    "open brackets.md": "[" * 100_000 + "Words",
    "open links.md": "[a](" * 50_000 + "Words",
    "front matter only.md": "---\n" + "a: b\n" * 100_000 + "---\n",
    "one long line.txt": "word " * 400_000,
    "dots.txt": "." * 4_000_000 + " Words",
}


@pytest.mark.parametrize("name", sorted(HURTFUL))
def test_markup_built_to_hurt_parsers_ends_quickly_and_cleanly(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(HURTFUL[name], encoding="utf-8")
    start = time.monotonic()
    review = read_or_refuse(path)
    assert time.monotonic() - start < 20
    if review is not None:
        assert all(block.text.strip() for block in review.blocks)
        detect_tracks(*resolve_tracklist(review))


# -- hostile metadata through the real stages ------------------------------------------------------

HOSTILE = {
    "xml specials": "<b>&amp; \"Quotes\" 'apos' </b> & < > &#x26; &lt;",
    "cdata end": "before ]]> after ]]]]>> <![CDATA[ x ]]>",
    "control characters": "Bell\x07 nul\x00 esc\x1b del\x7f c1\x85\x9f end",
    "right to left": "مراجعة الألبوم \u202eأغنية\u202c עברית",
    "emoji": "🎧 Review 👩🏽‍🎤 of 🇮🇸 \U0001f3b8",
    "template syntax": "{{ show.title }} {% raw %} {# x #}",
    "ten thousand": ("Ab<&]]>" * 1430)[:10_000],
}


#: The cover gets at most this much of the album and artist: artwork._ellipsize measures the
#: text once per character it drops, so 10,000 characters take half a minute (reported).
COVER_TEXT = 400


def show_config(root: Path, text: str) -> ShowConfig:
    """The show's config with ``text`` as title and description, validated as show.toml is."""
    try:
        return config_from_mapping(
            root, {"title": f"Show {text}"[:200], "description": text}, root / "show.toml"
        )
    except ConfigError as error:  # an empty title, a description over 4000 bytes
        one_line_naming(error, "show.toml")
        return config_from_mapping(root, {"title": "Spin Cycle"}, root / "show.toml")


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text`` exactly: everything but plain ASCII escaped."""
    return (
        '"'
        + "".join(
            c if c.isascii() and c.isprintable() and c not in '"\\' else f"\\U{ord(c):08X}"
            for c in text
        )
        + '"'
    )


def xml_kept(text: str) -> str:
    """``text`` as the feed keeps it: XML 1.0's forbidden characters and C1 controls go."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\ufffe\uffff")
    )


@pytest.fixture(scope="module")
def tiny_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, very short MP3 to stand in for an encoded episode."""
    from reviewcast.audio import ffmpeg_exe

    out = tmp_path_factory.mktemp("mp3") / "tiny.mp3"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t",
         "0.3", "-b:a", "32k", str(out)],
        check=True,
    )  # fmt: skip
    return out


def write_hostile_review(reviews: Path, stem: str, text: str, tracks: list[str]) -> Path:
    """A review whose every metadata field and one track title is ``text``."""
    review = reviews / f"{stem}.txt"
    # Control bytes make a review file binary (refused, tested above): keep them out of the body.
    said = ["".join(c for c in t if unicodedata.category(c) != "Cc") for t in (text, *tracks)]
    mentions = " ".join(f"Then “{title}” plays, a song I love." for title in said)
    review.write_text(f"A fine record from start to end.\n\n{mentions}\n", encoding="utf-8")
    fields = {"title": text, "artist": text, "album": text, "reviewer": text, "bio": text}
    lines = [f"{key} = {toml_string(value)}" for key, value in fields.items()]
    titles = ", ".join(toml_string(t) for t in [text[:MAX_TITLE_CHARS], *tracks])
    lines.append(f"tracklist = [{titles}]")
    review.with_suffix(".toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return review


def through_the_stages(
    config: ShowConfig, review: Path, mp3: Path, records: list[EpisodeRecord]
) -> EpisodeRecord:
    """read → tracks → script → (stand-in audio) → publish, as a render does; no engine."""
    from reviewcast.artwork import episode_cover
    from reviewcast.audio import Assembled
    from reviewcast.models import Chapter, Cue
    from reviewcast.pipeline import load_script
    from reviewcast.publish import episode_title, publish, show_artwork, source_id

    script = load_script(config, review)
    work = config.root / ".reviewcast" / "work"
    work.mkdir(parents=True, exist_ok=True)
    encoded = work / "episode.mp3"
    shutil.copy(mp3, encoded)
    # each segment heard for a second, in order: the times are not what is tested here
    captions = [
        Cue(float(n), n + 0.9, s.text, s.kind)
        for n, s in enumerate(script.segments)
        if s.kind != "cue"
    ]
    starts = [(float(n), s) for n, s in enumerate(script.segments) if s.kind == "cue"]
    end = float(len(script.segments))
    marks = [(0.0, "Intro", None)] + [
        (t, s.text, s.track.number if s.track else None) for t, s in starts
    ]
    chapters = [
        Chapter(
            title,
            t,
            marks[i + 1][0] if i + 1 < len(marks) else end,
            number,
            "intro" if i == 0 else "track",
        )
        for i, (t, title, number) in enumerate(marks)
    ]
    assembled = Assembled(encoded, 44100, int(end * 44100), tuple(chapters), tuple(captions))
    source = source_id(config, review)
    title = episode_title(script.review)
    ident = identity(config, source, title, records)
    art, _ = show_artwork(config)
    album, artist = script.review.album, script.review.artist
    cover = episode_cover(art, album and album[:COVER_TEXT], artist and artist[:COVER_TEXT], 400)
    return publish(
        config, script, assembled, encoded, source=source, ident=ident, cover=cover,
        fingerprint="test",
    )  # fmt: skip


def check_published(config: ShowConfig, records: list[EpisodeRecord]) -> bytes:
    """Every reader of the published show reads it: records, feed, chapters, captions, tags."""
    from mutagen.id3 import ID3

    from reviewcast.feed import write_feed
    from reviewcast.page import write_page

    artwork = config.base + "feed/cover.jpg"
    write_page(config, records, artwork_url=artwork)
    xml = write_feed(config, records, artwork_url=artwork).read_bytes()
    assert sorted(load_records(config.root), key=lambda r: r.number) == sorted(
        records, key=lambda r: r.number
    )
    channel = ET.fromstring(xml).find("channel")  # strict: one bad byte raises
    assert channel is not None
    items = channel.findall("item")
    assert len(items) == len(records)
    by_guid = {r.guid: r for r in records}
    parsed = podcastparser.parse(config.feed_url, io.BytesIO(xml))
    assert {e["guid"] for e in parsed["episodes"]} == set(by_guid)
    fp = feedparser.parse(xml)
    assert not fp.bozo, fp.get("bozo_exception")
    assert {e.id for e in fp.entries} == set(by_guid)
    for item in items:
        record = by_guid[item.findtext("guid") or ""]
        shown = xml_kept(record.title).strip() or f"Episode {record.number}"
        assert item.findtext("title") == shown
        folder = (config.root / "episodes" / record.slug).resolve()
        assert folder.parent == (config.root / "episodes").resolve()
        for rel in (record.audio, record.cover, record.chapters_json, record.transcript_vtt):
            assert rel is not None and (config.root / rel).resolve().parent == folder
        chapters = json.loads((config.root / record.chapters_json).read_text("utf-8"))  # type: ignore[operator]
        assert [c["title"] for c in chapters["chapters"]] == [c.title for c in record.chapters]
        vtt = (config.root / record.transcript_vtt).read_text("utf-8")  # type: ignore[operator]
        assert vtt.startswith("WEBVTT\n") and "-->" in vtt
        assert ID3(config.root / record.audio)["TIT2"].text  # type: ignore[no-untyped-call]
    page = (config.root / "feed" / "index.html").read_text("utf-8")
    assert all(Path(r.audio).name in page for r in records)
    return xml


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_metadata_through_every_stage(show: Path, tiny_mp3: Path, name: str) -> None:
    text = HOSTILE[name]
    config = show_config(show, text)
    review = write_hostile_review(show / "reviews", "r", text, ["Plain Song"])
    records = [through_the_stages(config, review, tiny_mp3, [])]
    (record,) = records
    assert record.title == " ".join(text.split())
    assert "Plain Song" in [c.title for c in record.chapters]
    xml = check_published(config, records)
    assert b"Plain Song" in xml
    # The same title again: a second, distinct and stable slug.
    other = write_hostile_review(show / "reviews", "s", text, ["Plain Song"])
    records.append(through_the_stages(config, other, tiny_mp3, records))
    assert records[0].slug != records[1].slug
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", records[1].slug)
    again = through_the_stages(config, other, tiny_mp3, records)
    assert (again.slug, again.guid, again.number) == (records[1].slug, records[1].guid, 2)
    check_published(config, records)


@settings(FUZZ, max_examples=25)
@given(
    text=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=120),
    track=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40),
)
def test_any_metadata_through_every_stage(
    tmp_path_factory: pytest.TempPathFactory, tiny_mp3: Path, text: str, track: str
) -> None:
    root = tmp_path_factory.mktemp("show")
    assert main(["init", str(root), "--title", "Spin Cycle", "--quiet"]) == 0
    config = show_config(root, text)
    review = write_hostile_review(root / "reviews", "r", text, [track])
    try:
        record = through_the_stages(config, review, tiny_mp3, [])
    except ReviewcastError as error:  # a tracklist whose titles are all blank, say
        one_line_naming(error, "r.")
        return
    check_published(config, [record])


@pytest.mark.parametrize("title", ["\x07", "\ufffe\x1b", "\x85 \x9f"])
def test_a_show_title_of_control_characters_is_a_config_error_not_a_crash(
    tmp_path: Path, title: str
) -> None:
    import dataclasses

    from reviewcast.feed import build_feed

    # show.toml is refused when it is read ...
    with pytest.raises(ConfigError, match="'title' must have letters or digits") as refused:
        config_from_mapping(tmp_path, {"title": title}, tmp_path / "show.toml")
    one_line_naming(refused.value, "show.toml")
    # ... and the feed writer still guards itself against a config made some other way
    config = dataclasses.replace(
        config_from_mapping(tmp_path, {}, tmp_path / "show.toml"), title=title
    )
    with pytest.raises(ConfigError, match="'title' holds no characters a feed can carry") as info:
        build_feed(config, [], artwork_url=config.base + "feed/cover.jpg")
    one_line_naming(info.value, "show.toml")


# -- slugs ---------------------------------------------------------------------------------------

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _record_for(source: str, ident: Identity) -> EpisodeRecord:
    return EpisodeRecord(
        slug=ident.slug, guid=ident.guid, source=source, title=source, summary="",
        notes_html="", pub_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), number=ident.number,
        duration=1.0, audio=f"episodes/{ident.slug}/a.mp3", length=1,
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    titles=st.lists(
        st.one_of(
            st.text(max_size=80),
            st.sampled_from(["..", ".", "../../etc", "a/b", "C:\\x", "~", "-", "Episode", "x-2"]),
        ),
        min_size=1,
        max_size=6,
    ),
    repeats=st.lists(st.integers(0, 5), max_size=6),
)
def test_slugs_stay_in_the_show_and_are_distinct_and_stable(
    titles: list[str], repeats: list[int]
) -> None:
    root = Path("/show")
    config = ShowConfig(root=root)
    # Several reviews with the same title, in any order.
    order = titles + [titles[i % len(titles)] for i in repeats]
    records: list[EpisodeRecord] = []
    for n, title in enumerate(order):
        source = f"reviews/r{n}.md"
        slug = slugify(title)
        assert _SLUG.fullmatch(slug) and slugify(slug) == slug
        ident = identity(config, source, title, records)
        folder = (root / "episodes" / ident.slug).resolve()
        assert folder.parent == root / "episodes"
        assert ident.slug == slug or ident.slug.startswith(slug + "-")
        records.append(_record_for(source, ident))
    assert len({r.slug for r in records}) == len(records)
    assert len({r.guid for r in records}) == len(records)
    for record, title in zip(records, order, strict=True):  # rendering again changes nothing
        again = identity(config, record.source, title + " (revised)", records)
        assert (again.slug, again.guid, again.number) == (record.slug, record.guid, record.number)
