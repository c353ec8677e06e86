"""`reviewcast check`: a show built the real way passes; each broken thing gives its finding.

Shows are built as the pipeline builds them, minus speech: real MP3s from ffmpeg at a measured
loudness, a generated cover, records saved with records.save_record and the feed written by
feed.write_feed. Each test then breaks one thing, on disk or in the feed's XML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from reviewcast.artwork import show_cover
from reviewcast.audio import ffmpeg_exe
from reviewcast.check import Finding, check_show
from reviewcast.config import ShowConfig, load_config, render_show_toml
from reviewcast.feed import write_feed
from reviewcast.models import Chapter, Cue, EpisodeRecord
from reviewcast.records import save_record
from reviewcast.transcript import chapters_json, srt, webvtt

BASE = "https://reviews.example.org/podcast/"
SLUGS = ("homogenic", "vespertine")


@dataclass(frozen=True)
class Show:
    root: Path
    config: ShowConfig
    records: tuple[EpisodeRecord, ...]

    @property
    def feed(self) -> Path:
        return self.root / "feed" / "feed.xml"

    def file(self, record: EpisodeRecord, attribute: str) -> Path:
        relative = getattr(record, attribute)
        assert isinstance(relative, str)
        return self.root / relative

    def edit_feed(self, old: str, new: str, count: int = 1) -> None:
        """Replace ``old`` in the feed's XML, which must hold it exactly ``count`` times."""
        text = self.feed.read_text(encoding="utf-8")
        assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times"
        self.feed.write_text(text.replace(old, new), encoding="utf-8")

    def rewrite_feed(self, records: tuple[EpisodeRecord, ...]) -> None:
        for record in records:
            save_record(self.root, record)
        write_feed(self.config, records, artwork_url=BASE + "feed/cover.jpg")


