"""Assembly, cues, loudness and encoding, on synthetic speech (fast) — the real engines are
exercised end to end in test_render.py."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from reviewcast import audio
from reviewcast.audio import (
    MP3_DELAY,
    WORK_RATE,
    Item,
    builtin_cue,
    decode_mono,
    load_sound,
    measure_file,
    mp3_samples,
    render_episode,
    split_pieces,
)
from reviewcast.config import ShowConfig, config_from_mapping
from reviewcast.errors import AudioError
from reviewcast.models import Segment, SegmentKind, Track
from reviewcast.speak import FileCache

from .audio_helpers import find_cue


def speechlike(seconds: float, seed: int) -> bytes:
    """A voiced, syllable-rate-modulated signal with eSpeak-like level and sharp peaks."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * WORK_RATE)) / WORK_RATE
    f0 = 110 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / WORK_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)), 0, None) ** 2
    signal = voiced * envelope
    signal = signal / np.max(np.abs(signal)) * 0.99  # peaks at 0 dBFS, as eSpeak's are
    return (signal * 32767).astype("<i2").tobytes()


def track(title: str, number: int) -> Track:
    return Track(title, number, 0, 0, len(title), title, "exact")


def item(kind: SegmentKind, text: str, sound: bytes, pause: float, **where: object) -> Item:
    segment = Segment(kind, text, "" if kind == "cue" else "v", pause, **where)  # type: ignore[arg-type]
    return Item(segment, f"{kind}:{text}:{len(sound)}", lambda: sound)


def episode(outro: str = "bye") -> list[Item]:
    """Intro, two tracks discussed (each opened by the built-in chime), outro: three pieces."""
    return [
        item("intro", "intro 0", speechlike(2.0, 0), 0.5),
        item("review", "review 1", speechlike(3.0, 1), 0.5),
        item("cue", "Init", builtin_cue(), 0.15, block=0, track=track("Init", 1)),
        item("review", "about Init", speechlike(4.0, 3), 0.7, block=0),
        item("cue", "Nemesis", builtin_cue(), 0.15, block=1, track=track("Nemesis", 21)),
        item("review", "about Nemesis", speechlike(3.0, 4), 1.2, block=1),
        item("outro", outro, speechlike(2.5, 5), 0.5),
    ]


@pytest.fixture
def config(tmp_path: Path) -> ShowConfig:
    return config_from_mapping(tmp_path, {}, tmp_path / "show.toml")


def render(
    items: list[Item], config: ShowConfig, tmp_path: Path, name: str, encoders: int = 2
) -> audio.Assembled:
    work = tmp_path / name
    work.mkdir()
    cache = FileCache(tmp_path / f"pieces-{encoders}", ".piece")
    return render_episode(items, config, work / "episode.mp3", cache, encoders=encoders)


