"""Episode records: episode.json round trips, stable output, atomic saves, loud corruption."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewcast import fsutil
from reviewcast.errors import ReviewcastError
from reviewcast.models import Chapter, EpisodeRecord
from reviewcast.records import (
    find_record_for_source,
    load_records,
    record_from_json,
    record_to_json,
    save_record,
)

CET = dt.timezone(dt.timedelta(hours=1))


def make_record(number: int = 1, **changes: object) -> EpisodeRecord:
    slug = str(changes.pop("slug", f"episode-{number}"))
    record = EpisodeRecord(
        slug=slug,
        guid=f"urn:uuid:00000000-0000-4000-8000-{number:012d}",
        source=f"reviews/{slug}.md",
        title=f"Episode {number}",
        summary="A short summary.",
        notes_html="<p>Notes.</p>",
        pub_date=dt.datetime(2024, 3, number, 8, 0, tzinfo=CET),
        number=number,
        duration=312.5,
        audio=f"episodes/{slug}/{slug}.mp3",
        length=4_812_345,
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


FULL = make_record(
    7,
    slug="björk-homogenic",
    cover="episodes/björk-homogenic/cover.jpg",
    chapters_json="episodes/björk-homogenic/chapters.json",
    transcript_vtt="episodes/björk-homogenic/transcript.vtt",
    transcript_srt="episodes/björk-homogenic/transcript.srt",
    chapters=(
        Chapter("Intro", 0.0, 12.25, kind="intro"),
        Chapter("Jóga", 12.25, 300.0, track_number=1),
    ),
    artist="Björk",
    album="Homogenic",
    reviewer="Zoë Ω",
    language="de",
    explicit=True,
    fingerprint="sha256:abc",
)


def test_full_record_round_trips() -> None:
    text = record_to_json(FULL)
    assert record_from_json(text, Path("episode.json")) == FULL


def test_minimal_record_round_trips_with_defaults() -> None:
    minimal = make_record(2)
    data = json.loads(record_to_json(minimal))
    for name in ("cover", "chapters", "explicit", "fingerprint", "language"):
        del data[name]  # optional fields may be left out of a hand-written record
    assert record_from_json(json.dumps(data), Path("episode.json")) == minimal


def test_json_is_stable_sorted_and_iso() -> None:
    text = record_to_json(FULL)
    assert text == record_to_json(FULL)
    assert text.endswith("}\n")
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["pub_date"] == "2024-03-07T08:00:00+01:00"
    assert data["chapters"][1] == {
        "title": "Jóga",
        "start": 12.25,
        "end": 300.0,
        "track_number": 1,
        "kind": "track",
    }
    assert "björk" in text  # readable UTF-8, not \u escapes


def test_integer_seconds_read_as_float() -> None:
    data = json.loads(record_to_json(make_record()))
    data["duration"] = 300
    record = record_from_json(json.dumps(data), Path("episode.json"))
    assert record.duration == 300.0
    assert isinstance(record.duration, float)


@settings(max_examples=50, deadline=None)
@given(
    title=st.text(),
    notes=st.text(),
    duration=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    length=st.integers(min_value=0, max_value=2**40),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_round_trip_property(
    title: str, notes: str, duration: float, length: int, offset: int
) -> None:
    tz = dt.timezone(dt.timedelta(minutes=offset))
    record = make_record(
        3,
        title=title,
        notes_html=notes,
        duration=duration,
        length=length,
        pub_date=dt.datetime(2023, 12, 31, 23, 59, 59, 123456, tzinfo=tz),
    )
    assert record_from_json(record_to_json(record), Path("e.json")) == record


def test_save_then_load(tmp_path: Path) -> None:
    save_record(tmp_path, FULL)
    path = tmp_path / "episodes" / "björk-homogenic" / "episode.json"
    assert path.read_text(encoding="utf-8") == record_to_json(FULL)
    assert load_records(tmp_path) == [FULL]


def test_load_without_episodes_folder(tmp_path: Path) -> None:
    assert load_records(tmp_path) == []


def test_load_orders_oldest_first(tmp_path: Path) -> None:
    late = make_record(3)
    early = make_record(1)
    same_day_higher_number = make_record(5, pub_date=early.pub_date)
    for record in (late, same_day_higher_number, early):
        save_record(tmp_path, record)
    assert load_records(tmp_path) == [early, same_day_higher_number, late]


def test_save_overwrites(tmp_path: Path) -> None:
    save_record(tmp_path, make_record(1))
    changed = make_record(1, title="New title")
    save_record(tmp_path, changed)
    assert load_records(tmp_path) == [changed]


def test_failed_save_keeps_the_old_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = make_record(1)
    save_record(tmp_path, old)

    def half_then_fail(self: Path, data: bytes) -> int:
        with self.open("wb") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(ReviewcastError, match="No space left on device"):
        save_record(tmp_path, make_record(1, title="Never written"))
    monkeypatch.undo()

    assert load_records(tmp_path) == [old]
    folder = tmp_path / "episodes" / "episode-1"
    assert [p.name for p in folder.iterdir()] == ["episode.json"]  # no temporary left behind
    assert not list(folder.glob(fsutil.TEMP_PREFIX + "*"))


@pytest.mark.parametrize("slug", ["", ".", "..", "a/b", "..\\evil"])
def test_save_refuses_slugs_that_are_not_folder_names(tmp_path: Path, slug: str) -> None:
    with pytest.raises(ReviewcastError, match="plain folder name"):
        save_record(tmp_path, make_record(1, slug=slug))


def _write(tmp_path: Path, slug: str, content: str | bytes) -> Path:
    path = tmp_path / "episodes" / slug / "episode.json"
    path.parent.mkdir(parents=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_corrupt_json_is_reported_not_skipped(tmp_path: Path) -> None:
    save_record(tmp_path, make_record(1))
    bad = _write(tmp_path, "episode-2", '{"slug": "episode-2", ')
    with pytest.raises(ReviewcastError) as info:
        load_records(tmp_path)
    assert info.value.path == bad
    assert str(bad) in str(info.value)
    assert "not valid JSON" in str(info.value)
    assert "delete it and build the show again" in str(info.value)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    data = json.loads(record_to_json(make_record(1)))
    data["number"] = "one"
    data["length"] = True
    data["pub_date"] = "2024-03-01T08:00:00"  # no time zone
    data["chapters"] = [{"title": "Intro", "start": "zero", "end": 1.0, "kind": "coda"}]
    data["colour"] = "blue"
    del data["guid"]
    path = _write(tmp_path, "episode-1", json.dumps(data))
    with pytest.raises(ReviewcastError) as info:
        load_records(tmp_path)
    message = str(info.value)
    assert info.value.path == path
    assert "'number' should be a whole number, not the string 'one'" in message
    assert "'length' should be a whole number, not true/false" in message
    assert "'pub_date' has no time zone" in message
    assert "'chapters[0].start' should be a number" in message
    assert "'chapters[0].kind' should be one of 'intro', 'track', 'outro'" in message
    assert "unknown field 'colour'" in message
    assert "missing field 'guid'" in message


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(tmp_path: Path, number: str) -> None:
    text = record_to_json(make_record(1)).replace('"duration": 312.5', f'"duration": {number}')
    _write(tmp_path, "episode-1", text)
    with pytest.raises(ReviewcastError, match="'duration' should be a finite number"):
        load_records(tmp_path)


@pytest.mark.parametrize("content", ["[]", '"text"', "null"])
def test_record_must_be_an_object(tmp_path: Path, content: str) -> None:
    _write(tmp_path, "episode-1", content)
    with pytest.raises(ReviewcastError, match="must be a JSON object"):
        load_records(tmp_path)


def test_bad_date_is_reported(tmp_path: Path) -> None:
    data = json.loads(record_to_json(make_record(1)))
    data["pub_date"] = "last Tuesday"
    _write(tmp_path, "episode-1", json.dumps(data))
    with pytest.raises(ReviewcastError, match="not an ISO 8601 date-time: 'last Tuesday'"):
        load_records(tmp_path)


def test_non_utf8_record_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, "episode-1", b'{"title": "\xff"}')
    with pytest.raises(ReviewcastError, match="not UTF-8") as info:
        load_records(tmp_path)
    assert info.value.path == path


def test_record_in_the_wrong_folder_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "renamed", record_to_json(make_record(1)))
    with pytest.raises(ReviewcastError, match="slug is 'episode-1' but it sits in the folder"):
        load_records(tmp_path)


def test_find_record_for_source() -> None:
    records = [make_record(1), make_record(2)]
    assert find_record_for_source(records, "reviews/episode-2.md") == records[1]
    assert find_record_for_source(records, "./reviews/episode-1.md") == records[0]
    assert find_record_for_source(records, "reviews\\episode-1.md") == records[0]
    assert find_record_for_source(records, "reviews/episode-3.md") is None
    assert find_record_for_source([], "reviews/episode-1.md") is None