def tone(path: Path, gain_db: float) -> Path:
    """A 3-second 1 kHz mono MP3: the sine is −21 LUFS, so the gain sets its loudness."""
    subprocess.run(
        [
            *(ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"),
            *("-i", "sine=frequency=1000:duration=3:sample_rate=44100"),
            *("-af", f"volume={gain_db}dB", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k"),
            str(path),
        ],
        check=True,
    )
    return path


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("assets")
    cover = folder / "cover.jpg"
    cover.write_bytes(show_cover("Spin Cycle"))
    return {
        "loud": tone(folder / "loud.mp3", 5.5),  # about −16 LUFS, peak −13 dBTP
        "quiet": tone(folder / "quiet.mp3", -7.0),  # about −28.5 LUFS
        "cover": cover,
    }


def make_show(root: Path, assets: dict[str, Path], *, quiet: str = "", **settings: str) -> Show:
    """A show of two episodes with chapters, transcripts and covers; ``quiet`` names a slug."""
    root.mkdir()
    toml = render_show_toml(
        title="Spin Cycle",
        description="Album reviews, read aloud.",
        author="Ada Reviewer",
        owner_name="Ada Reviewer",
        owner_email="ada@example.org",
        base_url=BASE,
        **settings,
    )
    (root / "show.toml").write_text(toml, encoding="utf-8")
    config = load_config(root)
    (root / "feed").mkdir()
    shutil.copy(assets["cover"], root / "feed" / "cover.jpg")
    records = []
    for number, slug in enumerate(SLUGS, start=1):
        folder = root / "episodes" / slug
        folder.mkdir(parents=True)
        rel = f"episodes/{slug}"
        audio = assets["quiet" if slug == quiet else "loud"]
        digest = hashlib.sha256(audio.read_bytes()).hexdigest()[:10]
        shutil.copy(audio, folder / f"{slug}-{digest}.mp3")
        shutil.copy(assets["cover"], folder / "cover-1.jpg")
        chapters = (
            Chapter("Intro", 0.0, 1.0, kind="intro"),
            Chapter("Jóga", 1.0, 2.5, track_number=1),
            Chapter("Outro", 2.5, 3.0, kind="outro"),
        )
        cues = (Cue(0.2, 1.8, f"A review of {slug}.", "review"),)
        (folder / "chapters-1.json").write_text(
            chapters_json(chapters, title=slug, image_url=BASE + f"{rel}/cover-1.jpg"),
            encoding="utf-8",
        )
        (folder / "transcript-1.vtt").write_text(webvtt(cues), encoding="utf-8")
        (folder / "transcript-1.srt").write_text(srt(cues), encoding="utf-8")
        records.append(
            EpisodeRecord(
                slug=slug,
                guid=f"urn:uuid:00000000-0000-4000-8000-{number:012d}",
                source=f"reviews/{slug}.md",
                title=f"Björk — {slug.title()}",
                summary="A review.",
                notes_html="<p>A review.</p>",
                pub_date=dt.datetime(2024, 3, number, 12, 0, tzinfo=dt.UTC),
                number=number,
                duration=3.0,
                audio=f"{rel}/{slug}-{digest}.mp3",
                length=(folder / f"{slug}-{digest}.mp3").stat().st_size,
                cover=f"{rel}/cover-1.jpg",
                chapters_json=f"{rel}/chapters-1.json",
                transcript_vtt=f"{rel}/transcript-1.vtt",
                transcript_srt=f"{rel}/transcript-1.srt",
                chapters=chapters,
                reviewer="Zoë",
            )
        )
    show = Show(root, config, tuple(records))
    show.rewrite_feed(show.records)
    return show


@pytest.fixture
def built(tmp_path: Path, assets: dict[str, Path]) -> Show:
    return make_show(tmp_path / "show", assets)


def only(findings: list[Finding], where: str, *words: str) -> Finding:
    """The one finding at ``where`` whose message holds every word; fails unless exactly one."""
    matches = [f for f in findings if f.where == where and all(w in f.message for w in words)]
    assert len(matches) == 1, f"wanted one finding at {where} with {words}, got {findings}"
    return matches[0]


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


# -- a clean show -----------------------------------------------------------------------------


def test_clean_show_has_no_findings_with_loudness_measured(built: Show) -> None:
    assert check_show(built.root) == []


def test_a_show_rendered_by_the_pipeline_has_no_errors(show: Path, sample_review: Path) -> None:
    from reviewcast.cli import main

    assert main(["render", "--show", str(show), "--quiet"]) == 0
    findings = check_show(show)
    assert errors(findings) == []
    # `reviewcast init` leaves base_url local and owner_email empty; the lint says so.
    assert {f.message.split(" ")[0] for f in findings} == {
        "every",
        "<itunes:owner>",
        "<podcast:locked>",
    }


def test_findings_print_level_place_and_message() -> None:
    finding = Finding("error", "homogenic", "the file is missing")
    assert str(finding) == "error: homogenic: the file is missing"


# -- the feed itself --------------------------------------------------------------------------


def test_missing_feed(built: Show) -> None:
    built.feed.unlink()
    findings = check_show(built.root, loudness=False)
    assert findings == [
        Finding(
            "error",
            "feed",
            "feed/feed.xml does not exist; run `reviewcast render` to rebuild the show.",
        )
    ]


def test_feed_that_is_not_well_formed(built: Show) -> None:
    built.edit_feed("</channel>", "")
    (finding,) = check_show(built.root, loudness=False)
    assert finding.level == "error" and finding.where == "feed"
    assert "not well-formed XML" in finding.message and "line" in finding.message


@pytest.mark.parametrize(
    ("element", "level", "words"),
    [
        ("itunes:category", "error", "<itunes:category> is missing"),
        ("itunes:explicit", "error", "<itunes:explicit> is missing"),
        ("language", "error", "<language> is missing"),
        ("atom:link", "error", '<atom:link rel="self"> is missing'),
        ("itunes:author", "warning", "<itunes:author> is missing"),
        ("itunes:owner", "warning", "<itunes:owner> has no e-mail"),
        ("podcast:guid", "warning", "<podcast:guid> is missing"),
        ("podcast:locked", "warning", "<podcast:locked> is missing"),
    ],
)
def test_channel_tags_required_and_recommended(
    built: Show, element: str, level: str, words: str
) -> None:
    # Remove the element's first occurrence, which is the channel's: channel tags precede items.
    name = re.escape(element)
    pattern = re.compile(rf"<{name}\b[^>]*?(?:/>|>.*?</{name}>)", re.S)
    text, removed = pattern.subn("", built.feed.read_text(encoding="utf-8"), count=1)
    assert removed == 1
    built.feed.write_text(text, encoding="utf-8")
    finding = only(check_show(built.root, loudness=False), "channel", words)
    assert finding.level == level


def test_description_over_4000_bytes(built: Show) -> None:
    long = "é" * 2001  # 4002 bytes in UTF-8, though only 2001 characters
    built.edit_feed(
        "<description>Album reviews, read aloud.</description>",
        f"<description>{long}</description>",
    )
    finding = only(check_show(built.root, loudness=False), "channel", "4002 bytes")
    assert finding.level == "error"
    assert "shorten 'description' in show.toml" in finding.message


def test_artwork_of_800_by_600(built: Show) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 40, 40)).save(buffer, "JPEG")
    (built.root / "feed" / "cover.jpg").write_bytes(buffer.getvalue())
    findings = check_show(built.root, loudness=False)
    finding = only(findings, "channel", "800×600 px", "square image of 1400–3000 px")
    assert finding.level == "error"
    assert errors(findings) == [finding]


