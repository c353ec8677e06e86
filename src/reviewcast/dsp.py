"""Loudness, compression and peak limiting in NumPy, one segment at a time.

Every spoken segment (and every cue) is levelled on its own before it is encoded: measured,
compressed, brought to the show's loudness and limited. Doing it per segment is what lets an
episode be encoded in pieces that are cached and reused (see ``audio``): no piece's sound depends
on another's, so a changed outro re-encodes the outro only. It also evens out voices that speak
at different levels (host, reviewer, quotes), as a podcast leveller would.

* **Loudness** follows ITU-R BS.1770-4 (EBU R 128): K-weighting, 400 ms blocks with 75 % overlap,
  absolute gate at −70 LUFS, relative gate at −10 LU. The K-weighting filter is applied by
  magnitude in the frequency domain (one FFT per segment); loudness is a sum of energies, so the
  filter's phase does not matter. Agrees with ffmpeg's ebur128 within about 0.1 LU on speech
  (tests/test_dsp.py).
* **Compression and limiting** are look-ahead designs computed on 1 ms blocks: a gain reduction
  is held over a window reaching a little ahead of each peak and behind it, then smoothed, so it
  is already in place when the peak arrives (no overshoot) and released gradually. Applying a
  slowly varying gain ``g`` to a signal scales its K-weighted signal by the same ``g``, so the
  loudness after compression is computed from the K-weighted input without filtering again.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Signal = NDArray[np.float64]

BLOCK_SECONDS = 0.001  # the resolution of the gain curves
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0

# The compressor: speech is brought to PRE_LEVEL first, so the fixed threshold means the same for
# quiet and loud engines. RMS detection over 10 ms, 5 ms look-ahead, 80 ms release.
PRE_LEVEL = -21.0
THRESHOLD = -30.0
RATIO = 4.0
KNEE = 6.0
DETECT_SECONDS = 0.010
ATTACK_SECONDS = 0.005
RELEASE_SECONDS = 0.080
# The limiter: 1.5 ms look-ahead, 20 ms release.
LIMIT_ATTACK_SECONDS = 0.0015
LIMIT_RELEASE_SECONDS = 0.020


@functools.lru_cache(maxsize=8)  # one per FFT size (_fft_size): sentences share them
def _k_weighting(n: int, rate: int) -> Signal:
    """|H(f)| of the BS.1770 K-weighting filter (high shelf, then high pass) at rfft bins of n."""
    cos1 = np.cos(2 * np.pi * np.fft.rfftfreq(n))  # cos ω; cos 2ω = 2 cos²ω − 1
    cos2 = 2 * cos1 * cos1 - 1
    # Stage 1: the head's acoustic effect, a +4 dB shelf above ~1.7 kHz (libebur128's formulas,
    # which give the standard's 48 kHz coefficients at 48 kHz and hold at any rate).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    b = ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0)
    a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    power = _biquad_power(b, cos1, cos2) / _biquad_power(a, cos1, cos2)
    # Stage 2: the RLB high pass at ~38 Hz.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    # its numerator |1 − z⁻¹|⁴, as (2 − 2 cos ω)²: the general form cancels to nothing near 0 Hz
    power *= (2 - 2 * cos1) ** 2 / _biquad_power(a, cos1, cos2)
    return np.asarray(np.sqrt(np.maximum(power, 0.0)), dtype=np.float64)


def _biquad_power(c: tuple[float, float, float], cos1: Signal, cos2: Signal) -> Signal:
    """|c0 + c1 z⁻¹ + c2 z⁻²|² on the unit circle, in real arithmetic (three times faster)."""
    constant = c[0] * c[0] + c[1] * c[1] + c[2] * c[2]
    return np.asarray(constant + 2 * (c[0] + c[2]) * c[1] * cos1 + 2 * c[0] * c[2] * cos2)


def k_weighted(x: Signal, rate: int) -> Signal:
    """``x`` through the K-weighting filter's magnitude (zero-padded: no wrap-around)."""
    pad = int(0.25 * rate)  # the filter's response has decayed far below audibility by then
    n = _fft_size(x.size + pad)
    spectrum = np.fft.rfft(x, n)
    spectrum *= _k_weighting(n, rate)
    return np.fft.irfft(spectrum, n)[: x.size]


