"""Layer III frames: granule gains lowered in place do exactly what the standard says (checked by
decoding with ffmpeg), and the encoder's overshoots are taken down that way."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from reviewcast import audio, dsp, mp3frames
from reviewcast.config import ShowConfig, config_from_mapping
from reviewcast.mp3frames import GRANULE_SAMPLES, FrameError
from reviewcast.speak import FileCache

from .test_dsp import pinkish, speechlike


def encode(x: np.ndarray, rate: int, path: Path, *extra: str) -> Path:
    """``x`` as the pipeline's encoder writes a piece: LAME 64 kbit/s, no tags, no LAME tag."""
    cmd = [audio.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    cmd += ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "-", "-c:a", "libmp3lame"]
    cmd += ["-b:a", "64k", "-write_xing", "0", "-id3v2_version", "0", "-write_id3v1", "0"]
    cmd += [*extra, "-f", "mp3", str(path)]
    subprocess.run(cmd, input=dsp.to_pcm(x), check=True, capture_output=True)
    return path


def decode(data: bytes | bytearray, rate: int, tmp_path: Path) -> np.ndarray:
    path = tmp_path / "decode.mp3"
    path.write_bytes(bytes(data))
    return audio.decode_mono(path, rate).astype(np.float64)


@pytest.mark.parametrize(("rate", "per_frame"), [(44100, 2), (22050, 1)])
def test_lowering_granules_scales_their_output_and_nothing_far_from_them(
    tmp_path: Path, rate: int, per_frame: int
) -> None:
    x = speechlike(4.0, rate, 3) * 0.5
    mp3 = encode(x, rate, tmp_path / "a.mp3")
    data = bytearray(mp3.read_bytes())
    before = mp3frames.global_gains(data)
    frames = list(mp3frames.frames(data))
    assert len(before) == per_frame * len(frames)  # MPEG-1: two granules a frame; MPEG-2: one
    original = decode(data, rate, tmp_path)

    mp3frames.lower_granules(data, {g: 2 for g in range(60, 90)})
    assert mp3frames.global_gains(data) == [
        g - 2 if 60 <= i < 90 else g for i, g in enumerate(before)
    ]
    assert len(data) == len(mp3.read_bytes())  # nothing but the gains moved
    lowered = decode(data, rate, tmp_path)
    assert lowered.size == original.size

    g = GRANULE_SAMPLES
    # well inside the span: every sample exactly 2 steps (3 dB) down, to the decoder's rounding
    inside = slice(64 * g, 88 * g)
    assert np.max(np.abs(lowered[inside] - original[inside] * 2**-0.5)) < 3 / 32768
    # well outside it (the decoder's windows and filter bank reach two granules): untouched
    assert np.array_equal(lowered[: 57 * g], original[: 57 * g])
    assert np.array_equal(lowered[93 * g :], original[93 * g :])


def test_gains_never_go_below_zero_and_only_granules_that_exist_change(tmp_path: Path) -> None:
    data = bytearray(
        encode(speechlike(1.0, 44100, 1) * 0.5, 44100, tmp_path / "a.mp3").read_bytes()
    )
    mp3frames.lower_granules(data, {0: 300})
    assert mp3frames.global_gains(data)[0] == 0
    before = bytes(data)
    mp3frames.lower_granules(data, {-1: 1, len(mp3frames.global_gains(data)): 1})
    assert bytes(data) == before  # granules beyond the stream's ends are passed over


def test_streams_whose_gains_cannot_be_changed_are_refused(tmp_path: Path) -> None:
    stereo = encode(speechlike(1.0, 44100, 1) * 0.5, 44100, tmp_path / "s.mp3", "-ac", "2")
    with pytest.raises(FrameError, match="not a mono stream"):
        mp3frames.gain_fields(stereo.read_bytes())
    data = bytearray(
        encode(speechlike(1.0, 44100, 1) * 0.5, 44100, tmp_path / "m.mp3").read_bytes()
    )
    crc = bytearray(data)
    crc[1] &= 0xFE  # protection bit 0: a CRC follows the header
    with pytest.raises(FrameError, match="CRC"):
        mp3frames.gain_fields(crc)
    with pytest.raises(FrameError, match="cut short"):
        mp3frames.gain_fields(data[:-10])
    with pytest.raises(FrameError, match="not an MP3 frame"):
        mp3frames.gain_fields(b"ID3\x04" + data)


