"""The show's index (.reviewcast/index, BENCHMARKS.md figure 5): a render of an unchanged show
reads records, review fingerprints and feed items from it, and whatever changed is read again.

Most tests pretend the show's files were written long ago (``old_files``): the index keeps no
entry for a file changed within ``index.SETTLED_NS`` of the moment it was read, and the files
a test writes are always that recent.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import struct
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import lxml.etree  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewcast import feed, index, pipeline, records
from reviewcast.config import load_config
from reviewcast.errors import ReviewcastError
from reviewcast.feed import _add_item, _channel, build_feed
from reviewcast.index import INDEX_PATH, ShowIndex
from reviewcast.models import Chapter, EpisodeRecord
from reviewcast.page import render_page
from reviewcast.pipeline import find_reviews, plan
from reviewcast.records import load_records, scan_records
from tests.test_feed import HOSTILE, make_config, make_record, rich_record
from tests.test_incremental import run as render
from tests.test_incremental import write_reviews

ARTWORK = "https://example.org/podcast/feed/cover.jpg"


@pytest.fixture
def old_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Renders read the clock a minute late: every file counts as settled."""
    monkeypatch.setattr(index, "now_ns", lambda: time.time_ns() + 60 * 10**9)


@pytest.fixture
def rendered(show: Path, old_files: None) -> Path:
    """A show of three rendered reviews whose index knows every record, review and item."""
    write_reviews(show, 3)
    assert render(show) == 0
    (show / "show.toml").touch()  # the feed is written again, now from an index that knows all
    assert render(show) == 0
    assert len(ShowIndex.load(show)._stored) == 3
    return show


def feed_from_scratch(show: Path) -> bytes:
    """The feed as a render with no index writes it."""
    config = load_config(show)
    empty = ShowIndex(show)
    return build_feed(
        config,
        load_records(show, index=empty),
        artwork_url=config.base + "feed/cover.jpg",
        items=empty,
    )


def refuse(*args: object, **kwargs: object) -> object:
    raise AssertionError("read again although unchanged")


# -- the feed is the same, item by item or as one tree ------------------------------------------


def whole_tree(records: list[EpisodeRecord], **settings: object) -> bytes:
    """The feed as it was written before items were kept: every item in one lxml tree."""
    config = make_config(Path(), **settings)
    ordered = sorted(records, key=lambda r: (r.pub_date, r.number), reverse=True)
    rss, doc = _channel(config, ordered, artwork_url=ARTWORK)
    for record in ordered:
        _add_item(rss[0], config, record)
    data: bytes = lxml.etree.tostring(
        doc, pretty_print=True, encoding="UTF-8", xml_declaration=True
    )
    return data


class Items:
    """An ItemCache that keeps every item it is given."""

    def __init__(self) -> None:
        self.kept: dict[int, tuple[str, bytes]] = {}

    def item(self, record: EpisodeRecord, context: str) -> bytes | None:
        kept = self.kept.get(id(record))
        return kept[1] if kept and kept[0] == context else None

    def learn_item(self, record: EpisodeRecord, context: str, item: bytes) -> None:
        self.kept[id(record)] = (context, item)


@pytest.mark.parametrize("explicit", [False, True])
def test_items_spliced_into_the_channel_are_the_whole_tree(explicit: bool) -> None:
    many = [make_record(n, explicit=n % 3 == 0) for n in range(1, 29)]
    hostile = [
        make_record(
            n,
            slug=f"hostile-{n}",
            guid=f"urn:hostile:{n}",
            title=text,
            notes_html=f"<p>{text}</p>",
            summary=text,
            reviewer=text,
            chapters=(Chapter(text, 0.0, 1.0),),
        )
        for n, text in enumerate(HOSTILE.values(), 1)
    ]
    rich = dataclasses.replace(rich_record(), guid="urn:rich")
    for records_ in ([rich], many, [*many, rich], hostile):
        config = make_config(Path(), explicit=explicit)
        expected = whole_tree(records_, explicit=explicit)
        assert build_feed(config, records_, artwork_url=ARTWORK) == expected
        items = Items()
        assert build_feed(config, records_, artwork_url=ARTWORK, items=items) == expected
        assert len(items.kept) == len(records_)
        # Second time round every item comes from the cache, and the bytes are the same.
        assert build_feed(config, records_, artwork_url=ARTWORK, items=items) == expected