def _fft_size(n: int) -> int:
    """The next size ≥ n of the form 2^k or 3·2^k: fast for NumPy's FFT, and few enough sizes
    that the filter's response, computed once per size, serves sentences of any length."""
    if n <= 1:
        return 1
    power = 1 << (n - 1).bit_length()
    three = 3 * (power >> 2)
    return three if three >= n else power


def block_powers(kx: Signal, rate: int) -> Signal:
    """Mean square of a K-weighted signal in 400 ms blocks, 100 ms apart (BS.1770).

    A segment shorter than one block is one block of its own length.
    """
    power = kx * kx
    block, hop = int(0.4 * rate), int(0.1 * rate)
    if power.size <= block:
        return np.array([float(np.mean(power))]) if power.size else np.zeros(0)
    sums = np.concatenate(([0.0], np.cumsum(power)))
    starts = np.arange(0, power.size - block + 1, hop)
    return np.asarray((sums[starts + block] - sums[starts]) / block, dtype=np.float64)


def gated_loudness(powers: Signal) -> float:
    """Integrated loudness (LUFS) of BS.1770 block powers, gated; −inf when all is silence."""
    if powers.size == 0:
        return -math.inf
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(powers)
    above = powers[levels > ABSOLUTE_GATE]
    if above.size == 0:
        return -math.inf
    relative = -0.691 + 10 * math.log10(float(np.mean(above))) + RELATIVE_GATE
    kept = above[levels[levels > ABSOLUTE_GATE] > relative]
    return -0.691 + 10 * math.log10(float(np.mean(kept)))


def loudness(x: Signal, rate: int) -> float:
    """Integrated loudness of mono float samples (full scale ±1), in LUFS."""
    return gated_loudness(block_powers(k_weighted(x, rate), rate))


# -- gain curves, on 1 ms blocks ------------------------------------------------------------------


def _blocks(values: Signal, size: int, reduce: str) -> Signal:
    """Per-block sum, mean or max of ``values`` (the last block padded with zeros)."""
    whole = values.size // size * size
    shaped = values[:whole].reshape(-1, size)
    rest = values[whole:]
    if reduce == "max":
        out = shaped.max(axis=1, initial=0.0)
        if rest.size:
            out = np.append(out, max(0.0, float(rest.max())))
        return np.asarray(out, dtype=np.float64)
    total = shaped.sum(axis=1)
    if rest.size:
        total = np.append(total, float(rest.sum()))
    return np.asarray(total / size if reduce == "mean" else total, dtype=np.float64)


