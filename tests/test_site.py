"""`reviewcast build`: the publishable site, and the rules of what is public."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

import pytest

from reviewcast.errors import ConfigError, ReviewcastError
from reviewcast.site import (
    NGINX_SNIPPET,
    build_site,
    is_published,
    media_type,
    published_files,
)
from tests.test_serve import AUDIO, SECRET, make_show

PUBLISHED = {
    "episodes/spin-cycle/spin-cycle-0123456789.mp3",
    "episodes/spin-cycle/cover-0123456789.jpg",
    "episodes/spin-cycle/chapters-0123456789.json",
    "episodes/spin-cycle/transcript-0123456789.vtt",
    "episodes/spin-cycle/transcript-0123456789.srt",
    "episodes/spin-cycle/empty-0000000000.mp3",
    "episodes/spin-cycle/alias.mp3",
    "feed/feed.xml",
    "feed/cover.png",
}


@pytest.fixture
def show(tmp_path: Path) -> Path:
    return make_show(tmp_path / "show")


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_build_writes_exactly_the_published_files(show: Path, tmp_path: Path) -> None:
    out = build_site(show, tmp_path / "site")
    assert out == tmp_path / "site"
    built = files_under(out)
    assert set(built) == PUBLISHED
    for rel, data in built.items():
        assert data == (show / rel).read_bytes()
        assert not (out / rel).is_symlink()  # a copy, not a link back into the show
    assert built["episodes/spin-cycle/alias.mp3"] == AUDIO
    assert not any(SECRET in data for data in built.values())


def test_copies_keep_times_and_readable_modes(show: Path, tmp_path: Path) -> None:
    (show / "feed" / "feed.xml").chmod(0o600)
    out = build_site(show, tmp_path / "site")
    for rel in ("feed/feed.xml", "episodes/spin-cycle/spin-cycle-0123456789.mp3"):
        assert (out / rel).stat().st_mtime_ns == (show / rel).stat().st_mtime_ns
        assert (out / rel).stat().st_mode & 0o777 == 0o644  # a web server must read them


def test_rebuild_copies_only_what_changed_and_removes_what_is_gone(
    show: Path, tmp_path: Path
) -> None:
    out = build_site(show, tmp_path / "site")
    mp3 = out / "episodes/spin-cycle/spin-cycle-0123456789.mp3"
    inode = mp3.stat().st_ino
    (out / "CNAME").write_text("podcast.example.org\n")  # the host's own file: kept
    (out / "feed" / ".tmp-feed.xml.abc").write_text("half a copy")  # an interrupted build
    (out / "episodes" / "old-episode").mkdir()
    (out / "episodes" / "old-episode" / "old-1111111111.mp3").write_bytes(b"old")
    feed = show / "feed" / "feed.xml"
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel/></rss>')
    os.utime(feed, ns=(feed.stat().st_atime_ns, feed.stat().st_mtime_ns + 10**9))
    (show / "episodes/spin-cycle/transcript-0123456789.srt").unlink()

    build_site(show, out)

    assert mp3.stat().st_ino == inode  # unchanged: not copied again
    assert (out / "feed" / "feed.xml").read_bytes() == feed.read_bytes()
    gone = "episodes/spin-cycle/transcript-0123456789.srt"
    assert set(files_under(out)) == (PUBLISHED - {gone}) | {"CNAME"}
    assert not (out / "episodes" / "old-episode").exists()


def test_feed_is_copied_last(show: Path) -> None:
    order = [rel.as_posix() for rel, _ in published_files(show)]
    assert order[-1] == "feed/feed.xml"
    assert all(rel.startswith("episodes/") for rel in order[: len(order) - 2])
    assert set(order) == PUBLISHED


@pytest.mark.parametrize(
    "inside",
    [
        ".",
        "reviews/site",
        "templates",
        "voices/x",
        ".reviewcast/site",
        "episodes/site",
        "feed",
        "feed/site",
    ],
)
def test_refuses_to_write_into_the_show(show: Path, inside: str) -> None:
    (show / "voices").mkdir(exist_ok=True)
    before = files_under(show)
    with pytest.raises(ReviewcastError, match="cannot be built"):
        build_site(show, show / inside)
    assert files_under(show) == before


def test_refuses_an_output_whose_folders_link_into_the_show(show: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "episodes").symlink_to(show / "episodes")
    before = files_under(show)
    with pytest.raises(ReviewcastError, match="episodes/"):
        build_site(show, out)
    assert files_under(show) == before


def test_a_folder_beside_the_private_ones_is_fine(show: Path) -> None:
    out = build_site(show, show / "_site")
    assert set(files_under(out)) == PUBLISHED


def test_refuses_a_file_as_output(show: Path, tmp_path: Path) -> None:
    target = tmp_path / "site.txt"
    target.write_text("mine")
    with pytest.raises(ReviewcastError, match="not a folder"):
        build_site(show, target)
    assert target.read_text() == "mine"


def test_needs_a_feed(show: Path, tmp_path: Path) -> None:
    (show / "feed" / "feed.xml").unlink()
    with pytest.raises(ReviewcastError, match="reviewcast render"):
        build_site(show, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_needs_a_show(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"show\.toml"):
        build_site(tmp_path, tmp_path / "site")


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("episodes/a/a-1.mp3", True),
        ("feed/feed.xml", True),
        ("feed/index.html", True),
        ("episodes/a/episode.json", False),
        ("episodes/a/chapters-1.json", True),
        ("episodes/a/.tmp-a-1.mp3.x", False),
        ("episodes/.hidden/a.mp3", False),
        ("feed/.DS_Store", False),
        ("feed/feed.xml~", False),
        ("reviews/a.md", False),
        ("show.toml", False),
        ("feed", False),
        ("episodes/../show.toml", False),
        ("episodes/a\\b.mp3", False),
    ],
)
def test_is_published(rel: str, expected: bool) -> None:
    assert is_published(PurePosixPath(rel)) is expected


def test_media_types() -> None:
    assert media_type("chapters-abc.json") == "application/json+chapters"
    assert media_type("episode.json") == "application/json"
    assert media_type("a.MP3") == "audio/mpeg"
    assert media_type("transcript-1.srt") == "application/x-subrip; charset=utf-8"
    assert media_type("notes.bak") is None


def test_nginx_snippet_names_the_types_cors_and_privacy() -> None:
    for needed in (
        "audio/mpeg",
        "application/rss+xml",
        "text/vtt",
        "application/x-subrip",
        "application/json+chapters",
        "image/jpeg",
        "image/png",
        "Access-Control-Allow-Origin",
        r"/\.",  # hidden and .tmp- files
        "episode",
    ):
        assert needed in NGINX_SNIPPET, needed
    assert NGINX_SNIPPET.count("{") == NGINX_SNIPPET.count("}")
    # Every directive line ends with ';' or opens/closes a block (nginx rejects anything else).
    for line in NGINX_SNIPPET.splitlines():
        code = line.split("#", 1)[0].strip()
        assert not code or re.search(r"[;{}]$", code), line