def test_items_made_for_other_settings_are_not_used() -> None:
    record = rich_record()
    items = Items()
    build_feed(make_config(Path()), [record], artwork_url=ARTWORK, items=items)
    for changes in ({"base_url": "https://elsewhere.example/"}, {"explicit": True}):
        config = make_config(Path(), **changes)
        expected = build_feed(config, [record], artwork_url=ARTWORK)
        assert build_feed(config, [record], artwork_url=ARTWORK, items=items) == expected
    assert b"elsewhere.example" in build_feed(
        make_config(Path(), base_url="https://elsewhere.example/"),
        [record],
        artwork_url=ARTWORK,
        items=items,
    )


# -- an unchanged show comes from the index -----------------------------------------------------


def test_an_unchanged_show_is_read_from_the_index(
    rendered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    show = rendered
    config = load_config(show)
    expected_records = load_records(show, index=ShowIndex(show))  # read from the files
    expected_feed = feed_from_scratch(show)
    monkeypatch.setattr(records, "record_from_json", refuse)
    monkeypatch.setattr(pipeline, "_review_parts", refuse)
    monkeypatch.setattr(feed._ItemWriter, "item", refuse)
    loaded = ShowIndex.load(show)
    assert load_records(show, index=loaded) == expected_records
    assert not any(p.needed for p in plan(config, find_reviews(config), expected_records))
    found = load_records(show, index=loaded)
    url = config.base + "feed/cover.jpg"
    assert build_feed(config, found, artwork_url=url, items=loaded) == expected_feed
    assert (show / "feed" / "feed.xml").read_bytes() == expected_feed


def test_a_record_from_the_index_is_the_record_in_its_file(rendered: Path) -> None:
    loaded = ShowIndex.load(rendered)
    from_index = load_records(rendered, index=loaded)
    assert all(isinstance(r, index.IndexedRecord) for r in from_index)  # none read from a file
    for record in from_index:
        path = rendered / "episodes" / record.slug / "episode.json"
        text = path.read_text(encoding="utf-8")
        parsed = records.record_from_json(text, path)
        assert record == parsed and parsed == record
        assert hash(record) == hash(parsed)
        assert records.record_to_json(record) == text  # every field, as the file has it
        assert dataclasses.asdict(record) == dataclasses.asdict(parsed)
        assert record.chapters and all(type(c) is Chapter for c in record.chapters)
        assert type(record.pub_date) is type(parsed.pub_date)
        assert record.pub_date.utcoffset() == parsed.pub_date.utcoffset()
        changed = dataclasses.replace(record, title="Another")
        assert changed == dataclasses.replace(parsed, title="Another") and changed != parsed
        assert pickle.loads(pickle.dumps(record)) == parsed
        assert repr(record).endswith(repr(parsed).removeprefix("EpisodeRecord"))
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.title = "x"  # type: ignore[misc]
    other = load_records(rendered, index=ShowIndex.load(rendered))[0]
    assert other != dataclasses.replace(from_index[0], number=99)
    assert {*from_index} == {*load_records(rendered, index=ShowIndex(rendered))}


def page_from_scratch(show: Path) -> str:
    config = load_config(show)
    return render_page(
        config,
        load_records(show, index=ShowIndex(show)),
        artwork_url=config.base + "feed/cover.jpg",
    )


def test_a_show_rendered_step_by_step_publishes_what_a_fresh_render_would(rendered: Path) -> None:
    """Whatever a render took from the index, the feed and the page are those made from the
    files alone."""
    show = rendered
    paths = sorted((show / "reviews").glob("*.md"))

    def steps() -> Iterator[str]:
        paths[1].write_text(paths[1].read_text().replace("number 1.", "the first."))
        yield "a review edited"
        write_reviews(show, 4)[3].touch()
        yield "a review added"
        (show / "reviews" / "review-02.toml").write_text('reviewer = "Ann Other"\n')
        yield "a sidecar added"
        toml = (show / "show.toml").read_text()
        assert 'description = "' in toml and "\nexplicit = false\n" in toml
        (show / "show.toml").write_text(toml.replace('description = "', 'description = "New. '))
        yield "the channel's description changed"
        record = load_records(show)[0]
        path = show / "episodes" / record.slug / "episode.json"
        path.write_text(path.read_text().replace('"Review ', '"A review '))
        yield "a record edited by hand"
        (show / "show.toml").write_text(toml.replace("\nexplicit = false\n", "\nexplicit = true\n"))
        yield "every item changes"

    for step in steps():
        for _ in range(2):  # the second learns the records the first published
            assert render(show) == 0, step
            assert (show / "feed" / "feed.xml").read_bytes() == feed_from_scratch(show), step
            assert (show / "feed" / "index.html").read_text() == page_from_scratch(show), step
        assert len(ShowIndex.load(show)._stored) == len(load_records(show)), step


def test_a_no_op_render_leaves_the_index_alone(rendered: Path) -> None:
    before = (rendered / INDEX_PATH).stat()
    assert render(rendered) == 0
    after = (rendered / INDEX_PATH).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_files_changed_just_before_they_are_read_are_not_kept(show: Path) -> None:
    """With the real clock, what a test has just written is too recent to be trusted later."""
    paths = write_reviews(show, 2)
    records.save_record(show, make_record(1))
    loaded = ShowIndex.load(show)
    found = load_records(show, index=loaded)
    plan(load_config(show), paths, found, index=loaded)
    loaded.save(found)
    again = ShowIndex.load(show)
    assert again._stored == {} and again._reviews == {}


# -- whatever changed is read again ---------------------------------------------------------------


def same_size_edit(path: Path, old: str, new: str, *, keep_mtime: bool = True) -> None:
    """Change ``path``'s bytes without changing its size, and put its mtime back."""
    assert len(old.encode()) == len(new.encode())
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert after.st_size == before.st_size
    assert not keep_mtime or after.st_mtime_ns == before.st_mtime_ns


def test_a_record_edited_by_hand_is_read_again(rendered: Path) -> None:
    record = load_records(rendered)[0]
    path = rendered / "episodes" / record.slug / "episode.json"
    same_size_edit(path, '"Review 0"', '"Revue 00"', keep_mtime=False)
    assert load_records(rendered)[0].title == "Revue 00"
    assert render(rendered) == 0  # the record is newer than the feed: it is written again
    assert b"<title>Revue 00</title>" in (rendered / "feed" / "feed.xml").read_bytes()
    assert (rendered / "feed" / "feed.xml").read_bytes() == feed_from_scratch(rendered)


def test_a_record_edited_in_place_with_its_mtime_put_back_is_read_again(rendered: Path) -> None:
    record = load_records(rendered)[0]
    path = rendered / "episodes" / record.slug / "episode.json"
    same_size_edit(path, '"Review 0"', '"Revue 00"')
    assert load_records(rendered)[0].title == "Revue 00"


def test_a_review_edited_is_planned_again(rendered: Path) -> None:
    config = load_config(rendered)
    path = rendered / "reviews" / "review-01.md"
    same_size_edit(path, "number 1.", "number I.")
    reasons = {
        p.path.name: p.reasons for p in plan(config, find_reviews(config), load_records(rendered))
    }
    assert reasons == {"review-00.md": (), "review-01.md": ("review changed",), "review-02.md": ()}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("review-02.toml", "sidecar changed"),
        ("review-02.tracks.txt", "tracklist changed"),
        ("review-02.musicbrainz.json", "tracklist changed"),
    ],
)
def test_a_file_put_beside_a_review_is_noticed(rendered: Path, name: str, reason: str) -> None:
    config = load_config(rendered)
    (rendered / "reviews" / name).write_text('reviewer = "Ann"\n')
    plans = {
        p.path.name: p.reasons for p in plan(config, find_reviews(config), load_records(rendered))
    }
    assert plans["review-02.md"] == (reason,)
    assert plans["review-00.md"] == ()


