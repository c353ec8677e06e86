"""Spoken segments + cues → one loudness-normalised MP3, with chapter times and caption timings.

Assembly streams: each segment's PCM is copied from its cache file into one raw PCM file with the
pauses between, so memory does not grow with the episode's length (pydub's ``+`` would hold every
copy and is quadratic over many segments). ffmpeg then measures and encodes from that file.

Loudness (Apple: −16 LUFS integrated, true peak ≤ −1 dBTP). eSpeak speaks at about −21 LUFS with
peaks at 0 dBFS: a gain plus a limiter alone stops near −17, so the chain compresses first, then
applies a measured gain, then a 4× oversampled limiter (an approximation of a true-peak limiter),
then checks the encoded MP3 and corrects once if the encoder moved it.
"""

from __future__ import annotations

import errno
import functools
import math
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from reviewcast.config import ShowConfig
from reviewcast.errors import AudioError
from reviewcast.fsutil import write_error
from reviewcast.models import Chapter, ChapterKind, Cue, Segment

WORK_RATE = 22050  # eSpeak's and piper's rate: segments are assembled at it, encoded at the show's
SAMPLE_WIDTH = 2
MAX_CUE_SECONDS = 2.0
# Speech is brought near this level before compression, so the compressor's fixed threshold
# works the same for quiet and loud engines.
PRE_COMPRESSION_LUFS = -21.0
COMPRESSOR = "acompressor=threshold=-30dB:ratio=4:attack=5:release=120:knee=6"
LIMITER_HEADROOM_DB = 2.0  # the limiter's ceiling sits this far below the true-peak target
LOUDNESS_TOLERANCE = 0.6  # re-encode once when the MP3 lands further than this from target
MP3_ALLOWANCE = 0.5  # dB the limiter and the MP3 encoder's low-pass take off the loudness


@dataclass(frozen=True)
class SpokenSegment:
    """A segment with its audio: raw s16le mono PCM at WORK_RATE (None for cues)."""

    segment: Segment
    pcm: Path | None


@dataclass(frozen=True)
class Assembled:
    """The episode's raw audio and the times of everything in it."""

    pcm: Path
    sample_rate: int
    samples: int
    chapters: tuple[Chapter, ...]
    captions: tuple[Cue, ...]
    #: RMS level of the speech alone (no pauses, no cues), in dBFS. Engines trim their
    #: silences, so this tracks integrated loudness closely (eSpeak: −21.0 dBFS, −20.8 LUFS).
    speech_dbfs: float = -21.0

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS
    true_peak: float  # dBTP


# -- ffmpeg -----------------------------------------------------------------------------------


@functools.cache
def ffmpeg_exe() -> str:
    """ffmpeg from PATH, else the build shipped in the imageio-ffmpeg wheel."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # the wheel is a dependency; this is a broken install
        raise AudioError(
            "ffmpeg not found: install reviewcast's dependencies (pip install reviewcast) "
            f"or put ffmpeg on PATH ({exc})"
        ) from exc


def run_ffmpeg(args: Sequence[str]) -> str:
    """Run ffmpeg quietly; return its stderr (where it prints measurements)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            if os.strerror(code) in proc.stderr:  # the disk, not the audio: say so
                raise write_error(OSError(code, os.strerror(code)), Path(args[-1]))
        tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
        raise AudioError(f"ffmpeg failed ({proc.returncode}): {tail}")
    return proc.stderr


def _raw_input(pcm: Path, rate: int) -> list[str]:
    return ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", str(pcm)]


def measure(input_args: Sequence[str], filters: str = "", *, peak: bool = True) -> Loudness:
    """Integrated loudness and true peak, by ffmpeg's ebur128 filter, after ``filters``.

    ``peak=False`` skips the true-peak measurement (which oversamples: half the time) and
    reports the peak as NaN.
    """
    # framelog=quiet: the per-frame log is ~35 MB of text for six hours, all held in memory.
    meter = "ebur128=peak=true:framelog=quiet" if peak else "ebur128=framelog=quiet"
    chain = f"{filters},{meter}" if filters else meter
    err = run_ffmpeg([*input_args, "-af", chain, "-f", "null", "-"])
    summary = err[err.rfind("Summary:") :]
    i = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    p = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if not i or (peak and not p):
        raise AudioError("could not read ffmpeg's loudness measurement")
    return Loudness(_db(i.group(1)), _db(p.group(1)) if p else math.nan)


def _db(text: str) -> float:
    return -math.inf if text == "-inf" else float(text)


def measure_file(path: Path) -> Loudness:
    """Loudness of an audio file (any format ffmpeg reads)."""
    return measure(["-i", str(path)])


# -- sounds -----------------------------------------------------------------------------------


