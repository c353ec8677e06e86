"""What keeps a render of a big show fast (BENCHMARKS.md, figure 5), and that it stays right:
covers drawn once and cached, records read on a fast path, garbage collected only in the
folders a render wrote into, planning with one listing per folder."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
from pathlib import Path

import podcastparser
import pytest

from reviewcast import artwork
from reviewcast.artwork import ART_CACHE, cache_path, episode_cover, show_cover
from reviewcast.cli import main
from reviewcast.config import load_config
from reviewcast.errors import ReviewcastError
from reviewcast.pipeline import FEED_MARK, _feed_is_stale, find_reviews, plan
from reviewcast.publish import TOUCHED, collect_garbage, source_id, touched_folders
from reviewcast.records import _fast_record, load_records, record_from_json, record_to_json
from tests.test_incremental import run as render
from tests.test_incremental import write_reviews
from tests.test_records import FULL, make_record

# -- the cover cache ----------------------------------------------------------------------------


def entries(show: Path) -> list[Path]:
    return sorted(p for p in (show / ART_CACHE).rglob("*.art"))


def no_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any drawing fail: what follows must come from the cache."""

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("a cover was drawn")

    monkeypatch.setattr(artwork, "_jpeg", refuse)


def test_show_cover_is_drawn_once_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = show_cover("Spin Cycle")
    assert show_cover("Spin Cycle", cache_in=tmp_path) == drawn
    assert len(entries(tmp_path)) == 1
    with monkeypatch.context() as m:
        no_drawing(m)
        assert show_cover("Spin Cycle", cache_in=tmp_path) == drawn
    # Another title is another entry, never the first one's picture.
    other = show_cover("Another Show", cache_in=tmp_path)
    assert other == show_cover("Another Show") != drawn
    assert len(entries(tmp_path)) == 2


def test_episode_cover_is_cached_by_its_art_album_and_artist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = show_cover("Spin Cycle")
    drawn = episode_cover(base, "Homogenic", "Björk")
    assert episode_cover(base, "Homogenic", "Björk", cache_in=tmp_path) == drawn
    with monkeypatch.context() as m:
        no_drawing(m)
        assert episode_cover(base, "Homogenic", "Björk", cache_in=tmp_path) == drawn
    for album, artist, art in (
        ("Post", "Björk", base),
        ("Homogenic", None, base),
        ("Homogenic", "Björk", show_cover("Another Show")),
    ):
        assert episode_cover(art, album, artist, cache_in=tmp_path) == episode_cover(
            art, album, artist
        )
    assert len(entries(tmp_path)) == 4