def test_a_file_replaced_by_one_of_the_same_size_and_time_is_noticed(rendered: Path) -> None:
    """A file renamed over another (an editor's save, a sync tool), same size, same mtime."""
    config = load_config(rendered)
    for path, old, new in (
        (rendered / "reviews" / "review-00.md", "number 0.", "number O."),
        (next((rendered / "episodes").glob("review-0*/episode.json")), '"Review ', '"Revue! '),
    ):
        before = path.stat()
        replacement = path.with_name("replacement")
        replacement.write_text(path.read_text().replace(old, new, 1))
        os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
        replacement.replace(path)
        assert (path.stat().st_size, path.stat().st_mtime_ns) == (
            before.st_size,
            before.st_mtime_ns,
        )
    records_ = load_records(rendered)
    assert any(r.title.startswith("Revue! ") for r in records_)
    reasons = {p.path.name: p.reasons for p in plan(config, find_reviews(config), records_)}
    assert reasons["review-00.md"] == ("review changed",)


def coarse_key(st: os.stat_result) -> index.StatKey:
    """A file system that keeps whole seconds and no ctime (FAT, some network shares)."""
    seconds = st.st_mtime_ns // 10**9 * 10**9
    return (st.st_ino, st.st_size, seconds, seconds)


@pytest.mark.parametrize("settled_ns", [index.SETTLED_NS, 0])
def test_racy_files_on_a_coarse_file_system(
    show: Path, monkeypatch: pytest.MonkeyPatch, settled_ns: int
) -> None:
    """A review read in the same second it was written, then changed within that second: on a
    file system that keeps whole seconds, its stat is unchanged. The index keeps no entry for
    it, so the change is seen; without that rule (settled_ns=0) it would be missed."""
    for module in (index, records, pipeline):
        monkeypatch.setattr(module, "stat_key", coarse_key)
    monkeypatch.setattr(index, "SETTLED_NS", settled_ns)
    (path,) = write_reviews(show, 1)
    written = path.stat().st_mtime_ns
    # Read half a second after it was written, however busy the machine.
    monkeypatch.setattr(index, "now_ns", lambda: written + 500_000_000)
    config = load_config(show)
    first = ShowIndex.load(show)
    (before,) = plan(config, [path], [], index=first)
    first.save([])
    same_size_edit(path, "number 0.", "number O.")  # within the second: the same coarse stat
    (after,) = plan(config, [path], [], index=ShowIndex.load(show))
    assert (after.fingerprint != before.fingerprint) == (settled_ns > 0)