def sliding_min(values: Signal, before: int, after: int) -> Signal:
    """out[i] = min(values[i - before : i + after + 1]), edges clamped (van Herk / Gil-Werman)."""
    width = before + after + 1
    if width <= 1 or values.size == 0:
        return values.copy()
    padded = np.concatenate((np.full(before, np.inf), values, np.full(after + width, np.inf)))
    count = -(-padded.size // width)
    padded = np.concatenate((padded, np.full(count * width - padded.size, np.inf)))
    shaped = padded.reshape(count, width)
    forward = np.minimum.accumulate(shaped, axis=1).ravel()
    backward = np.minimum.accumulate(shaped[:, ::-1], axis=1)[:, ::-1].ravel()
    i = np.arange(values.size)
    return np.asarray(np.minimum(backward[i], forward[i + width - 1]), dtype=np.float64)


def moving_average(values: Signal, width: int) -> Signal:
    """Centred moving average of ``width`` points, edges padded with the edge values."""
    if width <= 1 or values.size == 0:
        return values.copy()
    half = width // 2
    padded = np.concatenate((np.full(half, values[0]), values, np.full(width - half, values[-1])))
    sums = np.concatenate(([0.0], np.cumsum(padded)))
    return np.asarray((sums[width : width + values.size] - sums[: values.size]) / width)


def _smooth_reduction(needed_db: Signal, attack: int, release: int) -> Signal:
    """A gain curve (dB, ≤ 0) at or below ``needed_db`` everywhere: held, then smoothed.

    The minimum over [i − release, i + attack] is taken first, widened by half the smoothing
    (and one block, for the interpolation between blocks) on each side, so the average that
    follows never rises above what any block needs.
    """
    smooth = max(1, attack)
    held = sliding_min(needed_db, release + smooth // 2 + 1, attack + smooth // 2 + 1)
    return np.minimum(moving_average(held, smooth), 0.0)


def compressor_curve(power: Signal) -> Signal:
    """The compressor's gain (dB) per block, given each block's mean square."""
    detect = moving_average(power, max(1, round(DETECT_SECONDS / BLOCK_SECONDS)))
    level = 10 * np.log10(np.maximum(detect, 1e-12))
    over = level - THRESHOLD
    slope = 1 / RATIO - 1
    needed = np.where(
        over <= -KNEE / 2,
        0.0,
        np.where(over >= KNEE / 2, slope * over, slope * (over + KNEE / 2) ** 2 / (2 * KNEE)),
    )
    attack = round(ATTACK_SECONDS / BLOCK_SECONDS)
    release = round(RELEASE_SECONDS / BLOCK_SECONDS)
    return _smooth_reduction(needed, attack, release)


def limiter_curve(peaks: Signal, ceiling_db: float) -> Signal:
    """The gain (dB) per block that keeps each block's peak under ``ceiling_db`` dBFS."""
    needed = np.minimum(0.0, ceiling_db - 20 * np.log10(np.maximum(peaks, 1e-9)))
    attack = max(1, round(LIMIT_ATTACK_SECONDS / BLOCK_SECONDS))
    release = round(LIMIT_RELEASE_SECONDS / BLOCK_SECONDS)
    return _smooth_reduction(needed, attack, release)


def apply_curve(x: Signal, curve_db: Signal, size: int) -> Signal:
    """``x`` times a gain given in dB per block, ramped linearly from block centre to centre
    (and held before the first centre and after the last)."""
    if curve_db.size == 0:
        return x
    return _apply_gains(x, 10 ** (curve_db / 20), size, 0, x.size)


def _apply_gains(x: Signal, gains: Signal, size: int, start: int, stop: int) -> Signal:
    """``x[start:stop]`` under linear ``gains`` per block, as ``apply_curve`` does."""
    # a sample's gain comes from the block centres either side of it
    first = max(0, start // size - 1)
    last = min(gains.size, stop // size + 2)
    centres = (np.arange(first, last) + 0.5) * size - 0.5  # in samples
    where = np.arange(start, stop, dtype=np.float64)
    return np.asarray(x[start:stop] * np.interp(where, centres, gains[first:last]))


# -- a sound, levelled ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Levelled:
    """A sound's analysis and the gain (dB per 1 ms block) that levels it.

    ``energy`` is the K-weighted energy of each block before the gain: with it, the loudness of
    any gain curve (and of several sounds with pauses between) is known without filtering again.
    """

    rate: int
    size: int  # samples per block
    energy: Signal
    peaks: Signal
    curve: Signal
    loudness: float

    def weighted(self) -> Signal:
        """Each block's K-weighted energy after the gain."""
        return np.asarray(self.energy * 10 ** (self.curve / 10), dtype=np.float64)

    def shifted(self, gain_db: float, ceiling_db: float) -> Levelled:
        """The same, ``gain_db`` louder, limited again to ``ceiling_db``."""
        curve = self.curve + gain_db
        # apply_curve blends each block's gain toward its neighbours': size the limiter by the
        # highest gain a block's samples may get, or a peak beside a rise slips over the ceiling
        edge = np.concatenate((curve[:1], curve, curve[-1:]))
        reach = np.maximum(np.maximum(edge[:-2], edge[1:-1]), edge[2:])
        curve = curve + limiter_curve(self.peaks * 10 ** (reach / 20), ceiling_db)
        loud = blocks_loudness(self.energy * 10 ** (curve / 10), self.size)
        return Levelled(self.rate, self.size, self.energy, self.peaks, curve, loud)


def blocks_loudness(weighted: Signal, size: int) -> float:
    """Gated loudness from K-weighted energies per 1 ms block of ``size`` samples."""
    window, hop = round(0.4 / BLOCK_SECONDS), round(0.1 / BLOCK_SECONDS)
    if weighted.size == 0:
        return -math.inf
    if weighted.size <= window:
        return gated_loudness(np.array([float(weighted.sum()) / (weighted.size * size)]))
    sums = np.concatenate(([0.0], np.cumsum(weighted)))
    starts = np.arange(0, weighted.size - window + 1, hop)
    return gated_loudness((sums[starts + window] - sums[starts]) / (window * size))


def blocks_size(rate: int) -> int:
    """Samples in one gain block at ``rate``."""
    return max(1, round(BLOCK_SECONDS * rate))


def silence_blocks(seconds: float) -> Signal:
    """The blocks of a pause, for ``blocks_loudness`` over sounds joined by pauses."""
    return np.zeros(round(seconds / BLOCK_SECONDS))


def analyse(
    x: Signal, rate: int, *, target: float, ceiling_db: float, compress: bool = True
) -> Levelled:
    """The gain that compresses ``x``, brings it to ``target`` LUFS and limits it to
    ``ceiling_db``. Silence gets no gain and a loudness of −inf.

    All the work is on 1 ms blocks: each block's mean square, peak and K-weighted energy are
    taken once, and a gain that is steady across a block scales them exactly. The limiter takes
    a little loudness off; the make-up gain that restores it is applied and the signal limited
    again (until within 0.05 LU, three times at most).
    """
    size = blocks_size(rate)
    kx = k_weighted(x, rate) if x.size else x
    energy = _blocks(kx * kx, size, "sum")
    power = _blocks(x * x, size, "mean")
    peaks = _blocks(np.abs(x), size, "max")
    measured = blocks_loudness(energy, size)
    if measured == -math.inf:
        return Levelled(rate, size, energy, peaks, np.zeros(energy.size), measured)
    curve = np.full(power.size, PRE_LEVEL - measured)
    if compress:
        curve += compressor_curve(power * 10 ** (curve / 10))
    loud = blocks_loudness(energy * 10 ** (curve / 10), size)
    result = Levelled(rate, size, energy, peaks, curve, loud)
    for _ in range(3):
        result = result.shifted(target - result.loudness, ceiling_db)
        if abs(target - result.loudness) < 0.05:
            break
    return result


def level(
    x: Signal, rate: int, *, target: float, ceiling_db: float, compress: bool = True
) -> tuple[Signal, float]:
    """``x`` compressed, brought to ``target`` LUFS and limited to ``ceiling_db``; its loudness."""
    result = analyse(x, rate, target=target, ceiling_db=ceiling_db, compress=compress)
    return apply_curve(x, result.curve, result.size), result.loudness


# -- true peak ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _interpolators() -> Signal:
    """48-tap windowed-sinc filters for the 3 points between samples at 4× oversampling."""
    taps = np.arange(-24, 24)
    rows = []
    for k in (1, 2, 3):
        t = taps + k / 4
        rows.append(np.sinc(t) * np.kaiser(taps.size, 8.0))
    return np.asarray(rows, dtype=np.float64)


def true_peak(y: NDArray[np.floating[Any]], *, below: float = 2.0) -> float:
    """The peak of ``y`` between its samples too (4× oversampled, as BS.1770's true peak), dB.

    Only the neighbourhoods of samples within ``below`` dB of the sample peak are oversampled:
    between samples of audio band-limited well under the Nyquist frequency (an MP3's low-pass)
    the waveform cannot rise that far above both neighbours. Agrees with ffmpeg's ebur128 within
    0.1 dB on decoded MP3s (tests/test_dsp.py).
    """
    if y.size == 0:
        return -math.inf
    magnitude = np.abs(y)
    peak = float(magnitude.max())
    if peak == 0:
        return -math.inf
    loud = np.flatnonzero(magnitude >= peak * 10 ** (-below / 20))
    # the filters interpolate between sample c − 1 and c: look on both sides of each loud one
    candidates = np.unique(np.concatenate((loud, np.minimum(loud + 1, y.size - 1))))
    between = float(_between_samples(y, candidates).max(initial=0.0))
    return 20 * math.log10(max(peak, between))


def _between_samples(y: NDArray[np.floating[Any]], candidates: NDArray[np.intp]) -> Signal:
    """The largest magnitude of the three 4× oversampled points between ``c − 1`` and ``c``, for
    each candidate sample ``c`` (48-tap interpolation; the signal is taken as zero outside)."""
    padded = np.concatenate((np.zeros(24, dtype=y.dtype), y, np.zeros(24, dtype=y.dtype)))
    filters = _interpolators().T.astype(y.dtype)
    out = np.empty(candidates.size, dtype=np.float64)
    for at in range(0, candidates.size, 4096):  # in batches: memory stays small on any signal
        chunk = candidates[at : at + 4096]
        windows = padded[chunk[:, None] + np.arange(48)[None, :]]
        out[at : at + chunk.size] = np.abs(windows @ filters).max(axis=1)
    return out


def true_peak_blocks(
    y: Signal,
    size: int,
    floor: float,
    *,
    lead: int = 0,
    length: int | None = None,
    extrema_only: bool = False,
) -> Signal:
    """The peak magnitude of each block of ``size`` samples of ``y[lead : lead + length]``,
    counting the points between samples (4× oversampled) beside every sample at or above
    ``floor``: below it, no peak between samples reaches the limits this is used for, and speech
    has only a few per cent of its samples above. Up to 24 samples of ``y`` on either side of the
    span are the interpolation's context (beyond ``y``, silence).

    ``extrema_only`` looks beside the samples that are no smaller than their neighbours only:
    a peak between two samples usually lies beside the larger of them, which is one (a third
    as much work, for a first pass; it reads some blocks up to 1.5 dB low on noise).
    """
    n = y.size - lead if length is None else length
    if n <= 0:
        return np.zeros(0)
    first = max(lead - 1, 0)  # the sample before the span: its point after is in block 0
    magnitude = np.abs(y[first : lead + n + 1])  # and the one after, for the extrema
    at = lead - first  # where the span starts in ``magnitude``
    peaks = _blocks(magnitude[at : at + n], size, "max")
    end = at + n  # loud samples among magnitude[:end]
    loud = magnitude[:end] >= floor
    if extrema_only:
        here = magnitude[:end]
        right = np.zeros(end)  # beyond ``y``: silence
        right[: magnitude.size - 1] = magnitude[1 : end + 1]
        loud[1:] &= here[1:] >= here[:-1]
        loud &= here >= right
    # candidate c stands for the points between c − 1 and c, looked at when either sample is
    # loud and counted in c's block
    near = loud[at:end].copy()
    near[1:] |= loud[at : end - 1]
    if at:
        near[0] |= loud[at - 1]
    candidates = np.flatnonzero(near) + lead
    if candidates.size == 0:
        return peaks
    between = _between_samples(y, candidates)
    blocks = (candidates - lead) // size
    starts = np.flatnonzero(np.concatenate(([True], blocks[1:] != blocks[:-1])))
    highest = np.maximum.reduceat(between, starts)
    where = blocks[starts]
    peaks[where] = np.maximum(peaks[where], highest)
    return peaks


#: How far under the ceiling a sample must be for the points beside it to be left unchecked.
#: Between samples the waveform rises ~2 dB at most over both neighbours in speech at 22.05 kHz
#: (eSpeak), less in a decoded MP3, whose low-pass sits well under the Nyquist frequency.
TRUE_PEAK_SEARCH_DB = 4.0


def limit_true_peak(x: Signal, curve: Signal, size: int, ceiling_db: float) -> Signal:
    """``x`` under the gain ``curve``, with more reduction where its true peak (between samples
    too) would pass ``ceiling_db``.

    The levelling limiter works on sample peaks, and speech at 22.05 kHz whose samples stop at
    the ceiling peaks up to 2 dB above it between them, which resampling to 44.1 kHz then makes
    real. One pass takes those places down (a reduction moves its neighbours' interpolated
    values by a hair, which the check of the encoded MP3 allows for).
    """
    y = apply_curve(x, curve, size)
    ceiling = 10 ** (ceiling_db / 20)
    floor = ceiling * 10 ** (-TRUE_PEAK_SEARCH_DB / 20)
    peaks = true_peak_blocks(y, size, floor, extrema_only=True)
    if peaks.size == 0 or float(peaks.max()) <= ceiling * 1.001:  # 0.01 dB
        return y
    reduction = limiter_curve(peaks, ceiling_db)
    gains = 10 ** ((curve + reduction) / 20)
    # A sample's gain comes from the two block centres around it: only the samples beside the
    # blocks the limiter lowered change, a few per cent of the sound.
    changed = np.flatnonzero(reduction < 0)
    # runs of lowered blocks, those less than 20 ms apart taken as one (fewer, larger spans)
    runs = np.split(changed, np.flatnonzero(np.diff(changed) > 20) + 1)
    for run in runs:
        start = max(0, (int(run[0]) - 1) * size)
        stop = min(x.size, (int(run[-1]) + 2) * size)
        y[start:stop] = _apply_gains(x, gains, size, start, stop)
    return y


def to_float(pcm: bytes) -> Signal:
    """s16le PCM → float samples, full scale ±1."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def to_pcm(x: Signal) -> bytes:
    """Float samples → s16le PCM, rounded and clipped."""
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2").tobytes()