def test_pieces_are_cut_between_intro_review_and_outro_and_before_cues_in_long_reviews() -> None:
    words = " ".join(["word"] * (audio.PIECE_WORDS // 2))
    items = [
        item("intro", "hello there", b"", 0.5),
        item("review", words, b"", 0.5),
        item("cue", "A", b"", 0.1),  # too few words yet: stays in the piece
        item("review", words, b"", 0.5),
        item("review", "and more", b"", 0.5),
        item("cue", "B", b"", 0.1),  # a new piece starts with this cue
        item("review", "about B", b"", 0.5),
        item("outro", "bye", b"", 0.5),
    ]
    pieces = split_pieces(items)
    assert [[i.segment.text[:5] for i in p] for p in pieces] == [
        ["hello"],
        ["word ", "A", "word ", "and m"],
        ["B", "about"],
        ["bye"],
    ]
    long = [item("review", words, b"", 0.1) for _ in range(7)]
    assert all(
        sum(len(i.segment.text.split()) for i in p) <= audio.MAX_PIECE_WORDS
        for p in split_pieces(long)
    )


def test_episode_meets_apples_loudness_and_its_times_match_what_a_player_decodes(
    tmp_path: Path, config: ShowConfig
) -> None:
    out = render(episode(), config, tmp_path, "a")
    assert out.pieces == 3 and out.reused == 0
    measured = measure_file(out.mp3)  # ffmpeg's ebur128, independently of dsp's meter
    assert measured.integrated == pytest.approx(config.loudness, abs=0.5)
    assert measured.true_peak <= config.true_peak
    decoded = decode_mono(out.mp3, config.sample_rate)
    assert len(decoded) == out.samples == mp3_samples(out.mp3.read_bytes(), config.sample_rate)
    assert [c.title for c in out.chapters] == ["Intro", "Init", "Nemesis", "Outro"]
    assert [c.kind for c in out.chapters] == ["intro", "track", "track", "outro"]
    for a, b in zip(out.chapters, out.chapters[1:], strict=False):
        assert a.end == b.start
    assert out.chapters[-1].end == pytest.approx(out.duration, abs=1e-3)
    # the chime is heard where each track's chapter starts
    audio_at_work_rate = decode_mono(out.mp3, WORK_RATE)
    cue = np.frombuffer(builtin_cue(), dtype="<i2").astype(np.float32)
    for chapter in out.chapters[1:3]:
        found = find_cue(audio_at_work_rate, cue, chapter.start, WORK_RATE)
        assert abs(found - chapter.start) <= 0.01, (chapter.title, found, chapter.start)
    # captions: in order, each as long as its sound; the first starts after LAME's delay
    assert [c.text for c in out.captions] == [
        "intro 0",
        "review 1",
        "about Init",
        "about Nemesis",
        "bye",
    ]
    assert out.captions[0].start == pytest.approx(MP3_DELAY / config.sample_rate, abs=1e-3)
    assert out.captions[2].end - out.captions[2].start == pytest.approx(4.0, abs=1e-3)
    assert out.captions[2].start > out.chapters[1].start  # after the chime and its pause
    # speech is heard inside each caption and not in the pauses around it
    for caption in out.captions:
        inside = decoded[int(caption.start * 44100) : int(caption.end * 44100)]
        assert np.sqrt(np.mean(inside**2)) > 0.02, caption.text
    gap = out.captions[3].end, out.chapters[-1].start  # the 1.2 s pause before the outro
    silent = decoded[int((gap[0] + 0.1) * 44100) : int((gap[1] - 0.1) * 44100)]
    assert np.max(np.abs(silent)) < 0.01


def test_a_changed_outro_reencodes_only_the_outro_and_synthesises_nothing_else(
    tmp_path: Path, config: ShowConfig
) -> None:
    first = render(episode(), config, tmp_path, "a")
    again = render(episode(), config, tmp_path, "b")
    assert again.reused == again.pieces == 3
    assert again.mp3.read_bytes() == first.mp3.read_bytes()
    assert again.chapters == first.chapters and again.captions == first.captions

    def never() -> bytes:
        raise AssertionError("a cached piece's sounds were made again")

    changed = [
        Item(i.segment, i.key, never) if i.segment.kind != "outro" else i
        for i in episode(outro="see you next week")
    ]
    third = render(changed, config, tmp_path, "c")
    assert (third.pieces, third.reused) == (3, 2)
    outro_start = first.chapters[-1].start
    keep = int((outro_start - 0.3) * config.bitrate * 1000 / 8)  # bytes before the outro piece
    assert third.mp3.read_bytes()[:keep] == first.mp3.read_bytes()[:keep]
    assert third.captions[-1].text == "see you next week"
    assert third.chapters[:-1] == first.chapters[:-1]


def test_one_thing_at_a_time_makes_the_same_episode(tmp_path: Path, config: ShowConfig) -> None:
    """--jobs 1 speaks, levels and encodes each piece in turn in one thread: the same bytes."""
    threaded = render(episode(), config, tmp_path, "a", encoders=2)
    alone = render(episode(), config, tmp_path, "b", encoders=0)
    assert alone.mp3.read_bytes() == threaded.mp3.read_bytes()
    assert (alone.chapters, alone.captions) == (threaded.chapters, threaded.captions)


@pytest.mark.parametrize("encoders", [0, 1, 2])
def test_a_piece_that_fails_in_an_encoder_stops_the_episode_and_its_threads(
    tmp_path: Path, config: ShowConfig, encoders: int
) -> None:
    items = episode()
    items[3] = item("review", "about Init", speechlike(4.0, 3) + b"\x00", 0.7)  # odd bytes
    before = threading.active_count()
    with pytest.raises(AudioError, match="odd number of bytes"):
        render(items, config, tmp_path, "a", encoders=encoders)
    assert threading.active_count() == before


def test_a_damaged_cached_piece_is_encoded_again(tmp_path: Path, config: ShowConfig) -> None:
    first = render(episode(), config, tmp_path, "a")
    pieces = sorted((tmp_path / "pieces-2").rglob("*.piece"))
    assert len(pieces) == 3
    pieces[0].write_bytes(pieces[0].read_bytes()[:6])  # a torn file
    pieces[1].write_bytes(b"")  # a power cut before the data reached the disk
    again = render(episode(), config, tmp_path, "b")
    assert again.reused == 1
    assert again.mp3.read_bytes() == first.mp3.read_bytes()  # encoding is deterministic


def test_an_episode_of_cues_alone_is_refused(tmp_path: Path, config: ShowConfig) -> None:
    with pytest.raises(AudioError, match="nothing to say"):
        render([item("cue", "A", builtin_cue(), 0.1)], config, tmp_path, "a")


def test_mp3_frames_are_counted_and_anything_else_refused() -> None:
    with pytest.raises(AudioError, match="not an MP3 frame"):
        mp3_samples(b"ID3\x04\x00" + bytes(100), 44100)
    header = bytes([0xFF, 0xFB, 0x50, 0xC4])  # MPEG-1 Layer III, 64 kbit/s, 44.1 kHz
    frame = header + bytes(208 - 4)
    assert mp3_samples(frame * 3, 44100) == 3 * 1152
    with pytest.raises(AudioError, match="unexpected MP3 frame"):
        mp3_samples(frame, 48000)


def test_builtin_cue_is_short_deterministic_and_not_a_bare_sine() -> None:
    cue = np.frombuffer(builtin_cue(), dtype="<i2").astype(np.float64)
    assert builtin_cue() == builtin_cue()
    assert 0.3 <= len(cue) / WORK_RATE <= 2.0
    spectrum = np.abs(np.fft.rfft(cue))
    freqs = np.fft.rfftfreq(len(cue), 1 / WORK_RATE)
    strong = freqs[spectrum > spectrum.max() * 0.2]
    assert strong.min() < 700 and strong.max() > 900  # two notes (and partials), not one tone
    assert abs(cue[-1]) < 50  # faded out: no click at the end
    assert np.max(np.abs(cue[: int(0.001 * WORK_RATE)])) < 0.3 * np.max(np.abs(cue))  # soft attack


def test_user_sound_is_trimmed_faded_and_level_matched(tmp_path: Path) -> None:
    from reviewcast.audio import pcm_dbfs, run_ffmpeg

    clip = tmp_path / "clip.mp3"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=330:duration=8", "-ac", "2", str(clip)])
    pcm = load_sound(clip, max_seconds=3.0, fade=0.5, match_dbfs=-24.0)
    samples = np.frombuffer(pcm, dtype="<i2")
    assert len(samples) == pytest.approx(3.0 * WORK_RATE, abs=WORK_RATE * 0.03)
    assert pcm_dbfs(pcm) == pytest.approx(-24.0, abs=0.5)
    assert abs(int(samples[0])) < 200 and abs(int(samples[-1])) < 200


def test_unreadable_sound_file_is_a_clear_error(tmp_path: Path) -> None:
    from reviewcast.errors import AudioError

    bad = tmp_path / "cue.mp3"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match=r"cue\.mp3: cannot read this sound file"):
        load_sound(bad)