def test_artwork_with_alpha_and_wrong_extension(built: Show) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (1400, 1400), (200, 40, 40, 128)).save(buffer, "PNG")
    (built.root / "feed" / "cover.jpg").write_bytes(buffer.getvalue())
    findings = check_show(built.root, loudness=False)
    only(findings, "channel", "RGBA mode")
    only(findings, "channel", "PNG image with the wrong file extension")


def test_localhost_base_url_warns(tmp_path: Path, assets: dict[str, Path]) -> None:
    show = make_show(tmp_path / "show", assets)
    toml = (show.root / "show.toml").read_text(encoding="utf-8")
    (show.root / "show.toml").write_text(toml.replace(BASE, "http://127.0.0.1:8000/"), "utf-8")
    findings = check_show(show.root, loudness=False)
    finding = only(findings, "channel", "podcast apps cannot reach")
    assert finding.level == "warning"
    # The feed was written for the old base, so every URL now points outside the show.
    assert any("is not under base_url http://127.0.0.1:8000/" in f.message for f in findings)


# -- episodes ---------------------------------------------------------------------------------


def test_enclosure_length_differs_from_file(built: Show) -> None:
    record = built.records[0]
    wrong = dataclasses.replace(record, length=record.length + 1)
    built.rewrite_feed((wrong, built.records[1]))
    findings = check_show(built.root, loudness=False)
    finding = only(findings, record.slug, f"length is {record.length + 1} bytes")
    assert finding.level == "error"
    assert f"has {record.length}" in finding.message
    assert "e-render it with `reviewcast render reviews/homogenic.md`" in finding.message
    assert errors(findings) == [finding]


def test_missing_enclosure_file(built: Show) -> None:
    record = built.records[1]
    built.file(record, "audio").unlink()
    finding = only(check_show(built.root, loudness=False), record.slug, "does not exist")
    assert finding.level == "error"
    assert record.audio in finding.message
    assert "`reviewcast render reviews/vespertine.md`" in finding.message


