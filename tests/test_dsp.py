"""dsp: loudness and true peak against ffmpeg's ebur128, levelling, and the helpers brute-forced.

Signals are synthesised with NumPy (no speech engine); ffmpeg, where used, is the reference meter.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reviewcast import audio, dsp
from reviewcast.dsp import Signal

CEILING = -3.0  # the pipeline's: the default true-peak limit (−1 dBTP) less the limiter's headroom


def speechlike(seconds: float, rate: int, seed: int) -> Signal:
    """Harmonics of a wandering 110 Hz voice, syllable-rate envelope, peaks at −0.1 dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 110 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = np.sum([np.sin(k * phase) / k for k in range(1, 12)], axis=0)
    envelope = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)), 0, None) ** 2
    signal = voiced * envelope
    return np.asarray(signal / np.max(np.abs(signal)) * 0.99, dtype=np.float64)


def sine(seconds: float, rate: int, freq: float = 997.0, amp: float = 1.0) -> Signal:
    t = np.arange(int(seconds * rate)) / rate
    return np.asarray(amp * np.sin(2 * np.pi * freq * t), dtype=np.float64)


def pinkish(seconds: float, rate: int, seed: int) -> Signal:
    """Gaussian noise shaped to a 1/f power spectrum, peaks at 0.5."""
    n = int(seconds * rate)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    freqs[0] = freqs[1]
    x = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return np.asarray(x / np.max(np.abs(x)) * 0.5, dtype=np.float64)


def peaky(seconds: float, rate: int, seed: int) -> Signal:
    """Speech at −10 dBFS with eight 2 ms bursts at 3 kHz reaching almost full scale."""
    x = speechlike(seconds, rate, seed) * 0.3
    rng = np.random.default_rng(seed)
    length = int(0.002 * rate)
    burst = 0.99 * np.sin(2 * np.pi * 3000 * np.arange(length) / rate) * np.hanning(length)
    for at in rng.integers(0, x.size - length, 8):
        x[at : at + length] += burst
    return np.asarray(np.clip(x, -1, 1), dtype=np.float64)


def peak_db(x: Signal) -> float:
    return 20 * math.log10(float(np.max(np.abs(x))))


def rms_db(x: Signal) -> float:
    return 10 * math.log10(float(np.mean(x * x)))


def ffmpeg_loudness(x: Signal, rate: int, tmp_path: Path) -> audio.Loudness:
    pcm = tmp_path / f"signal-{rate}.pcm"
    pcm.write_bytes(dsp.to_pcm(x))
    return audio.measure(["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", str(pcm)], "")


# -- loudness -------------------------------------------------------------------------------------

SIGNALS: dict[str, Callable[[int], Signal]] = {
    "speech": lambda rate: speechlike(6.0, rate, 1) * 0.5,
    "quiet speech": lambda rate: speechlike(6.0, rate, 3) * 0.02,
    "sine 997 Hz": lambda rate: sine(3.0, rate, amp=0.999),
    "pink noise": lambda rate: pinkish(5.0, rate, 2),
}


@pytest.mark.parametrize("rate", [22050, 44100])
@pytest.mark.parametrize("name", list(SIGNALS))
def test_loudness_agrees_with_ffmpeg(name: str, rate: int, tmp_path: Path) -> None:
    x = dsp.to_float(dsp.to_pcm(SIGNALS[name](rate)))  # what ffmpeg reads, exactly
    reference = ffmpeg_loudness(x, rate, tmp_path).integrated  # printed to 0.1 LU
    assert dsp.loudness(x, rate) == pytest.approx(reference, abs=0.15)


def test_full_scale_997_hz_sine_reads_minus_3_01_lufs() -> None:
    """BS.1770-4's calibration: at 48 kHz the K-weighting filter is the standard's own."""
    assert dsp.loudness(sine(2.0, 48000), 48000) == pytest.approx(-3.01, abs=0.02)


def test_loudness_follows_gain_exactly() -> None:
    x = speechlike(3.0, 22050, 4)
    assert dsp.loudness(x * 0.1, 22050) == pytest.approx(dsp.loudness(x, 22050) - 20, abs=1e-9)