@functools.cache
def builtin_cue(rate: int = WORK_RATE) -> bytes:
    """The built-in track cue: a soft two-note bell, 0.9 s, deterministic.

    Each note is a few inharmonic partials (as a struck bar has) with exponential decays and a
    5 ms attack, so it sounds like a small chime rather than a test-tone beep.
    """
    length = int(0.9 * rate)
    t = np.arange(length) / rate
    out = np.zeros(length)
    for onset, freq in ((0.0, 659.25), (0.13, 987.77)):  # E5 then B5: an open fifth
        local = t - onset
        on = local >= 0
        lt = np.where(on, local, 0.0)
        note = np.zeros(length)
        for ratio, amp, decay in ((1.0, 1.0, 3.5), (2.76, 0.35, 7.0), (5.40, 0.12, 12.0)):
            note += amp * np.sin(2 * np.pi * freq * ratio * lt) * np.exp(-decay * lt)
        attack = np.clip(lt / 0.005, 0.0, 1.0)
        out += np.where(on, note * attack, 0.0)
    fade = np.clip((0.9 - t) / 0.15, 0.0, 1.0)  # no click at the end
    out *= fade
    out *= 0.5 / np.max(np.abs(out))  # −6 dBFS peak: about as loud as eSpeak's speech
    return (out * 32767).astype("<i2").tobytes()


def load_sound(
    path: Path,
    rate: int = WORK_RATE,
    *,
    max_seconds: float = MAX_CUE_SECONDS,
    fade: float = 0.0,
    match_dbfs: float | None = None,
) -> bytes:
    """A user's sound file (cue or track clip) as PCM: mono, trimmed, faded, level-matched."""
    with warnings.catch_warnings():
        # pydub warns at import when ffmpeg is not on PATH; ours comes from imageio-ffmpeg.
        warnings.simplefilter("ignore")
        from pydub import AudioSegment

    # The imageio-ffmpeg build ships no ffprobe; pydub then needs the codec spelled out, and
    # the converter pointed at our ffmpeg.
    AudioSegment.converter = ffmpeg_exe()
    try:
        sound = AudioSegment.from_file(str(path), codec=_codec_for(path))
    except Exception as exc:
        raise AudioError(f"cannot read this sound file: {exc}", path=path) from exc
    sound = sound.set_channels(1).set_frame_rate(rate).set_sample_width(SAMPLE_WIDTH)
    sound = sound[: int(max_seconds * 1000)]
    if fade:
        ms = int(fade * 1000)
        sound = sound.fade_in(ms).fade_out(ms)
    if match_dbfs is not None and sound.dBFS != -math.inf:
        sound = sound.apply_gain(match_dbfs - sound.dBFS)
    return bytes(sound.raw_data)


def _codec_for(path: Path) -> str | None:
    return {".mp3": "mp3", ".wav": "pcm_s16le", ".ogg": "libvorbis", ".flac": "flac"}.get(
        path.suffix.lower()
    )


def trim_silence(pcm: bytes, *, keep: float = 0.02, threshold: int = 64) -> bytes:
    """Cut leading and trailing near-silence from s16le PCM down to ``keep`` seconds.

    Engines end each utterance with a pause of their own (eSpeak: 350 ms at 160 wpm, 700 ms at
    100); trimming it lets the script alone decide the pacing between sentences.
    """
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm
    margin = int(keep * WORK_RATE)
    start = max(0, int(loud[0]) - margin)
    end = min(samples.size, int(loud[-1]) + 1 + margin)
    return samples[start:end].tobytes()