def test_duplicate_guid(built: Show) -> None:
    # write_feed refuses duplicate guids, so the XML is edited as a hand-made feed would be.
    built.edit_feed("8000-000000000002</guid>", "8000-000000000001</guid>")
    findings = check_show(built.root, loudness=False)
    finding = only(findings, "homogenic", "also the guid of 'vespertine'")
    assert finding.level == "error"


@pytest.mark.parametrize(
    ("date", "words"),
    [
        ("2024-03-01T12:00:00Z", "is not an RFC 2822 date"),
        ("Fri, 31 Feb 2024 12:00:00 +0000", "is not an RFC 2822 date"),
        ("Fri, 01 Mar 2024 12:00:00 -0000", "has no time zone"),
        ("Fri, 01 Mar 2024 12:00:00", "has no time zone"),
    ],
)
def test_bad_pub_date(built: Show, date: str, words: str) -> None:
    built.edit_feed(
        "<pubDate>Fri, 01 Mar 2024 12:00:00 +0000</pubDate>", f"<pubDate>{date}</pubDate>"
    )
    finding = only(check_show(built.root, loudness=False), "homogenic", "<pubDate>", words)
    assert finding.level == "error"


def test_missing_chapters_file(built: Show) -> None:
    record = built.records[0]
    built.file(record, "chapters_json").unlink()
    finding = only(check_show(built.root, loudness=False), record.slug, "chapters file")
    assert finding.level == "error" and "does not exist" in finding.message


@pytest.mark.parametrize(
    ("content", "level", "words"),
    [
        ('{"version": "1.2.0", "chapters": [', "error", "is not valid JSON"),
        ('{"chapters": []}', "error", 'no "version" string'),
        ('{"version": "1.2.0"}', "error", 'no "chapters" list'),
        (
            '{"version": "1.2.0", "chapters": [{"startTime": 2, "title": "b"},'
            ' {"startTime": 1, "title": "a"}]}',
            "error",
            "chapter 2 starting before",
        ),
        ('{"version": "1.2.0", "chapters": [{"startTime": "0"}]}', "error", "startTime"),
        ('{"version": "1.2.0", "chapters": [{"startTime": 0, "title": 7}]}', "error", "title"),
        ('{"version": "1.2.0", "chapters": [{"startTime": 0}]}', "warning", "without a title"),
        (
            '{"version": "1.2.0", "chapters": [{"startTime": 60, "title": "late"}]}',
            "warning",
            "after the episode ends",
        ),
    ],
)
def test_invalid_chapters_json(built: Show, content: str, level: str, words: str) -> None:
    record = built.records[0]
    built.file(record, "chapters_json").write_text(content, encoding="utf-8")
    finding = only(check_show(built.root, loudness=False), record.slug, words)
    assert finding.level == level


def test_missing_transcript(built: Show) -> None:
    record = built.records[1]
    built.file(record, "transcript_vtt").unlink()
    findings = check_show(built.root, loudness=False)
    finding = only(findings, record.slug, "the transcript", "does not exist")
    assert finding.level == "error"
    assert errors(findings) == [finding]  # the SRT transcript is still fine


@pytest.mark.parametrize(
    ("attribute", "content", "words"),
    [
        ("transcript_vtt", "", "is empty"),
        ("transcript_vtt", "1\n00:00:00.000 --> 00:00:01.000\nHi\n", "does not start with WEBVTT"),
        ("transcript_srt", "just words\n", "has no SRT captions"),
    ],
)
def test_broken_transcripts(built: Show, attribute: str, content: str, words: str) -> None:
    record = built.records[0]
    built.file(record, attribute).write_text(content, encoding="utf-8")
    finding = only(check_show(built.root, loudness=False), record.slug, words)
    assert finding.level == "error"


def test_url_outside_base(built: Show) -> None:
    record = built.records[0]
    built.edit_feed(BASE + record.audio, "https://cdn.example.net/homogenic.mp3")
    findings = check_show(built.root, loudness=False)
    finding = only(findings, record.slug, "https://cdn.example.net/homogenic.mp3")
    assert finding.level == "error"
    assert f"is not under base_url {BASE}" in finding.message