@pytest.mark.parametrize("samples", [5, 100, 2205, 8797])
def test_short_sounds_are_one_block_of_their_own(samples: int) -> None:
    """Under 400 ms there is no full block: the whole sound is measured as one."""
    x = sine(1.0, 22050)[:samples]
    assert dsp.loudness(x, 22050) == pytest.approx(-3.01, abs=0.1)


@pytest.mark.parametrize("x", [np.zeros(0), np.zeros(1), np.zeros(30000)])
def test_silence_measures_minus_inf(x: Signal) -> None:
    assert dsp.loudness(x, 22050) == -math.inf


def test_gated_loudness_drops_blocks_under_the_gates() -> None:
    loud = 10 ** ((-20 + 0.691) / 10)  # a block power that reads −20 LUFS
    assert dsp.gated_loudness(np.array([loud, loud])) == pytest.approx(-20)
    # −35 LUFS is under the relative gate (−30): ignored; −80 is under the absolute gate
    with_quiet = np.array([loud, loud, 10 ** ((-35 + 0.691) / 10), 10 ** ((-80 + 0.691) / 10)])
    assert dsp.gated_loudness(with_quiet) == pytest.approx(-20)
    assert dsp.gated_loudness(np.array([10 ** ((-75 + 0.691) / 10)])) == -math.inf
    assert dsp.gated_loudness(np.zeros(0)) == -math.inf


@pytest.mark.parametrize("rate", [16000, 48000])
@pytest.mark.parametrize("seconds", [0.25, 3.0])
def test_blocks_loudness_is_loudness_where_1_ms_is_whole_samples(rate: int, seconds: float) -> None:
    """At 16 and 48 kHz the 1 ms blocks tile the 400 ms blocks exactly: same number."""
    x = speechlike(seconds, rate, 5) * 0.3 + pinkish(seconds, rate, 6) * 0.05
    size = dsp.blocks_size(rate)
    assert size * 1000 == rate and x.size % size == 0
    kx = dsp.k_weighted(x, rate)
    energy = kx * kx
    blocks = energy.reshape(-1, size).sum(axis=1)
    assert dsp.blocks_loudness(blocks, size) == pytest.approx(dsp.loudness(x, rate), abs=1e-9)


