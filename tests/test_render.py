"""End to end: review files in, published episodes and a feed out.

The first test really synthesises the sample with the default engine (pyttsx3 → eSpeak NG) and
really encodes it, through the `reviewcast` command in a subprocess, as a user runs it. The rest
use the deterministic tone engine so that every bad input can be tried quickly.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import feedparser
import numpy as np
import podcastparser
import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from reviewcast.audio import WORK_RATE, builtin_cue, decode_mono, ffmpeg_exe, measure_file
from reviewcast.cli import main
from reviewcast.records import load_records

from .audio_helpers import find_cue
from .conftest import SAMPLES

SAMPLE_TRACKS = [
    "Init",
    "Forked Reality",
    "As Alive as You Need Me to Be",
    "I Know You Can Feel It",
    "Target Identified",
    "New Directive",
    "Shadow Over Me",
]


def run_cli(show: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "reviewcast", *args],
        cwd=show,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def snapshot(show: Path) -> dict[str, str]:
    """Every published file and its hash: what subscribers can see."""
    out = {}
    for folder in ("episodes", "feed"):
        for path in sorted((show / folder).rglob("*")):
            if path.is_file():
                out[path.relative_to(show).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return out


@pytest.mark.slow
def test_sample_renders_for_real_with_the_default_engine(tmp_path: Path) -> None:
    show = tmp_path / "show"
    result = run_cli(tmp_path, "init", str(show), "--title", "Spin Cycle", "-q")
    assert result.returncode == 0, result.stderr
    for name in ("tron-ares-ost.txt", "tron-ares-ost.tracks.txt"):
        shutil.copy(SAMPLES / name, show / "reviews" / name)

    result = run_cli(show, "render")
    assert result.returncode == 0, result.stderr
    assert "Audio saved" not in result.stdout  # pyttsx3's stray print is silenced
    assert "1 rendered" in result.stdout

    xml = (show / "feed" / "feed.xml").read_bytes()
    parsed = podcastparser.parse("http://127.0.0.1:8000/feed/feed.xml", io.BytesIO(xml))
    assert len(parsed["episodes"]) == 1
    episode = parsed["episodes"][0]
    enclosure = episode["enclosures"][0]
    local = show / enclosure["url"].removeprefix("http://127.0.0.1:8000/")
    assert enclosure["file_size"] == local.stat().st_size
    assert enclosure["mime_type"] == "audio/mpeg"
    assert [c["title"] for c in episode["chapters"]] == ["Intro", *SAMPLE_TRACKS, "Outro"]
    fp = feedparser.parse(xml)
    assert not fp.bozo
    assert fp.entries[0].published_parsed[:3] == (2025, 10, 12)
    guid = fp.entries[0].id

    info = MP3(local).info
    assert (info.sample_rate, info.channels) == (44100, 1)
    assert 120 < info.length < 600
    loudness = measure_file(local)
    assert -17.0 <= loudness.integrated <= -15.0
    assert loudness.true_peak <= -1.0
    tags = ID3(local)
    assert tags.version == (2, 3, 0)
    assert tags["TIT2"].text[0] == "\"TRON: ARES OST\": It's not Trent's fault."
    assert tags["TPE1"].text[0] == "Spin Cycle"
    assert tags.getall("APIC")

    # ffmpeg reads the ID3 chapters back
    meta = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(local), "-f", "ffmetadata", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.findall(r"^title=(.*)$", meta, re.M)[-len(SAMPLE_TRACKS) - 2 :] == [
        "Intro",
        *SAMPLE_TRACKS,
        "Outro",
    ]

    # each track's cue starts within 50 ms of its chapter, found in the decoded audio
    record = load_records(show)[0]
    audio = decode_mono(local, WORK_RATE)
    cue = np.frombuffer(builtin_cue(), dtype="<i2").astype(np.float32)
    for chapter in record.chapters:
        if chapter.kind == "track":
            found = find_cue(audio, cue, chapter.start, WORK_RATE, window=0.5)
            assert abs(found - chapter.start) <= 0.05, (chapter.title, found, chapter.start)

    # transcripts and chapters JSON are published beside the audio
    chapters = json.loads((show / record.chapters_json).read_text())  # type: ignore[operator]
    assert [c["title"] for c in chapters["chapters"]][1:-1] == SAMPLE_TRACKS
    vtt = (show / record.transcript_vtt).read_text()  # type: ignore[operator]
    assert vtt.startswith("WEBVTT") and "Sometimes there's a benefit" in vtt
    assert "greyhound" not in vtt  # the author's bio is not read out

    # rendering again: still one episode, the same guid, no stale files left behind
    before = sorted(p.name for p in local.parent.iterdir())
    result = run_cli(show, "render", "reviews/tron-ares-ost.txt")
    assert result.returncode == 0, result.stderr
    fp = feedparser.parse((show / "feed" / "feed.xml").read_bytes())
    assert [e.id for e in fp.entries] == [guid]
    assert sorted(p.name for p in local.parent.iterdir()) == before
    assert not list(show.rglob(".tmp-*"))


# -- fast: the tone engine ----------------------------------------------------------------------


def render(show: Path, *paths: str) -> int:
    return main(["render", "--show", str(show), "-q", *paths])


def test_render_and_rerender_keep_one_episode_per_review(show: Path, sample_review: Path) -> None:
    assert render(show) == 0
    first = load_records(show)
    assert len(first) == 1
    assert first[0].pub_date.isoformat() == "2025-10-12T12:00:00+00:00"
    assert [c.title for c in first[0].chapters] == ["Intro", *SAMPLE_TRACKS, "Outro"]

    other = show / "reviews" / "second.md"
    other.write_text(
        "---\ntitle: Second\nartist: Someone\nalbum: Else\ndate: 2025-11-01\n---\nA fine record.\n",
        encoding="utf-8",
    )
    assert render(show) == 0
    records = load_records(show)
    assert len(records) == 2
    by_source = {r.source: r for r in records}
    assert by_source["reviews/tron-ares-ost.txt"].guid == first[0].guid
    assert by_source["reviews/second.md"].number == 2

    # a changed review replaces its episode: same guid and number, new audio file
    sample_review.write_text(
        sample_review.read_text(encoding="utf-8").replace("procrastination", "delay"),
        encoding="utf-8",
    )
    assert render(show, str(sample_review)) == 0
    again = {r.source: r for r in load_records(show)}
    assert again["reviews/tron-ares-ost.txt"].guid == first[0].guid
    assert again["reviews/tron-ares-ost.txt"].audio != first[0].audio
    assert not (show / first[0].audio).exists()  # superseded audio is removed
    feed = feedparser.parse((show / "feed" / "feed.xml").read_bytes())
    assert [e.title for e in feed.entries] == [
        "Second",
        "\"TRON: ARES OST\": It's not Trent's fault.",
    ]


def test_same_title_gets_distinct_stable_slugs(show: Path) -> None:
    for name in ("a.txt", "b.txt"):
        (show / "reviews" / name).write_text("Same Title\n\nSome words here.\n", encoding="utf-8")
    assert render(show) == 0
    slugs = sorted(r.slug for r in load_records(show))
    assert slugs == ["same-title", "same-title-2"]
    assert render(show) == 0
    assert sorted(r.slug for r in load_records(show)) == slugs


def test_hostile_title_cannot_escape_the_show(show: Path) -> None:
    review = show / "reviews" / "evil.md"
    review.write_text("---\ntitle: ../../x\n---\nWords to say.\n", encoding="utf-8")
    assert render(show) == 0
    (record,) = load_records(show)
    assert record.slug == "x"
    assert (show / "episodes" / "x").is_dir()
    assert not (show.parent / "x").exists()


BAD_INPUTS = {
    "empty.txt": (b"", "empty"),
    "blank.txt": (b"  \n\t\n   \n", "nothing but whitespace"),
    "binary.txt": (bytes(range(256)) * 8, "binary"),
    "review.docx": (b"PK\x03\x04 not a review", "unsupported file type"),
    "bad-front-matter.md": (b"---\ntitle: [unclosed\n---\nWords.\n", "front matter"),
    "only-boilerplate.txt": (
        b"Headline\n\nThis article was updated on October 12, 2025\n",
        "no words",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_leaves_the_show_alone(
    show: Path, sample_review: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert render(show, str(sample_review)) == 0
    before = snapshot(show)
    data, problem = BAD_INPUTS[name]
    bad = show / "reviews" / name
    bad.write_bytes(data)
    capsys.readouterr()
    assert render(show, str(bad)) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert name in err[0] and problem in err[0].lower(), err[0]
    assert snapshot(show) == before


def test_invalid_sidecar_is_reported_with_its_file(
    show: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (show / "reviews" / "r.txt").write_text("Words to say.\n", encoding="utf-8")
    (show / "reviews" / "r.toml").write_text("artist = [\n", encoding="utf-8")
    assert render(show) != 0
    err = capsys.readouterr().err
    assert "r.toml" in err
    assert not (show / "feed" / "feed.xml").exists()


def test_latin1_review_is_decoded(show: Path) -> None:
    text = "Björk – Homogenic\n\nJóga is a marvel, and “Bachelorette” too.\n"
    (show / "reviews" / "latin.txt").write_bytes(text.encode("cp1252"))
    assert render(show) == 0
    (record,) = load_records(show)
    assert "Jóga is a marvel" in record.summary
    assert "“Bachelorette”" in record.summary


def test_good_reviews_render_when_others_fail(
    show: Path, sample_review: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (show / "reviews" / "empty.txt").write_bytes(b"")
    (show / "reviews" / "fine.md").write_text("---\ntitle: Fine\n---\nGood.\n", encoding="utf-8")
    assert render(show) == 1
    assert sorted(r.source for r in load_records(show)) == [
        "reviews/fine.md",
        "reviews/tron-ares-ost.txt",
    ]
    err = capsys.readouterr().err
    assert "empty.txt" in err and "fine.md" not in err
    # the tracklist beside the sample is not mistaken for a review
    assert "tracks.txt" not in err


def test_no_show_here_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--show", str(tmp_path)]) == 2
    assert "reviewcast init" in capsys.readouterr().err


def test_preview_json_has_review_tracks_and_segments(
    show: Path, sample_review: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", "--show", str(show), str(sample_review), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["review"] == {
        "title": "\"TRON: ARES OST\": It's not Trent's fault.",
        "artist": "Nine Inch Nails",
        "album": "TRON: Ares (Original Motion Picture Soundtrack)",
        "reviewer": "bizzo",
        "date": "2025-10-12",
        "language": "en",
    }
    assert [t["title"] for t in doc["tracks"]] == SAMPLE_TRACKS
    assert doc["tracks"][-1]["mentioned_as"] == "Shadows Over Me"
    kinds = [s["kind"] for s in doc["segments"]]
    assert kinds[0] == "intro" and kinds[-1] == "outro" and kinds.count("cue") == 7
    assert all(set(s) == {"kind", "text", "spoken", "voice"} for s in doc["segments"])
    spoken = " ".join(s["text"] for s in doc["segments"])
    assert "greyhound" not in spoken and "updated on" not in spoken


def test_help_is_instant_and_imports_nothing_heavy() -> None:
    code = (
        "import sys; from reviewcast.cli import build_parser; build_parser();"
        "heavy = [m for m in ('numpy', 'pydub', 'feedgen', 'pyttsx3', 'trafilatura') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_review_too_long_to_listen_to_is_refused_clearly(
    show: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reviewcast.pipeline import MAX_REVIEW_WORDS

    words = ("This album goes on and on. " * (MAX_REVIEW_WORDS // 6 + 10)).strip()  # 6 words
    (show / "reviews" / "epic.txt").write_text(words, encoding="utf-8")
    assert render(show) == 1
    err = capsys.readouterr().err
    assert "epic.txt" in err and "split it into several reviews" in err
    assert not (show / "feed" / "feed.xml").exists()


def test_voices_lists_every_engine_each_in_its_own_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["voices"]) == 0
    out = capsys.readouterr().out
    for engine in ("pyttsx3", "espeak", "tone"):
        assert re.search(rf"^{engine}: \d+ voices$", out, re.M), out
    assert "  gmw/en-us" in out
