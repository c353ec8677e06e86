"""Assembly, cues, loudness and encoding, on synthetic speech (fast) — the real engines are
exercised end to end in test_render.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reviewcast.audio import (
    WORK_RATE,
    SpokenSegment,
    assemble,
    builtin_cue,
    decode_mono,
    encode,
    load_sound,
    measure_file,
)
from reviewcast.config import config_from_mapping
from reviewcast.models import Segment, Track

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


def write_pcm(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def track(title: str, number: int) -> Track:
    return Track(title, number, 0, 0, len(title), title, "exact")


@pytest.fixture
def spoken(tmp_path: Path) -> list[SpokenSegment]:
    items: list[SpokenSegment] = []
    for i, (kind, seconds) in enumerate([("intro", 2.0), ("review", 3.0)]):
        pcm = write_pcm(tmp_path / f"s{i}.pcm", speechlike(seconds, i))
        items.append(SpokenSegment(Segment(kind, f"{kind} {i}", "v", 0.5), pcm))  # type: ignore[arg-type]
    items.append(SpokenSegment(Segment("cue", "Init", "", 0.15, 0, track("Init", 1)), None))
    pcm = write_pcm(tmp_path / "s3.pcm", speechlike(4.0, 3))
    items.append(SpokenSegment(Segment("review", "about Init", "v", 0.7, 0), pcm))
    items.append(SpokenSegment(Segment("cue", "Nemesis", "", 0.15, 1, track("Nemesis", 21)), None))
    pcm = write_pcm(tmp_path / "s4.pcm", speechlike(3.0, 4))
    items.append(SpokenSegment(Segment("review", "about Nemesis", "v", 1.2, 1), pcm))
    pcm = write_pcm(tmp_path / "s5.pcm", speechlike(2.5, 5))
    items.append(SpokenSegment(Segment("outro", "bye", "v", 0.5), pcm))
    return items


def test_assembly_times_chapters_and_captions_from_sample_counts(
    tmp_path: Path, spoken: list[SpokenSegment]
) -> None:
    out = assemble(spoken, lambda seg: builtin_cue(), tmp_path / "episode.pcm")
    cue = len(builtin_cue()) // 2 / WORK_RATE
    assert [c.title for c in out.chapters] == ["Intro", "Init", "Nemesis", "Outro"]
    assert [c.kind for c in out.chapters] == ["intro", "track", "track", "outro"]
    init_start = 2.0 + 0.5 + 3.0 + 0.5
    assert out.chapters[1].start == pytest.approx(init_start, abs=1e-3)
    nemesis_start = init_start + cue + 0.15 + 4.0 + 0.7
    assert out.chapters[2].start == pytest.approx(nemesis_start, abs=1e-3)
    assert out.chapters[-1].end == pytest.approx(out.duration, abs=1e-3)
    for a, b in zip(out.chapters, out.chapters[1:], strict=False):
        assert a.end == b.start
    assert out.samples * 2 == (tmp_path / "episode.pcm").stat().st_size
    assert [c.text for c in out.captions] == [
        "intro 0",
        "review 1",
        "about Init",
        "about Nemesis",
        "bye",
    ]
    assert out.captions[2].start == pytest.approx(init_start + cue + 0.15, abs=1e-3)


def test_encoded_episode_meets_apples_loudness_and_keeps_cues_on_their_chapters(
    tmp_path: Path, spoken: list[SpokenSegment]
) -> None:
    config = config_from_mapping(tmp_path, {}, tmp_path / "show.toml")
    assembled = assemble(spoken, lambda seg: builtin_cue(), tmp_path / "episode.pcm")
    mp3 = tmp_path / "episode.mp3"
    loudness = encode(assembled, config, mp3)
    measured = measure_file(mp3)  # measured again, independently of what encode reported
    assert measured == loudness
    assert -17.0 <= measured.integrated <= -15.0
    assert measured.true_peak <= -1.0
    audio = decode_mono(mp3, WORK_RATE)
    assert len(audio) / WORK_RATE == pytest.approx(assembled.duration, abs=0.06)
    cue = np.frombuffer(builtin_cue(), dtype="<i2").astype(np.float32)
    for chapter in assembled.chapters[1:3]:
        found = find_cue(audio, cue, chapter.start, WORK_RATE)
        assert abs(found - chapter.start) <= 0.05, (chapter.title, found, chapter.start)


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
