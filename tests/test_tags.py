# mutagen ships py.typed but leaves its functions unannotated.
# mypy: disallow-untyped-calls=False
"""ID3v2.3 tags and chapters, read back by mutagen and by ffmpeg."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mutagen.id3 import ID3, CTOCFlags, PictureType
from mutagen.mp3 import MP3
from PIL import Image

from reviewcast.models import Chapter
from reviewcast.tags import iso_639_2, write_tags

TITLE = "Mötley Crüe — “Dr. Feelgood” 🎸 ‏שלום"
SHOW = "Ünderground Reviews"
CHAPTERS = [
    Chapter("Intro", 0.0, 0.8),
    Chapter("Kickstart My Heart 💓", 0.8, 2.25, track_number=5),
    Chapter("Outro", 2.25, 3.0),
]


def ffmpeg() -> str:
    """ffmpeg from PATH, else the one that imageio-ffmpeg ships."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@pytest.fixture(scope="module")
def plain_mp3(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Three seconds of tone, encoded by ffmpeg (which adds its own ID3v2.4 tag)."""
    out = tmp_path_factory.mktemp("mp3") / "tone.mp3"
    subprocess.run(
        [ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
         "-ac", "1", "-ar", "44100", "-b:a", "64k", str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


@pytest.fixture(scope="module")
def cover() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1400, 1400), (200, 40, 90)).save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.fixture
def tagged(tmp_path: Path, plain_mp3: bytes, cover: bytes) -> Path:
    mp3 = tmp_path / "episode.mp3"
    mp3.write_bytes(plain_mp3)
    write_tags(
        mp3,
        title=TITLE,
        show=SHOW,
        date=dt.date(2024, 3, 9),
        comment="Show notes: ünïcödé & more",
        cover_jpeg=cover,
        chapters=CHAPTERS,
        language="de",
        track_number=7,
    )
    return mp3


def ffmetadata(mp3: Path) -> str:
    result = subprocess.run(
        [ffmpeg(), "-v", "error", "-i", str(mp3), "-f", "ffmetadata", "-"],
        check=True,
        capture_output=True,
    )
    return result.stdout.decode("utf-8")


def ffmpeg_chapters(text: str) -> list[dict[str, str]]:
    chapters: list[dict[str, str]] = []
    for section in text.split("[CHAPTER]")[1:]:
        fields = dict(line.split("=", 1) for line in section.strip().splitlines() if "=" in line)
        chapters.append(fields)
    return chapters


def test_mutagen_reads_every_frame_back_from_an_id3v23_tag(tagged: Path, cover: bytes) -> None:
    tags = ID3(tagged, translate=False)  # as written, not upgraded to 2.4 on load
    assert tags.version == (2, 3, 0)
    assert str(tags["TIT2"]) == TITLE
    assert str(tags["TPE1"]) == SHOW
    assert str(tags["TALB"]) == SHOW
    assert (str(tags["TYER"]), str(tags["TDAT"])) == ("2024", "0903")
    assert "TDRC" not in tags  # a 2.4-only frame has no place in a 2.3 tag
    comments = tags.getall("COMM")
    assert [(c.lang, c.text[0]) for c in comments] == [("deu", "Show notes: ünïcödé & more")]
    assert str(tags["TLAN"]) == "deu"
    assert str(tags["TRCK"]) == "7"
    assert "TSSE" not in tags  # the encoder's old tag is gone
    (apic,) = tags.getall("APIC")
    assert (apic.type, apic.mime, apic.data) == (PictureType.COVER_FRONT, "image/jpeg", cover)


def test_chapters_are_a_top_level_ordered_toc_of_chap_frames(tagged: Path) -> None:
    tags = ID3(tagged, translate=False)
    (toc,) = tags.getall("CTOC")
    assert toc.flags & CTOCFlags.TOP_LEVEL and toc.flags & CTOCFlags.ORDERED
    assert toc.child_element_ids == ["chp0", "chp1", "chp2"]
    chaps = {chap.element_id: chap for chap in tags.getall("CHAP")}
    assert [
        (chaps[i].start_time, chaps[i].end_time, str(chaps[i].sub_frames["TIT2"]))
        for i in toc.child_element_ids
    ] == [(0, 800, "Intro"), (800, 2250, "Kickstart My Heart 💓"), (2250, 3000, "Outro")]


def test_ffmpeg_reads_tags_and_chapters_in_time_order(tagged: Path) -> None:
    text = ffmetadata(tagged)
    head = text.split("[CHAPTER]")[0]
    assert f"title={TITLE}" in head
    assert f"album={SHOW}" in head
    assert "date=2024" in head
    chapters = ffmpeg_chapters(text)
    assert [c["title"] for c in chapters] == [c.title for c in CHAPTERS]
    for found, chapter in zip(chapters, CHAPTERS, strict=True):
        assert found["TIMEBASE"] == "1/1000"
        # ffmpeg shifts chapters by the stream's start time, the encoder's ~25 ms of priming.
        assert abs(int(found["START"]) - chapter.start * 1000) <= 30
        assert abs(int(found["END"]) - chapter.end * 1000) <= 30


def test_many_chapters_stay_in_time_order_in_the_file(
    tmp_path: Path, plain_mp3: bytes, cover: bytes
) -> None:
    # Twelve chapters of different title lengths: ids chp10, chp11 sort before chp2 as text,
    # and mutagen would otherwise order frames by size.
    chapters = [Chapter("x" * (12 - i) + str(i), i * 0.25, (i + 1) * 0.25) for i in range(12)]
    mp3 = tmp_path / "many.mp3"
    mp3.write_bytes(plain_mp3)
    write_tags(
        mp3, title="t", show="s", date=dt.date(2024, 1, 1), comment="", cover_jpeg=cover,
        chapters=list(reversed(chapters)),
    )  # fmt: skip
    assert [c["title"] for c in ffmpeg_chapters(ffmetadata(mp3))] == [c.title for c in chapters]
    tags = ID3(mp3)
    assert tags["CTOC:toc"].child_element_ids == [f"chp{i}" for i in range(12)]
    assert not tags.getall("COMM") and not tags.getall("TLAN") and not tags.getall("TRCK")


def test_the_file_stays_a_valid_mp3(tagged: Path, plain_mp3: bytes) -> None:
    decoded = subprocess.run(
        [ffmpeg(), "-v", "error", "-i", str(tagged), "-f", "s16le", "-ac", "1", "-"],
        check=True,
        capture_output=True,
    )
    assert decoded.stderr == b""
    seconds = len(decoded.stdout) / 2 / 44100
    assert 2.9 < seconds < 3.2
    # mutagen declares MP3.info as None; it is an MPEGInfo once a file is loaded.
    tagged_info: Any = MP3(tagged).info
    plain_info: Any = MP3(io.BytesIO(plain_mp3)).info
    assert tagged_info.length == pytest.approx(plain_info.length)
    # The audio frames themselves are untouched: the file ends with the original's audio.
    original_audio = plain_mp3[-20_000:]
    assert tagged.read_bytes().endswith(original_audio)


def test_tagging_twice_gives_the_same_file(tagged: Path, cover: bytes) -> None:
    first = tagged.read_bytes()
    write_tags(
        tagged, title=TITLE, show=SHOW, date=dt.date(2024, 3, 9),
        comment="Show notes: ünïcödé & more", cover_jpeg=cover, chapters=CHAPTERS,
        language="de", track_number=7,
    )  # fmt: skip
    assert tagged.read_bytes() == first


def test_png_cover_is_labelled_png(tmp_path: Path, plain_mp3: bytes) -> None:
    png = io.BytesIO()
    Image.new("RGB", (1400, 1400), "white").save(png, "PNG")
    mp3 = tmp_path / "png.mp3"
    mp3.write_bytes(plain_mp3)
    write_tags(
        mp3, title="t", show="s", date=dt.date(2024, 1, 1), comment="c",
        cover_jpeg=png.getvalue(), chapters=[],
    )  # fmt: skip
    tags = ID3(mp3)
    assert tags.getall("APIC")[0].mime == "image/png"
    assert not tags.getall("CTOC") and not tags.getall("CHAP")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("en", "eng"), ("de", "deu"), ("fr-CA", "fra"), ("pt_BR", "por"), ("nl", "nld"),
     ("eng", "eng"), ("EN", "eng"), ("", None), (None, None), ("xx", None), ("e1", None)],
)  # fmt: skip
def test_iso_639_2(given: str | None, expected: str | None) -> None:
    assert iso_639_2(given) == expected