def test_duration_far_from_record_and_audio(built: Show) -> None:
    built.edit_feed(
        "<itunes:duration>3</itunes:duration>", "<itunes:duration>1:00</itunes:duration>", 2
    )
    findings = check_show(built.root, loudness=False)
    for slug in SLUGS:
        finding = only(findings, slug, "<itunes:duration> says 60 s")
        assert finding.level == "warning"


def test_enclosure_that_is_no_mp3(built: Show) -> None:
    record = built.records[0]
    path = built.file(record, "audio")
    path.write_bytes(b"not audio at all" * 100)
    built.rewrite_feed((dataclasses.replace(record, length=1600), built.records[1]))
    findings = check_show(built.root, loudness=False)
    assert only(findings, record.slug, "is not an MP3 file").level == "error"


def test_episode_record_missing_from_feed_and_item_without_record(built: Show) -> None:
    write_feed(built.config, built.records[:1], artwork_url=BASE + "feed/cover.jpg")
    (built.root / "episodes" / "homogenic" / "episode.json").unlink()
    findings = check_show(built.root, loudness=False)
    assert only(findings, "vespertine", "the feed does not list it").level == "warning"
    # Without its record the item is named by its title and the hint renders everything.
    finding = only(findings, "Björk — Homogenic", "no episodes/*/episode.json")
    assert finding.level == "warning"


# -- loudness ---------------------------------------------------------------------------------


def test_too_quiet_episode(tmp_path: Path, assets: dict[str, Path]) -> None:
    show = make_show(tmp_path / "show", assets, quiet="vespertine")
    findings = check_show(show.root)
    finding = only(findings, "vespertine", "integrated loudness is")
    assert finding.level == "error"
    measured = float(finding.message.split("integrated loudness is ")[1].split(" LUFS")[0])
    assert -30 < measured < -27
    assert "-16 ±1 LUFS" in finding.message
    assert "`reviewcast render reviews/vespertine.md`" in finding.message
    assert findings == [finding]  # the −16 LUFS episode passes
    assert check_show(show.root, loudness=False) == []


def test_loudness_against_the_shows_own_target(tmp_path: Path, assets: dict[str, Path]) -> None:
    show = make_show(tmp_path / "show", assets, quiet="vespertine")
    toml = (show.root / "show.toml").read_text(encoding="utf-8")
    (show.root / "show.toml").write_text(toml.replace("loudness = -16.0", "loudness = -28.0"))
    findings = check_show(show.root)
    assert only(findings, "channel", "Apple asks for -16 LUFS").level == "warning"
    only(findings, "homogenic", "integrated loudness is")
    assert not [f for f in findings if f.where == "vespertine"]


def test_unreadable_episode_record(built: Show) -> None:
    (built.root / "episodes" / "vespertine" / "episode.json").write_text("{", encoding="utf-8")
    findings = check_show(built.root, loudness=False)
    finding = only(findings, "vespertine", "not valid JSON")
    # The feed is still linted, without blaming its items for the records it could not read.
    assert findings == [finding]


def test_lock_without_owner_is_a_warning(tmp_path: Path) -> None:
    """podcast-partytime ignores an ownerless <podcast:locked> (seen in tests/test_clients.py)."""
    from reviewcast.cli import main

    root = tmp_path / "show"
    assert main(["init", str(root), "--quiet"]) == 0
    (root / "voices" / "default.toml").write_text('engine = "tone"\nvoice = "t"\n')
    (root / "reviews" / "r.md").write_text("---\ntitle: T\n---\nWords here.\n")
    assert main(["render", "--show", str(root), "-q", "--jobs", "1"]) == 0
    findings = check_show(root, loudness=False)
    assert any("no owner" in f.message for f in findings if f.level == "warning")
