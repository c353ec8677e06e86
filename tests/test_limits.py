"""Size and encodings: big inputs render within the memory target or are refused at a limit.

The memory target is 150 MB peak RSS for the reviewcast process, measured with
resource.getrusage in a fresh subprocess (so nothing else of the test run counts). ffmpeg runs
as a child process and is reported separately. The documented limits: a review file of at most
MAX_REVIEW_BYTES (5 MB), a sidecar or tracklist file of at most 1 MB, front matter of at most
1 MB, and a tracklist of at most MAX_TRACKS titles of at most MAX_TITLE_CHARS characters.
"""

from __future__ import annotations

import io
import json
import os
import random
import string
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import feedparser
import podcastparser
import pytest

from reviewcast.cli import main
from reviewcast.models import Block, Review, Tracklist
from reviewcast.records import load_records
from reviewcast.reviews import MAX_REVIEW_BYTES
from reviewcast.tracks import detect_tracks

MEMORY_TARGET_MB = 150

_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from reviewcast.cli import main
    start = time.monotonic()
    code = main(sys.argv[1:])
    print(json.dumps({
        "code": code,
        "seconds": time.monotonic() - start,
        # VmHWM, not getrusage: Linux carries ru_maxrss across fork and exec, so a process
        # started by a pytest that has grown to 400 MB would report 400 MB itself.
        "self_mb": next(
            int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")
        ) / 1024,
        "children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))
    """
)


def measured(show: Path, *args: str) -> tuple[dict[str, float], str, str]:
    """Run ``reviewcast *args`` in a fresh interpreter: its figures, stdout and stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args],
        cwd=show,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    *out, figures = proc.stdout.strip().splitlines()
    return json.loads(figures), "\n".join(out), proc.stderr


def use_fast_voice(show: Path) -> None:
    # The tone engine at its fastest rate: the audio of a long review takes a few seconds.
    (show / "voices" / "default.toml").write_text(
        'engine = "tone"\nvoice = "test"\nrate = 450\n', encoding="utf-8"
    )


# -- size ----------------------------------------------------------------------------------------


def test_a_20_mb_review_is_refused_within_the_memory_target(show: Path) -> None:
    # The reader reads at most MAX_REVIEW_BYTES + 1 bytes; the render's fingerprint still reads
    # the whole file first (pipeline._review_parts, reported), which 20 MB stays well within.
    big = show / "reviews" / "huge.txt"
    with big.open("wb") as fh:
        line = b"The record is long, and so is this review of it. " * 20 + b"\n\n"
        for _ in range(20 * 1024 * 1024 // len(line) + 1):
            fh.write(line)
    assert big.stat().st_size > 20 * 1024 * 1024
    figures, _, err = measured(show, "render", "-q")
    assert figures["code"] != 0
    (message,) = err.strip().splitlines()
    assert "huge.txt" in message and f"larger than {MAX_REVIEW_BYTES // 2**20} MB" in message
    assert figures["self_mb"] < MEMORY_TARGET_MB, figures
    assert not (show / "feed" / "feed.xml").exists()


def test_a_500_track_tracklist_renders_within_the_memory_target(show: Path) -> None:
    titles = [
        f"Movement {n} in {random.Random(n).choice(string.ascii_uppercase)}" for n in range(500)
    ]
    (show / "reviews" / "box.tracks.txt").write_text(
        "\n".join(f"{n}. {t}" for n, t in enumerate(titles, 1)), encoding="utf-8"
    )
    picked = [499, 250, 0, 42]
    body = " ".join(f"Then “{titles[n]}” arrives, and it is lovely." for n in picked)
    (show / "reviews" / "box.txt").write_text(f"The Box Set\n\n{body}\n", encoding="utf-8")
    figures, _, err = measured(show, "render", "-q")
    assert figures["code"] == 0, err
    assert figures["self_mb"] < MEMORY_TARGET_MB, figures
    (record,) = load_records(show)
    assert [c.track_number for c in record.chapters if c.kind == "track"] == [n + 1 for n in picked]


def _quotes_review(count: int) -> str:
    quotes = [f"“q{n}”" for n in range(count)]
    sentences = [f"They sing {', '.join(quotes[i : i + 100])}." for i in range(0, count, 100)]
    paragraphs = [" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)]
    return "Ten thousand quotes\n\n" + "\n\n".join(paragraphs) + "\n"


def test_ten_thousand_quoted_strings_render_within_the_memory_target(show: Path) -> None:
    use_fast_voice(show)
    (show / "reviews" / "quotes.txt").write_text(_quotes_review(10_000), encoding="utf-8")
    # The first, the 5000th and the last quoted string are this album's tracks.
    (show / "reviews" / "quotes.tracks.txt").write_text("q0\nq4999\nq9999\n", encoding="utf-8")
    figures, _, err = measured(show, "render", "-q")
    assert figures["code"] == 0, err
    assert figures["self_mb"] < MEMORY_TARGET_MB, figures
    (record,) = load_records(show)
    assert [c.title for c in record.chapters if c.kind == "track"] == ["q0", "q4999", "q9999"]
    assert record.duration > 10_000 * 0.08  # every quoted word was spoken
    xml = (show / "feed" / "feed.xml").read_bytes()
    assert len(podcastparser.parse(record.guid, io.BytesIO(xml))["episodes"]) == 1


def test_ten_thousand_quoted_strings_without_a_tracklist_stay_linear(show: Path) -> None:
    # Without a tracklist every quoted string is a candidate title: preview runs every stage
    # up to the audio on them.
    (show / "reviews" / "quotes.txt").write_text(_quotes_review(10_000), encoding="utf-8")
    figures, out, err = measured(show, "preview", "reviews/quotes.txt", "--json")
    assert figures["code"] == 0, err
    assert figures["self_mb"] < MEMORY_TARGET_MB, figures
    assert figures["seconds"] < 60, figures
    doc = json.loads(out)
    assert sum(s["text"].count("“q") for s in doc["segments"]) == 10_000


def _random_review(blocks: int, rng: random.Random, vocabulary: list[str]) -> Review:
    paragraphs = []
    for _ in range(blocks):
        sentences = [
            " ".join(rng.choice(vocabulary) for _ in range(12)).capitalize() + "." for _ in range(8)
        ]
        if rng.random() < 0.3:  # quoted and capitalised phrases: candidates to weigh
            sentences.append(f"Then “{rng.choice(vocabulary).title()} Song” plays.")
        paragraphs.append(Block(" ".join(sentences)))
    return Review(Path("r.txt"), "text", tuple(paragraphs), language="en")


def _fastest(review: Review, tracklist: Tracklist | None) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        detect_tracks(review, tracklist)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("with_tracklist", [True, False], ids=["tracklist", "no tracklist"])
def test_track_detection_grows_about_linearly_with_the_review(with_tracklist: bool) -> None:
    rng = random.Random(11)
    vocabulary = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
        for _ in range(500)
    ]
    tracklist = (
        Tracklist(tuple(f"{rng.choice(vocabulary).title()} Song" for _ in range(60)), "t")
        if with_tracklist
        else None
    )
    small = _random_review(100, rng, vocabulary)
    large = _random_review(400, rng, vocabulary)
    ratio = _fastest(large, tracklist) / _fastest(small, tracklist)
    # Linear gives 4; a quadratic scan would give 16. Generous for a busy machine.
    assert ratio < 8, ratio


# -- encodings, end to end -----------------------------------------------------------------------

SMART = "“Harbour Lights” is the band’s best record — it’s quiet… and you’ll love it, café."
GERMAN = "Björk’s „Jóga“ klingt größer als je zuvor – ein Meisterwerk für 5 €."

ENCODED = {
    "utf-8.txt": SMART.encode("utf-8"),
    "utf-8-bom.txt": b"\xef\xbb\xbf" + SMART.encode("utf-8"),
    "utf-16-le-bom.txt": b"\xff\xfe" + SMART.encode("utf-16-le"),
    "utf-16-be-bom.txt": b"\xfe\xff" + SMART.encode("utf-16-be"),
    "utf-16-no-bom.txt": SMART.encode("utf-16-le"),
    "windows-1252.txt": SMART.encode("cp1252"),
    "latin-1.txt": GERMAN.replace("„", '"').replace("“", '"').replace("’", "'")
    .replace("–", "-").replace(" €", "").encode("latin-1"),
    # Wrapped lines ending in CR LF, a lone CR and LF: joined again with spaces.
    "mixed-endings.txt": f"Harbour\r\n\r\n{SMART[:35]}\r{SMART[36:56]}\r\n{SMART[57:]}\n".encode(),
    "bom-front-matter.md": b"\xef\xbb\xbf---\r\ntitle: BOM\r\n---\r\n" + SMART.encode(),
    "utf-16-front-matter.md": f"---\ntitle: Sixteen\n---\n{SMART}\n".encode("utf-16"),
    "windows-1252.html": b'<html><head><meta charset="windows-1252"></head><body><p>'
    + SMART.encode("cp1252")
    + b"</p></body></html>",
}  # fmt: skip


def test_every_encoding_renders_to_the_same_words(show: Path) -> None:
    use_fast_voice(show)
    for name, data in ENCODED.items():
        (show / "reviews" / name).write_bytes(data)
    assert main(["render", "--show", str(show), "-q"]) == 0
    records = {Path(r.source).name: r for r in load_records(show)}
    assert set(records) == set(ENCODED)
    expected_latin = 'Björk\'s "Jóga" klingt größer als je zuvor - ein Meisterwerk für 5.'
    for name, record in records.items():
        want = expected_latin if name == "latin-1.txt" else SMART
        assert record.summary == want, name
    assert records["bom-front-matter.md"].title == "BOM"
    assert records["utf-16-front-matter.md"].title == "Sixteen"
    assert records["mixed-endings.txt"].title == "Harbour"
    fp = feedparser.parse((show / "feed" / "feed.xml").read_bytes())
    assert not fp.bozo and len(fp.entries) == len(ENCODED)
    assert {e.title for e in fp.entries} >= {"BOM", "Sixteen", "Harbour"}