# -- a bad index is never trusted ---------------------------------------------------------------


def damage_index(show: Path, how: str) -> None:
    target = show / INDEX_PATH
    data = bytearray(target.read_bytes())
    _, _, entries, _, _ = struct.unpack_from(">16sIQIQ", data)
    header = struct.calcsize(">16sIQIQ")
    if how == "missing":
        target.unlink()
    elif how == "empty":
        target.write_bytes(b"")
    elif how == "truncated":
        target.write_bytes(data[: len(data) // 2])
    elif how == "entries flipped":
        data[header + entries // 2] ^= 0xFF
        target.write_bytes(data)
    elif how == "item flipped":
        data[header + entries + 100] ^= 0x20
        target.write_bytes(data)
    elif how == "garbage":
        target.write_bytes(os.urandom(len(data)))
    elif how == "a folder":
        target.unlink()
        target.mkdir()
    else:
        raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    ["missing", "empty", "truncated", "entries flipped", "item flipped", "garbage", "a folder"],
)
def test_a_damaged_index_is_rebuilt(rendered: Path, how: str) -> None:
    expected = feed_from_scratch(rendered)
    damage_index(rendered, how)
    assert load_records(rendered) == load_records(rendered, index=ShowIndex(rendered))
    (rendered / "show.toml").touch()  # so the feed is written again, from whatever is known
    assert render(rendered) == 0
    assert (rendered / "feed" / "feed.xml").read_bytes() == expected
    if how == "a folder":
        return  # nothing can be written there; every render reads the files
    shutil.rmtree(rendered / "feed")
    assert render(rendered) == 0  # rebuilt and trusted again
    assert (rendered / "feed" / "feed.xml").read_bytes() == expected
    assert len(ShowIndex.load(rendered)._stored) == 3


@pytest.mark.parametrize("what", ["format", "code"])
def test_an_index_of_another_version_is_not_read(
    rendered: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    if what == "format":
        monkeypatch.setattr(index, "FORMAT", index.FORMAT + 1)
    else:
        monkeypatch.setattr(index, "code_key", lambda: "another reviewcast")
    assert ShowIndex.load(rendered)._stored == {}
    monkeypatch.setattr(records, "record_from_json", refuse)
    with pytest.raises(AssertionError, match="read again"):
        load_records(rendered)


def test_a_bad_record_is_still_reported_by_name(rendered: Path) -> None:
    record = load_records(rendered)[1]
    path = rendered / "episodes" / record.slug / "episode.json"
    data = json.loads(path.read_text())
    data["number"] = "two"
    path.write_text(json.dumps(data))
    with pytest.raises(ReviewcastError, match="'number' should be a whole number") as info:
        load_records(rendered)
    assert info.value.path == path
    assert render(rendered) != 0


def test_a_removed_episode_leaves_the_index(rendered: Path) -> None:
    record = load_records(rendered)[0]
    shutil.rmtree(rendered / "episodes" / record.slug)
    (rendered / "reviews" / "review-00.md").unlink()
    assert render(rendered) == 0
    assert sorted(ShowIndex.load(rendered)._stored) == sorted(
        r.slug for r in load_records(rendered)
    )


def test_the_newest_record_time_is_the_files(rendered: Path) -> None:
    scan = scan_records(rendered)
    assert scan.newest_ns == max(
        p.stat().st_mtime_ns for p in (rendered / "episodes").glob("*/episode.json")
    )


# -- helpers that got faster ----------------------------------------------------------------------


@given(st.text(alphabet="a./\\", max_size=12))
def test_sources_are_normalised_as_pure_posix_paths_do(source: str) -> None:
    expected = PurePosixPath(source.replace("\\", "/")).as_posix()
    assert records._normal_source(source) == expected
