"""Bad input at every stage's boundary: each ends in a result or in one clear ReviewcastError.

tests/test_reviews.py already feeds arbitrary bytes to the three review readers, and
tests/test_feed.py hostile strings straight into the feed writer. This file covers what lies
between and around them: sidecars, front matter and tracklist files; markup built to hurt
parsers; hostile metadata carried through the real stages (reader → tracks → script → audio
timing → show notes and tags → episode record → feed) and, for a few, through
``reviewcast render``; and slugs, which must never leave the show's episodes/ folder.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewcast.errors import ConfigError, ReviewcastError, ReviewError
from reviewcast.models import Review
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
    "one long line.txt": "word " * 900_000,
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