def harsh(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Bursts of bright noise over a voice, hard-limited to −1 dBFS: LAME's noise lifts peaks."""
    x = speechlike(seconds, rate, seed) * 0.6 + pinkish(seconds, rate, seed) * 0.8
    levelled, _ = dsp.level(x, rate, target=-14.0, ceiling_db=-1.0)
    return levelled


def test_overshoots_are_taken_down_by_a_few_granules(tmp_path: Path) -> None:
    mp3 = encode(harsh(8.0, 44100, 5), 44100, tmp_path / "a.mp3")
    limit = -1.5
    before = audio.decoded_true_peak(mp3)
    assert before > limit + 0.3  # the case this exists for
    gains = mp3frames.global_gains(mp3.read_bytes())

    first, left = audio._bring_under(mp3, limit)
    assert first == pytest.approx(before - limit, abs=0.05) and left <= 0
    assert audio.decoded_true_peak(mp3) <= limit + 0.05  # our meter; ffmpeg's agrees:
    assert audio.measure_file(mp3).true_peak <= limit + 0.1
    after = mp3frames.global_gains(mp3.read_bytes())
    changed = sum(a != b for a, b in zip(gains, after, strict=True))
    assert 0 < changed < len(gains) // 4  # local: the rest of the piece keeps its level


def test_the_streamed_granule_peaks_match_the_whole_decoded_signal(tmp_path: Path) -> None:
    """Long enough for several of the decoder's 1 MB chunks: no peak is lost at their edges."""
    mp3 = encode(harsh(30.0, 44100, 7), 44100, tmp_path / "a.mp3")
    floor = 10 ** (-6 / 20)
    decoded = audio.decode_mono(mp3, 44100).astype(np.float64)
    # blocks of one sample: each point between samples is compared, those beside a chunk's edge too
    for block, low in ((GRANULE_SAMPLES, floor), (1, 0.0)):
        streamed = audio.decoded_peaks(mp3, block, low)
        whole = dsp.true_peak_blocks(decoded, block, low)
        np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-12)


def test_a_stream_whose_gains_cannot_change_is_left_for_encoding_again(tmp_path: Path) -> None:
    mp3 = encode(harsh(4.0, 44100, 5), 44100, tmp_path / "s.mp3", "-ac", "2")
    original = mp3.read_bytes()
    # (decoded to mono by ffmpeg, whose downmix puts the peaks near -4.3 dBTP)
    first, left = audio._bring_under(mp3, -6.0)
    assert first == left > 0  # said how far over it is, and changed nothing
    assert mp3.read_bytes() == original


def piece_pcm(tmp_path: Path) -> Path:
    """A piece as _level_into leaves it: 22.05 kHz PCM under the limiter's ceiling (-3 dBFS)."""
    pcm = tmp_path / "piece-0.pcm"
    levelled, _ = dsp.level(harsh(6.0, 22050, 9) * 0.5, 22050, target=-15.5, ceiling_db=-3.0)
    pcm.write_bytes(dsp.to_pcm(levelled))
    return pcm


def test_a_piece_the_gains_cannot_bring_under_is_encoded_behind_a_lower_limiter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_from_mapping(tmp_path, {}, tmp_path / "show.toml")
    encoded: list[float | None] = []
    real_encoder = audio._run_encoder

    def run_encoder(pcm: Path, mp3: Path, config: ShowConfig, ceiling: float | None) -> None:
        encoded.append(ceiling)
        real_encoder(pcm, mp3, config, ceiling)

    monkeypatch.setattr(audio, "_run_encoder", run_encoder)
    monkeypatch.setattr(mp3frames, "lower_granules", lambda data, steps: None)  # no effect
    monkeypatch.setattr(audio, "TRUE_PEAK_MARGIN", 2.0)  # a limit LAME's noise surely passes
    piece = audio._encode_piece(piece_pcm(tmp_path), "k", [1], config, FileCache(tmp_path / "c"))
    assert encoded[0] is None and encoded[1] is not None  # encoded again, behind the limiter
    data = piece.path.read_bytes()[piece.offset :]
    (tmp_path / "out.mp3").write_bytes(data)
    assert audio.decoded_true_peak(tmp_path / "out.mp3") <= config.true_peak - 2.0 + 0.05


def test_a_piece_still_over_the_limit_is_kept_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_from_mapping(tmp_path, {}, tmp_path / "show.toml")
    monkeypatch.setattr(audio, "_bring_under", lambda mp3, limit: (0.8, 0.5))
    piece = audio._encode_piece(piece_pcm(tmp_path), "k", [1], config, FileCache(tmp_path / "c"))
    assert piece.path.is_file()
    assert "over the show's limit of -1.0 dBTP" in caplog.text