@pytest.mark.parametrize("rate", [22050, 44100])
def test_blocks_loudness_is_loudness_within_0_1_lu(rate: int) -> None:
    """At 22.05 kHz a "1 ms" block is 22 samples, so the grids differ slightly."""
    x = speechlike(5.0, rate, 7) * 0.5
    size = dsp.blocks_size(rate)
    kx = dsp.k_weighted(x, rate)
    padded = np.zeros(-(-x.size // size) * size)
    padded[: x.size] = kx * kx
    blocks = padded.reshape(-1, size).sum(axis=1)
    assert dsp.blocks_loudness(blocks, size) == pytest.approx(dsp.loudness(x, rate), abs=0.1)


def test_blocks_loudness_of_nothing_is_minus_inf() -> None:
    assert dsp.blocks_loudness(np.zeros(0), 22) == -math.inf
    assert dsp.blocks_loudness(dsp.silence_blocks(1.0), 22) == -math.inf
    assert dsp.silence_blocks(0.25).size == 250


# -- true peak ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Levelled speech-like audio encoded as the pipeline encodes it: LAME, 64 kbit/s, 44.1 kHz."""
    folder = tmp_path_factory.mktemp("mp3")
    x = np.concatenate([speechlike(3.0, 44100, seed) * 0.5 for seed in (11, 12)])
    levelled, _ = dsp.level(x, 44100, target=-16.0, ceiling_db=CEILING)
    pcm, out = folder / "speech.pcm", folder / "speech.mp3"
    pcm.write_bytes(dsp.to_pcm(levelled))
    cmd = [audio.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    cmd += ["-f", "s16le", "-ar", "44100", "-ac", "1", "-i", str(pcm)]
    cmd += ["-c:a", "libmp3lame", "-b:a", "64k", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def test_true_peak_agrees_with_ffmpeg_on_a_decoded_mp3(mp3: Path) -> None:
    reference = audio.measure_file(mp3).true_peak
    decoded = audio.decode_mono(mp3, 44100)
    assert dsp.true_peak(decoded) == pytest.approx(reference, abs=0.2)
    assert audio.decoded_true_peak(mp3) == pytest.approx(reference, abs=0.2)


def test_true_peak_oversamples_enough_of_a_decoded_mp3(mp3: Path) -> None:
    """Looking only near the loudest samples finds what looking everywhere finds."""
    decoded = audio.decode_mono(mp3, 44100)
    assert dsp.true_peak(decoded) == dsp.true_peak(decoded, below=300.0)
    assert dsp.true_peak(decoded) >= peak_db(decoded.astype(np.float64))


@pytest.mark.parametrize(
    ("period", "phase", "sample_peak"),
    [(4, math.pi / 4, math.sqrt(0.5)), (3, 2 * math.pi / 3, math.sqrt(0.75))],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_true_peak_finds_the_peak_between_samples(
    period: int, phase: float, sample_peak: float, dtype: type[np.floating[Any]]
) -> None:
    """A sine at fs/4 (fs/3) whose samples all miss its crests by 3.0 dB (1.25 dB).

    Faded in and out: a sine cut off abruptly really does overshoot between its first samples.
    """
    n = np.arange(2400)
    fade = np.clip(np.minimum(n, n[::-1]) / 200, 0, 1)
    y = (0.5 * fade * np.sin(2 * np.pi * n / period + phase)).astype(dtype)
    assert peak_db(y.astype(np.float64)) == pytest.approx(20 * math.log10(0.5 * sample_peak))
    assert dsp.true_peak(y) == pytest.approx(20 * math.log10(0.5), abs=0.05)


def test_true_peak_of_a_lone_sample_is_the_sample() -> None:
    y = np.zeros(200)
    y[100] = -0.25
    assert dsp.true_peak(y) == pytest.approx(20 * math.log10(0.25), abs=1e-9)


def test_true_peak_of_nothing_is_minus_inf() -> None:
    assert dsp.true_peak(np.zeros(0)) == -math.inf
    assert dsp.true_peak(np.zeros(100, dtype=np.float32)) == -math.inf


def test_true_peak_blocks_of_a_span_are_those_of_the_whole_signal() -> None:
    """A span with its context (as the decoder's chunks are measured) gives the same blocks."""
    y = pinkish(2.0, 22050, 4) * 1.6
    whole = dsp.true_peak_blocks(y, 22, 0.3)
    assert whole.max() > np.abs(y).max()  # it does find peaks between samples
    span = dsp.true_peak_blocks(y[220 - 24 : 220 + 1100 + 24], 22, 0.3, lead=24, length=1100)
    np.testing.assert_allclose(span, whole[10:60], rtol=0, atol=1e-12)  # the same to rounding


def brute_block_peaks(y: Signal, size: int, lead: int, length: int) -> Signal:
    """Each block's peak, every sample and every 4× point before it looked at, one by one."""
    filters = dsp._interpolators()
    padded = np.concatenate((np.zeros(24), y, np.zeros(24)))
    out = np.zeros(-(-length // size))
    for c in range(lead, lead + length):
        window = padded[c : c + 48]  # y[c - 24 : c + 24]: the points between c - 1 and c
        value = max(abs(y[c]), float(np.max(np.abs(filters @ window))))
        out[(c - lead) // size] = max(out[(c - lead) // size], value)
    return out


@pytest.mark.parametrize(("lead", "length"), [(0, 700), (1, 650), (24, 640), (30, 333)])
def test_true_peak_blocks_match_looking_at_every_point(lead: int, length: int) -> None:
    rng = np.random.default_rng(lead)
    y = rng.standard_normal(lead + length + 24) * 0.2
    y[lead - 1 if lead else 0] = 0.95  # the sample before the span: its point after counts
    y[lead + 300] = -0.9
    brute = brute_block_peaks(y, 22, lead, length)
    found = dsp.true_peak_blocks(y, 22, 0.0, lead=lead, length=length)
    np.testing.assert_allclose(found, brute, rtol=0, atol=1e-12)
    if lead:  # a loud sample just before the span, a quieter one first in it: a floor between
        y[lead] = 0.9  # them still looks between them, and finds the crest there
        crest = brute_block_peaks(y, 22, lead, length)[0]
        assert crest > 0.95
        assert dsp.true_peak_blocks(y, 22, 0.94, lead=lead, length=length)[0] == crest


def test_limit_true_peak_holds_the_peaks_between_samples_under_the_ceiling() -> None:
    """Sample-peak limiting leaves an fs/4 sine well over the ceiling between its samples."""
    n = np.arange(22050)
    fade = np.clip(np.minimum(n, n[::-1]) / 500, 0, 1)
    x = 0.9 * fade * np.sin(2 * np.pi * n / 4 + math.pi / 4)
    result = dsp.analyse(x, 22050, target=-1.0, ceiling_db=CEILING, compress=False)
    sample_limited = dsp.apply_curve(x, result.curve, result.size)
    assert dsp.true_peak(sample_limited) > CEILING + 1.5
    limited = dsp.limit_true_peak(x, result.curve, result.size, CEILING)
    assert dsp.true_peak(limited) <= CEILING + 0.05
    # only the samples beside lowered blocks are computed again: the same as all of them
    floor = 10 ** ((CEILING - dsp.TRUE_PEAK_SEARCH_DB) / 20)
    peaks = dsp.true_peak_blocks(sample_limited, result.size, floor, extrema_only=True)
    reduced = result.curve + dsp.limiter_curve(peaks, CEILING)
    np.testing.assert_allclose(limited, dsp.apply_curve(x, reduced, result.size), atol=1e-15)
    # bursts with quiet speech either side: the lowered blocks have edges on both sides
    burst = speechlike(2.0, 22050, 5) * 0.2
    for at in (3000, 20000, 33000):
        burst[at : at + 400] += 0.8 * np.sin(2 * np.pi * n[:400] / 4 + math.pi / 4)
    flat = np.full(-(-burst.size // 22), -1.0)
    peaks = dsp.true_peak_blocks(dsp.apply_curve(burst, flat, 22), 22, floor, extrema_only=True)
    reduction = dsp.limiter_curve(peaks, CEILING)
    assert 0 < np.count_nonzero(reduction) < reduction.size // 4
    np.testing.assert_allclose(
        dsp.limit_true_peak(burst, flat, 22, CEILING),
        dsp.apply_curve(burst, flat + reduction, 22),
        atol=1e-15,
    )
    # speech whose true peak is under the ceiling already comes back as the curve makes it
    quiet = speechlike(2.0, 22050, 3) * 0.3
    flat = np.zeros(-(-quiet.size // 22))
    np.testing.assert_array_equal(
        dsp.limit_true_peak(quiet, flat, 22, CEILING), dsp.apply_curve(quiet, flat, 22)
    )


# -- levelling ------------------------------------------------------------------------------------

INPUTS: dict[str, Callable[[], Signal]] = {
    "loud": lambda: speechlike(4.0, 22050, 1),
    "quiet": lambda: speechlike(4.0, 22050, 2) * 0.003,
    "peaky": lambda: peaky(4.0, 22050, 0),
}


@pytest.mark.parametrize(("target", "ceiling"), [(-16.0, -1.0), (-19.0, CEILING)])
@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("name", list(INPUTS))
def test_level_reaches_the_target_under_the_ceiling(
    name: str, compress: bool, target: float, ceiling: float
) -> None:
    x = INPUTS[name]()
    y, predicted = dsp.level(x, 22050, target=target, ceiling_db=ceiling, compress=compress)
    assert y.shape == x.shape
    actual = dsp.loudness(y, 22050)
    assert actual == pytest.approx(target, abs=0.1)
    assert predicted == pytest.approx(actual, abs=0.05)  # the blocks' estimate is the real thing
    assert peak_db(y) <= ceiling + 0.1


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("name", list(INPUTS))
def test_level_under_a_tight_ceiling_falls_short_but_never_over(name: str, compress: bool) -> None:
    """−16 LUFS under −3 dBFS costs these inputs up to 7 dB of limiting; analyse makes up for
    what the limiter takes three times at most, so it may stop short (by up to 0.6 LU here;
    the pipeline's whole-piece pass makes up the rest). It must not overshoot or clip."""
    x = INPUTS[name]()
    y, predicted = dsp.level(x, 22050, target=-16.0, ceiling_db=CEILING, compress=compress)
    actual = dsp.loudness(y, 22050)
    assert -17.0 < actual <= -16.0 + 0.05
    assert predicted == pytest.approx(actual, abs=0.05)
    assert peak_db(y) <= CEILING + 0.1


def test_level_keeps_a_peak_at_the_end_of_a_limiter_release_under_the_ceiling() -> None:
    """A quiet tone, a click that needs 14 dB of limiting, and 23.6 ms later (as the limiter's
    20 ms release ends) a smaller click that fits under the ceiling at its block's centre gain.
    apply_curve ramps toward the next block's (far higher) gain there; the limiter must allow for
    it (it went 1.5 dB over before Levelled.shifted sized it by the neighbours' gains)."""
    x = sine(1.0, 22050, amp=0.01)
    x[5000] = 0.99
    x[5520] = 0.3
    y, _ = dsp.level(x, 22050, target=-16.0, ceiling_db=CEILING, compress=False)
    assert peak_db(y) <= CEILING + 0.1  # was −1.51 dBFS, at sample 5520


def test_level_without_compression_keeps_the_waveform() -> None:
    """When nothing needs limiting the gain is one number: the waveform is only scaled."""
    x = speechlike(3.0, 22050, 2) * 0.2
    y, loud = dsp.level(x, 22050, target=-20.0, ceiling_db=-1.0, compress=False)
    assert peak_db(y) < -3.0  # no limiter at work: the premise of the test
    audible = np.abs(x) > 1e-3
    gains = y[audible] / x[audible]
    assert float(np.max(gains) / np.min(gains)) == pytest.approx(1.0, abs=1e-9)
    assert loud == pytest.approx(-20.0, abs=0.01)


def test_compressor_narrows_dynamics() -> None:
    """Speech alternating every 250 ms between two levels 20 dB apart."""
    rate = 22050
    x = speechlike(4.0, rate, 9)
    loud_part = (np.arange(x.size) * 4 // rate) % 2 == 0
    x = np.where(loud_part, x, x * 0.1)
    plain, _ = dsp.level(x, rate, target=-20.0, ceiling_db=-1.0, compress=False)
    squeezed, _ = dsp.level(x, rate, target=-20.0, ceiling_db=-1.0, compress=True)

    def spread(y: Signal) -> float:
        return rms_db(y[loud_part]) - rms_db(y[~loud_part])

    assert spread(plain) == pytest.approx(20.0, abs=0.1)
    assert spread(squeezed) < 10.0
    assert peak_db(squeezed) - rms_db(squeezed) < peak_db(plain) - rms_db(plain) - 0.5


def test_shifted_moves_loudness_and_respects_the_ceiling() -> None:
    rate = 22050
    x = speechlike(4.0, rate, 3)
    base = dsp.analyse(x, rate, target=-22.0, ceiling_db=CEILING)
    quieter = base.shifted(-4.0, CEILING)
    assert quieter.loudness == pytest.approx(base.loudness - 4.0, abs=1e-9)
    np.testing.assert_allclose(quieter.curve, base.curve - 4.0, atol=1e-9)  # nothing to limit
    louder = base.shifted(8.0, CEILING)  # more than the ceiling allows without limiting
    y = dsp.apply_curve(x, louder.curve, louder.size)
    assert base.loudness + 3.0 < louder.loudness < base.loudness + 8.0
    assert dsp.loudness(y, rate) == pytest.approx(louder.loudness, abs=0.05)
    assert peak_db(y) <= CEILING + 0.1
    np.testing.assert_allclose(louder.weighted(), louder.energy * 10 ** (louder.curve / 10))


@pytest.mark.parametrize("x", [np.zeros(0), np.zeros(5000)])
def test_silence_is_left_alone(x: Signal) -> None:
    result = dsp.analyse(x, 22050, target=-16.0, ceiling_db=CEILING)
    assert result.loudness == -math.inf
    assert not np.any(result.curve)
    y, loud = dsp.level(x, 22050, target=-16.0, ceiling_db=CEILING)
    assert loud == -math.inf
    np.testing.assert_array_equal(y, x)


# -- helpers, against brute force -----------------------------------------------------------------

values = arrays(
    np.float64, st.integers(0, 80), elements=st.floats(-1e6, 1e6, allow_nan=False, width=64)
)


@settings(max_examples=300, deadline=None)
@given(values, st.integers(0, 100), st.integers(0, 100))
def test_sliding_min_is_the_minimum_over_its_window(v: Signal, before: int, after: int) -> None:
    expected = [float(np.min(v[max(0, i - before) : i + after + 1])) for i in range(v.size)]
    assert dsp.sliding_min(v, before, after).tolist() == expected


@settings(max_examples=300, deadline=None)
@given(values.filter(lambda v: v.size > 0), st.integers(0, 100))
def test_moving_average_is_the_centred_mean(v: Signal, width: int) -> None:
    if width <= 1:
        expected = v
    else:
        half = width // 2
        edged = [v[0]] * half + v.tolist() + [v[-1]] * width
        expected = np.array([np.mean(edged[i : i + width]) for i in range(v.size)])
    np.testing.assert_allclose(dsp.moving_average(v, width), expected, rtol=1e-9, atol=1e-3)


def test_moving_average_of_nothing_is_nothing() -> None:
    assert dsp.moving_average(np.zeros(0), 5).size == 0


@pytest.mark.parametrize("samples", [1, 21, 22, 23, 1000])
@pytest.mark.parametrize("gain_db", [0.0, -7.5, 12.0])
def test_apply_curve_with_a_constant_gain_multiplies(samples: int, gain_db: float) -> None:
    x = np.random.default_rng(samples).uniform(-1, 1, samples)
    curve = np.full(-(-samples // 22), gain_db)
    np.testing.assert_allclose(dsp.apply_curve(x, curve, 22), x * 10 ** (gain_db / 20), rtol=1e-14)
    if gain_db == 0:
        np.testing.assert_array_equal(dsp.apply_curve(x, curve, 22), x)


def test_apply_curve_ramps_between_block_centres() -> None:
    """A step from 0 to −20 dB becomes a ramp over the two blocks either side of it."""
    curve = np.array([0.0] * 5 + [-20.0] * 5)
    y = dsp.apply_curve(np.ones(220), curve, 22)
    assert np.all(np.diff(y) <= 0)
    np.testing.assert_allclose(y[: 4 * 22 + 11], 1.0)
    np.testing.assert_allclose(y[5 * 22 + 11 :], 0.1)
    assert 0.1 < y[5 * 22 - 1] < 1.0 and 0.1 < y[5 * 22] < 1.0


def test_fft_size_is_the_next_power_of_two_or_three_times_one() -> None:
    sizes = sorted({2**k for k in range(20)} | {3 * 2**k for k in range(19)})
    for n in [*range(1, 3000), 22050, 30011, 65536, 65537, 98305]:
        expected = next(m for m in sizes if m >= n)
        assert dsp._fft_size(n) == expected, n
    # sentences of any length share a handful of sizes, so the filter is computed a few times
    assert len({dsp._fft_size(n) for n in range(22050, 22050 * 16, 1000)}) <= 9


# -- PCM ------------------------------------------------------------------------------------------


def test_pcm_round_trips_every_16_bit_value() -> None:
    every = np.arange(-32768, 32768, dtype="<i2").tobytes()
    x = dsp.to_float(every)
    assert x.dtype == np.float64 and x.min() == -1.0 and x.max() == 32767 / 32768
    assert dsp.to_pcm(x) == every


def test_pcm_rounds_and_clips() -> None:
    x = np.array([2.0, 1.0, -1.0, -2.0, 0.4 / 32768, 0.6 / 32768, -0.6 / 32768, math.inf])
    got = np.frombuffer(dsp.to_pcm(x), dtype="<i2").tolist()
    assert got == [32767, 32767, -32768, -32768, 0, 1, -1, 32767]