@pytest.mark.parametrize(
    "damage",
    [
        lambda entry: b"",  # a power cut after the rename, before the data reached the disk
        lambda entry: entry[: len(entry) // 2],  # cut short
        lambda entry: entry[:100] + bytes([entry[100] ^ 0xFF]) + entry[101:],  # one bad byte
        lambda entry: entry[32:],  # the JPEG without its check
        lambda entry: b"\x00" * len(entry),
    ],
    ids=["empty", "truncated", "flipped byte", "no digest", "zeros"],
)
def test_a_damaged_cache_entry_is_drawn_again_and_repaired(tmp_path: Path, damage: object) -> None:
    drawn = show_cover("Spin Cycle", cache_in=tmp_path)
    (entry,) = entries(tmp_path)
    entry.write_bytes(damage(entry.read_bytes()))  # type: ignore[operator]
    assert show_cover("Spin Cycle", cache_in=tmp_path) == drawn
    assert entry.read_bytes()[32:] == drawn  # written again, whole


def test_the_key_names_the_drawing_code_and_pillow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ("show", "Spin Cycle", "1400")
    before = cache_path(tmp_path, key)
    monkeypatch.setattr(artwork, "DRAWING_VERSION", artwork.DRAWING_VERSION + "-changed")
    assert cache_path(tmp_path, key) != before
    monkeypatch.undo()
    monkeypatch.setattr(artwork.PIL, "__version__", "0.0.0")
    assert cache_path(tmp_path, key) != before


def test_an_unwritable_cache_still_gives_the_cover(tmp_path: Path) -> None:
    (tmp_path / ".reviewcast").write_text("a file where the cache's folder would go")
    assert show_cover("Spin Cycle", cache_in=tmp_path) == show_cover("Spin Cycle")


def test_a_render_reuses_the_cached_covers(show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = write_reviews(show, 1)
    assert render(show) == 0
    assert len(entries(show)) == 2  # the show's cover and the episode's
    published = {p.name: p.read_bytes() for p in (show / "episodes").rglob("cover-*.jpg")}
    show_art = (show / "feed" / "cover.jpg").read_bytes()
    (show / "feed" / "cover.jpg").unlink()
    paths[0].write_text(paths[0].read_text().replace("number 0", "number zero"))
    no_drawing(monkeypatch)
    assert render(show) == 0  # re-rendered and published without drawing a cover
    assert (show / "feed" / "cover.jpg").read_bytes() == show_art
    again = {p.name: p.read_bytes() for p in (show / "episodes").rglob("cover-*.jpg")}
    assert again == published


# -- records ------------------------------------------------------------------------------------


def test_the_fast_path_reads_what_the_slow_path_reads() -> None:
    for record in (FULL, make_record(3), make_record(4, explicit=True, chapters=())):
        data = json.loads(record_to_json(record))
        assert _fast_record(data) == record


BAD_VALUES = [
    ("number", True),  # JSON true is no number
    ("number", 1.5),
    ("duration", "12"),
    ("duration", None),
    ("length", -1.0),
    ("cover", 3),
    ("explicit", 0),
    ("pub_date", "2024-03-01T08:00:00"),  # no time zone
    ("pub_date", "yesterday"),
    ("chapters", {}),
    ("chapters", [{"title": "A", "start": 0, "end": 1, "kind": "solo"}]),
    ("chapters", [{"title": "A", "start": 0}]),
    ("chapters", [{"title": "A", "start": 0, "end": 1, "extra": 1}]),
    ("chapters", [{"title": "A", "start": True, "end": 1}]),
    ("unknown_field", "x"),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_what_the_fast_path_refuses_the_slow_path_reports(field: str, value: object) -> None:
    data = json.loads(record_to_json(FULL))
    data[field] = value
    assert _fast_record(data) is None
    with pytest.raises(ReviewcastError, match="not a valid episode record"):
        record_from_json(json.dumps(data), Path("episode.json"))


@pytest.mark.parametrize("field", ["slug", "number", "pub_date", "audio"])
def test_a_missing_required_field_takes_the_slow_path(field: str) -> None:
    data = json.loads(record_to_json(FULL))
    del data[field]
    assert _fast_record(data) is None
    with pytest.raises(ReviewcastError, match=f"missing field '{field}'"):
        record_from_json(json.dumps(data), Path("episode.json"))


# -- garbage collection and leftovers: only the folders a render wrote into --------------------


def test_a_render_names_its_folders_then_forgets_them_once_collected(show: Path) -> None:
    write_reviews(show, 2)
    assert render(show) == 0
    assert not (show / TOUCHED).exists()  # collected after the feed was written


def test_garbage_is_collected_in_the_folders_a_render_wrote_into(show: Path) -> None:
    paths = write_reviews(show, 2)
    assert render(show) == 0
    first, second = (show / "episodes" / r.slug for r in load_records(show))
    (first / "old-take-0123456789.mp3").write_bytes(b"left by hand")  # not ours to look at
    old_audio = sorted(second.glob("*.mp3"))
    paths[1].write_text(paths[1].read_text().replace("number 1", "number one"))
    assert render(show) == 0
    assert (first / "old-take-0123456789.mp3").exists()
    new_audio = sorted(second.glob("*.mp3"))
    assert len(new_audio) == 1 and new_audio != old_audio  # the superseded MP3 is gone
    assert not (show / TOUCHED).exists()


def test_a_killed_render_is_finished_by_the_next_one(show: Path) -> None:
    """A render killed after writing into two folders and before its feed: the next run,
    though it has nothing to render, removes its temporary files, its superseded file and the
    folder of an episode it never committed."""
    write_reviews(show, 2)
    assert render(show) == 0
    config = load_config(show)
    first, second = (show / "episodes" / r.slug for r in load_records(show))
    stray = show / "episodes" / "never-committed"
    # What the killed run did, in the order publish does it: name the folder, then write.
    for folder in (first, stray):
        (show / TOUCHED).open("a").write(folder.name + "\n")
        folder.mkdir(exist_ok=True)
        (folder / ".tmp-episode.json.abc123").write_text("half a record")
    (first / "transcript-0000000000.vtt").write_text("superseded")
    (second / ".tmp-elsewhere").write_text("not named in the journal")  # no render does this
    assert touched_folders(show) == {first.name, stray.name}
    assert not _feed_is_stale(config)
    assert main(["render", "--show", str(show), "--jobs", "1"]) == 0
    assert not (first / ".tmp-episode.json.abc123").exists()
    assert not (first / "transcript-0000000000.vtt").exists()
    assert not stray.exists()
    assert (second / ".tmp-elsewhere").exists()
    assert not (show / TOUCHED).exists()


def test_a_folder_without_a_record_goes_even_unnamed(show: Path) -> None:
    """Every folder's name is still checked: one whose record is gone is removed."""
    write_reviews(show, 1)
    assert render(show) == 0
    orphan = show / "episodes" / "orphan"
    orphan.mkdir()
    (orphan / "orphan-0123456789.mp3").write_bytes(b"x")
    collect_garbage(load_config(show), load_records(show))
    assert not orphan.exists()


def test_a_damaged_journal_cannot_reach_outside_the_episodes(show: Path) -> None:
    (show / TOUCHED).parent.mkdir(parents=True, exist_ok=True)
    (show / TOUCHED).write_text("..\n/etc\na/b\n\nok\n")
    assert touched_folders(show) == {"ok"}


def test_a_hand_edited_record_makes_the_feed_stale(show: Path) -> None:
    write_reviews(show, 2)
    assert render(show) == 0
    config = load_config(show)
    assert not _feed_is_stale(config)
    record = load_records(show)[0]
    path = show / "episodes" / record.slug / "episode.json"
    later = (show / ".reviewcast" / "feed-written").stat().st_mtime_ns + 10**9
    os.utime(path, ns=(later, later))
    assert _feed_is_stale(config)


def test_an_episode_folder_deleted_by_hand_leaves_the_feed(show: Path) -> None:
    """Unpublishing by hand (the review and its episode folder removed) leaves nothing newer
    than the feed behind; the render after it must still write the feed without the episode."""
    write_reviews(show, 2)
    assert render(show) == 0
    config = load_config(show)
    gone = load_records(show)[0]
    assert not _feed_is_stale(config, episodes=2)
    (show / gone.source).unlink()
    shutil.rmtree(show / "episodes" / gone.slug)
    assert _feed_is_stale(config, episodes=1)
    assert render(show) == 0
    feed = podcastparser.parse("feed.xml", io.BytesIO((show / "feed" / "feed.xml").read_bytes()))
    assert [e["title"] for e in feed["episodes"]] == [load_records(show)[0].title]
    assert not _feed_is_stale(config, episodes=1)
    (show / FEED_MARK).write_text("")  # as a version before the count wrote it: no answer
    assert not _feed_is_stale(config, episodes=5)


# -- planning -----------------------------------------------------------------------------------


def test_planning_a_show_with_sidecars_links_and_clips(show: Path, tmp_path: Path) -> None:
    paths = write_reviews(show, 3)
    (show / "reviews" / "review-01.toml").write_text('reviewer = "Ann"\n')
    (show / "reviews" / "review-02.tracks.txt").write_text("1. Opening Song\n")
    outside = tmp_path / "elsewhere.md"
    outside.write_text(paths[0].read_text())
    (show / "reviews" / "linked.md").symlink_to(outside)
    assert render(show) == 0
    config = load_config(show)
    records = load_records(show)
    assert {r.source for r in records} == {
        "reviews/review-00.md",
        "reviews/review-01.md",
        "reviews/review-02.md",
        outside.resolve().as_posix(),  # a link is known by what it points at
    }
    assert not any(p.needed for p in plan(config, find_reviews(config), records))
    # Each file beside a review is still seen, and a clip changes every review's fingerprint.
    (show / "reviews" / "review-00.musicbrainz.json").write_text("{}")
    (show / "reviews" / "review-02.tracks.txt").write_text("1. Opening Song\n2. Another\n")
    (show / "clips").mkdir()
    (show / "clips" / "Opening Song.mp3").write_bytes(b"clip")
    reasons = {p.path.name: p.reasons for p in plan(config, find_reviews(config), records)}
    assert reasons["review-00.md"] == ("clips changed", "tracklist changed")
    assert reasons["review-01.md"] == ("clips changed",)
    assert reasons["review-02.md"] == ("clips changed", "tracklist changed")


def test_source_ids_agree_with_resolving_each_path(show: Path, tmp_path: Path) -> None:
    config = load_config(show)
    (tmp_path / "real").mkdir()
    (show / "reviews" / "via-link").symlink_to(tmp_path / "real", target_is_directory=True)
    for path, expected in (
        (show / "reviews" / "a.md", "reviews/a.md"),
        (show / "reviews" / ".." / "reviews" / "a.md", "reviews/a.md"),
        (show / "reviews" / "via-link" / "b.md", (tmp_path / "real" / "b.md").as_posix()),
        (show, "."),
        (Path("/") / "elsewhere.md", "/elsewhere.md"),
    ):
        assert source_id(config, path) == expected
        resolved = path.resolve()
        old = (
            resolved.relative_to(show.resolve()).as_posix()
            if resolved.is_relative_to(show.resolve())
            else resolved.as_posix()
        )
        assert old == expected


def test_records_survive_a_round_trip_through_a_render(show: Path) -> None:
    write_reviews(show, 2)
    assert render(show) == 0
    for record in load_records(show):
        data = json.loads((show / "episodes" / record.slug / "episode.json").read_text())
        assert _fast_record(data) == record
        assert dataclasses.asdict(record)["slug"] == record.slug