def pcm_dbfs(pcm: bytes) -> float:
    """RMS level of s16le PCM in dBFS."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return -math.inf
    rms = math.sqrt(float(np.mean(samples**2)))
    return 20 * math.log10(rms / 32768) if rms > 0 else -math.inf


# -- assembly ---------------------------------------------------------------------------------

CueSound = Callable[[Segment], bytes]


def assemble(
    spoken: Sequence[SpokenSegment],
    cue_sound: CueSound,
    out_pcm: Path,
    *,
    rate: int = WORK_RATE,
) -> Assembled:
    """Stream the segments, their pauses and the cues into ``out_pcm``; time everything."""
    position = 0  # in samples
    energy = [0.0, 0.0]  # sum of squares and count of speech samples
    captions: list[Cue] = []
    track_starts: list[tuple[float, Segment]] = []
    outro_start: float | None = None
    try:
        out = out_pcm.open("wb")
    except OSError as exc:
        raise write_error(exc, out_pcm) from exc
    with out:
        for item in spoken:
            seg = item.segment
            start = position
            if seg.kind == "cue":
                data = cue_sound(seg)  # cues are capped at 2 s by their loader; clips are longer
                track_starts.append((start / rate, seg))
                position += _write(out, data, out_pcm)
            else:
                if item.pcm is None:
                    raise AudioError(f"no audio for the {seg.kind} segment {seg.text[:40]!r}")
                position += _copy(item.pcm, out, energy, out_pcm)
                if seg.kind == "outro" and outro_start is None:
                    outro_start = start / rate
                captions.append(Cue(start / rate, position / rate, seg.text, seg.kind))
            silence = round(seg.pause_after * rate)
            position += _write(out, bytes(silence * SAMPLE_WIDTH), out_pcm)
    duration = position / rate
    mean_square = energy[0] / energy[1] if energy[1] else 0.0
    return Assembled(
        pcm=out_pcm,
        sample_rate=rate,
        samples=position,
        chapters=_chapters(track_starts, outro_start, duration),
        captions=tuple(captions),
        speech_dbfs=10 * math.log10(mean_square / 32768**2) if mean_square > 0 else -math.inf,
    )


def _write(out: BinaryIO, data: bytes, target: Path) -> int:
    try:
        out.write(data)
    except OSError as exc:  # the disk filled up under the work file
        raise write_error(exc, target) from exc
    return len(data) // SAMPLE_WIDTH


def _copy(pcm: Path, out: BinaryIO, energy: list[float], target: Path) -> int:
    samples = 0
    with pcm.open("rb") as src:
        while chunk := src.read(1 << 20):
            if len(chunk) % SAMPLE_WIDTH:
                raise AudioError("segment audio has an odd number of bytes", path=pcm)
            values = np.frombuffer(chunk, dtype="<i2").astype(np.float64)
            energy[0] += float(np.dot(values, values))
            energy[1] += values.size
            samples += _write(out, chunk, target)
    return samples


def _chapters(
    track_starts: list[tuple[float, Segment]], outro_start: float | None, duration: float
) -> tuple[Chapter, ...]:
    marks: list[tuple[float, str, int | None, ChapterKind]] = [(0.0, "Intro", None, "intro")]
    for start, seg in track_starts:
        number = seg.track.number if seg.track else None
        marks.append((start, seg.text, number, "track"))
    if outro_start is not None:
        marks.append((outro_start, "Outro", None, "outro"))
    chapters = []
    for i, (start, title, number, kind) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else duration
        chapters.append(Chapter(title, round(start, 3), round(end, 3), number, kind))
    return tuple(chapters)


# -- loudness and encoding --------------------------------------------------------------------


def encode(assembled: Assembled, config: ShowConfig, out_mp3: Path) -> Loudness:
    """Compress, normalise, limit and encode ``assembled`` to MP3; return the MP3's loudness."""
    source = _raw_input(assembled.pcm, assembled.sample_rate)
    if assembled.speech_dbfs == -math.inf:
        raise AudioError("the episode is silent: the speech engine produced no sound")
    pre = PRE_COMPRESSION_LUFS - assembled.speech_dbfs
    compressed = measure(source, f"volume={pre:.2f}dB,{COMPRESSOR}", peak=False)
    gain = config.loudness - compressed.integrated + MP3_ALLOWANCE
    ceiling = config.true_peak - LIMITER_HEADROOM_DB
    result = _encode_once(source, config, out_mp3, pre, gain, ceiling)
    miss = config.loudness - result.integrated
    # Encode again only when the MP3 misses by more than a careful margin inside Apple's ±1.
    if abs(miss) > LOUDNESS_TOLERANCE or result.true_peak > config.true_peak:
        over = max(0.0, result.true_peak - config.true_peak)
        result = _encode_once(source, config, out_mp3, pre, gain + miss, ceiling - over - 0.3)
    return result


def _encode_once(
    source: list[str], config: ShowConfig, out_mp3: Path, pre: float, gain: float, ceiling: float
) -> Loudness:
    oversampled = 4 * config.sample_rate
    chain = ",".join(
        [
            f"volume={pre:.2f}dB",
            COMPRESSOR,
            f"volume={gain:.2f}dB",
            f"aresample={oversampled}",
            f"alimiter=limit={10 ** (ceiling / 20):.4f}"
            ":attack=1:release=60:level=false:latency=true",
            f"aresample={config.sample_rate}",
        ]
    )
    run_ffmpeg(
        [
            "-y",
            *source,
            "-af",
            chain,
            "-ac",
            "1",
            "-ar",
            str(config.sample_rate),
            "-c:a",
            "libmp3lame",
            "-b:a",
            f"{config.bitrate}k",
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            "-id3v2_version",
            "0",
            "-write_id3v1",
            "0",
            "-f",
            "mp3",
            str(out_mp3),
        ]
    )
    return measure_file(out_mp3)


def decode_mono(path: Path, rate: int) -> np.ndarray:
    """Decode any audio file to mono float samples at ``rate`` (for tests and checks)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path)]
    cmd += ["-ac", "1", "-ar", str(rate), "-f", "s16le", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise AudioError(f"cannot decode: {proc.stderr.decode(errors='replace')[-300:]}", path=path)
    return np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32) / 32768.0
