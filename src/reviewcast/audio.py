"""Spoken segments + cues → one loudness-normalised MP3, encoded in cached pieces, with chapter
times and caption timings.

Each sound (a sentence, a cue) is levelled on its own in NumPy (``dsp``: measured, compressed,
brought to the show's loudness, limited, its true peak held under the limiter's ceiling), so
that no part of the episode's sound depends on another part. The episode is cut into pieces at
its pauses (intro, review in parts, outro); each piece is one ffmpeg run (resampling and LAME),
checked as a player decodes it, and cached by what made it. The pieces' frames are joined end to
end. A render after a change to the outro template re-encodes the outro's piece and copies the
rest; a render of a new review levels and encodes each piece in a thread of its own while the
engine speaks the next.

Memory does not grow with the episode's length: sounds are levelled one at a time (in windows,
for a long one), a few pieces are in hand at once, and pieces stream through files.

Loudness (Apple: −16 LUFS integrated, true peak ≤ −1 dBTP): every sound is brought to the show's
loudness by BS.1770 measurement, so the whole lands there too; tests/test_audio.py measures the
MP3s with ffmpeg's ebur128.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import hashlib
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
from numpy.typing import NDArray

from reviewcast import dsp, mp3frames
from reviewcast.config import ShowConfig
from reviewcast.errors import AudioError
from reviewcast.fsutil import write_error
from reviewcast.models import Chapter, ChapterKind, Cue, Segment

logger = logging.getLogger(__name__)

WORK_RATE = 22050  # eSpeak's and piper's rate: segments are assembled at it, encoded at the show's
SAMPLE_WIDTH = 2
MAX_CUE_SECONDS = 2.0


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


# -- the episode, in pieces --------------------------------------------------------------------

CueSound = Callable[[Segment], bytes]

#: Bump when the levelling or the encoder's settings change what a piece sounds like: cached
#: pieces made by the old chain are then no longer found.
CHAIN_VERSION = "3"
#: LAME's encoder delay (576) plus the MP3 decoder's (529): a piece's audio starts this many
#: samples (at the output rate) into its MP3. Pieces carry no LAME tag, so no player trims it.
MP3_DELAY = 1105
#: Cut the review into a new piece before a track's cue once a piece holds this many words,
#: and anywhere between sentences past MAX_PIECE_WORDS. Small pieces (20–50 s of speech) reach
#: the encoders early and leave little to encode after the last sentence is spoken: on two
#: cores a cold render of the sample took 10 % less time than with pieces of 120–300 words,
#: for 6 % more CPU (an ffmpeg start and a check per piece).
PIECE_WORDS = 60
MAX_PIECE_WORDS = 120
#: Segments are levelled in windows of at most this long, so memory stays flat for any length.
LEVEL_WINDOW_SECONDS = 30.0
CUE_BELOW_LU = 3.0  # the built-in chime and cue sounds sit this far under the voice
LIMITER_HEADROOM_DB = 2.0  # the limiters' ceiling sits this far below the true-peak target
TRUE_PEAK_MARGIN = 0.2  # dB under the limit a decoded piece must peak (meters differ by ~0.1)
MP3_ALLOWANCE = 0.5  # LU the limiters and LAME take off (measured): pieces are levelled louder


@dataclass(frozen=True)
class Item:
    """One thing heard, in order: a spoken segment or a cue, and how to get its sound.

    ``key`` names the sound (the speech cache's key, or the cue's), so a piece can be found in
    the cache without synthesising anything; ``sound`` makes or fetches the raw PCM (s16le mono
    at WORK_RATE) only when the piece must be encoded.
    """

    segment: Segment
    key: str
    sound: Callable[[], bytes]


@dataclass(frozen=True)
class Assembled:
    """The episode's MP3 (untagged) and the times of everything in it."""

    mp3: Path
    sample_rate: int
    samples: int  # what a player decodes, LAME's delays included
    chapters: tuple[Chapter, ...]
    captions: tuple[Cue, ...]
    pieces: int = 1
    reused: int = 0  # pieces taken from the cache instead of encoded

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate


class PieceCache(Protocol):
    def get(self, key: str) -> Path | None: ...

    def put(self, key: str, data: bytes) -> Path: ...


@dataclass(frozen=True)
class PieceAudio:
    """An encoded piece in the cache: a file of a small header (its layout) and MP3 frames."""

    path: Path
    offset: int  # where the MP3 frames start in the file
    lengths: tuple[int, ...]  # each sound's length in work samples (pauses follow the script)
    samples: int  # what a decoder makes of its frames, at the output rate
    reused: bool = False


def split_pieces(items: Sequence[Item]) -> list[list[Item]]:
    """Cut the episode where its sound may change alone: between the intro, the review and the
    outro, and inside the review before a track's cue (or any sentence, when long)."""

    def section(item: Item) -> str:
        return item.segment.kind if item.segment.kind in ("intro", "outro") else "body"

    pieces: list[list[Item]] = []
    words = 0
    for item in items:
        seg = item.segment
        if pieces and (
            section(item) != section(pieces[-1][-1])
            or (seg.kind == "cue" and words >= PIECE_WORDS)
            or words >= MAX_PIECE_WORDS
        ):
            pieces.append([])
            words = 0
        if not pieces:
            pieces.append([])
        pieces[-1].append(item)
        words += len(seg.text.split()) if seg.kind != "cue" else 0
    return pieces


def piece_key(items: Sequence[Item], config: ShowConfig) -> str:
    """What makes a piece's MP3: its sounds and pauses, the levels, the encoder."""
    head = (
        f"{CHAIN_VERSION}|{config.loudness}|{config.true_peak}|{config.sample_rate}|"
        f"{config.bitrate}|{_encoder_identity()}"
    )
    h = hashlib.sha256(head.encode())
    for item in items:
        pause = round(item.segment.pause_after * WORK_RATE)
        h.update(f"\x1e{item.segment.kind}\x1f{item.key}\x1f{pause}".encode())
    return h.hexdigest()


@functools.cache
def _encoder_identity() -> str:
    """The ffmpeg that encodes, by path, size and time: a new build makes new pieces."""
    exe = Path(ffmpeg_exe())
    try:
        stat = exe.stat()
    except OSError:
        return str(exe)
    return f"{exe}:{stat.st_size}:{stat.st_mtime_ns}"


def render_episode(
    items: Sequence[Item],
    config: ShowConfig,
    out_mp3: Path,
    cache: PieceCache,
    *,
    encoders: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Assembled:
    """Make every piece not cached, join them into ``out_mp3``; time it all.

    This thread synthesises (engines belong to the thread that started them) and hands each
    piece's sounds to one of ``encoders`` threads, which levels them (NumPy), encodes them (an
    ffmpeg process) and checks the MP3, while this thread speaks the next piece. At most
    ``encoders + 1`` pieces wait or work at once, so memory does not grow with the episode.
    With ``encoders=0`` this thread does it all, one piece after another: one core's work.
    Pieces are MP3 frames joined end to end: each begins at a silence (a pause or the start)
    with LAME's bit reservoir empty, so the join is exact, and only the decoders' delay
    (MP3_DELAY) is heard between.
    """
    if not any(item.segment.kind != "cue" for item in items):
        raise AudioError("the episode has nothing to say")
    one_malloc_arena()
    pieces = split_pieces(items)
    made: list[PieceAudio | Future[PieceAudio]] = []
    working: list[Future[PieceAudio]] = []
    done = 0
    pool = ThreadPoolExecutor(encoders, thread_name_prefix="encode") if encoders > 0 else None
    try:
        for number, piece in enumerate(pieces):
            key = piece_key(piece, config)
            found = cache.get(key)
            cached = _read_piece(found) if found is not None else None
            if cached is not None:
                made.append(cached)
                done += len(piece)
                if progress:
                    progress(done, len(items))
                continue
            sounds = []
            for item in piece:
                sounds.append(item.sound())
                done += 1
                if progress:
                    progress(done, len(items))
            pcm = out_mp3.parent / f"piece-{number}.pcm"
            if pool is None:
                made.append(_make_piece(piece, sounds, key, config, cache, pcm))
                continue
            # Wait for a free hand before handing over more sound; a piece that failed
            # stops the episode now rather than after everything else is spoken.
            while len(working) >= encoders:
                finished, _ = wait(working, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
                working = [f for f in working if not f.done()]
            future = pool.submit(_make_piece, piece, sounds, key, config, cache, pcm)
            made.append(future)
            working.append(future)
        audio = [m.result() if isinstance(m, Future) else m for m in made]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return _join(pieces, audio, config, out_mp3)


@functools.cache
def one_malloc_arena() -> None:
    """Have threads started from now on allocate from glibc's main arena (M_ARENA_MAX = 1).

    By default each thread gets an arena of its own, and the megabytes of NumPy arrays a
    thread frees stay in its arena for that thread alone: with two encoder threads a long
    episode peaked at 162 MB instead of 129 MB, for no gain in speed (the GIL already takes the
    threads' allocations in turn). A thread that allocated before keeps its arena, so call it
    before starting threads. Elsewhere than on glibc, nothing is done.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: musl has no arenas to share
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(_M_ARENA_MAX, 1)


_M_ARENA_MAX = -8  # glibc's malloc.h


def _make_piece(
    piece: Sequence[Item],
    sounds: Sequence[bytes],
    key: str,
    config: ShowConfig,
    cache: PieceCache,
    pcm: Path,
) -> PieceAudio:
    """In an encoder thread: level the piece's sounds into PCM, encode, check and cache it.

    One piece is levelled at a time: levelling holds the GIL for much of its work, so two at
    once would be no faster, and each holds a piece's worth of NumPy arrays (two at once put a
    long episode over its 150 MB). The encoding, in ffmpeg, runs beside it.
    """
    with _LEVELLING:
        lengths = _level_into(piece, sounds, config, pcm)
    return _encode_piece(pcm, key, lengths, config, cache)


_LEVELLING = threading.Lock()


def _level_into(
    piece: Sequence[Item], sounds: Sequence[bytes], config: ShowConfig, pcm_path: Path
) -> list[int]:
    """Write the piece's levelled PCM (sounds and pauses); return each sound's length.

    Each sound is levelled to the show's loudness (cues a little under it); then the piece as a
    whole, pauses included, is measured and every sound moved by the same small gain, because
    400 ms blocks that straddle a pause measure quieter than the speech on either side. Last,
    each sound's true peak (between samples too) is held under the limiter's ceiling.
    """
    ceiling = config.true_peak - LIMITER_HEADROOM_DB
    window = int(LEVEL_WINDOW_SECONDS * WORK_RATE) * SAMPLE_WIDTH
    levelled: list[list[dsp.Levelled]] = []
    for item, raw in zip(piece, sounds, strict=True):
        seg = item.segment
        if len(raw) % SAMPLE_WIDTH:
            raise AudioError(f"the {seg.kind} segment's audio has an odd number of bytes")
        cue = seg.kind == "cue"
        target = config.loudness - (CUE_BELOW_LU if cue else 0.0)
        levelled.append(
            [
                dsp.analyse(
                    dsp.to_float(raw[at : at + window]),
                    WORK_RATE,
                    target=target,
                    ceiling_db=ceiling,
                    compress=not cue,
                )
                for at in range(0, len(raw), window)
            ]
        )
    pauses = [dsp.silence_blocks(item.segment.pause_after) for item in piece]
    goal = config.loudness + MP3_ALLOWANCE
    for _ in range(4):  # the limiter answers a raise by taking a little back: converge
        whole = dsp.blocks_loudness(
            np.concatenate(
                [
                    b
                    for parts, pause in zip(levelled, pauses, strict=True)
                    for b in (*(p.weighted() for p in parts), pause)
                ]
            ),
            dsp.blocks_size(WORK_RATE),
        )
        if whole == -math.inf or abs(goal - whole) < 0.05:
            break
        levelled = [
            [p.shifted(goal - whole, ceiling) if p.loudness != -math.inf else p for p in parts]
            for parts in levelled
        ]
    lengths = []
    try:
        out = pcm_path.open("wb")
    except OSError as exc:
        raise write_error(exc, pcm_path) from exc
    with out:
        for item, raw, parts in zip(piece, sounds, levelled, strict=True):
            for n, part in enumerate(parts):
                x = dsp.to_float(raw[n * window : (n + 1) * window])
                y = dsp.limit_true_peak(x, part.curve, part.size, ceiling)
                _write(out, dsp.to_pcm(y), pcm_path)
            lengths.append(len(raw) // SAMPLE_WIDTH)
            silence = round(item.segment.pause_after * WORK_RATE)
            _write(out, bytes(silence * SAMPLE_WIDTH), pcm_path)
    return lengths


def _write(out: BinaryIO, data: bytes, target: Path) -> None:
    try:
        out.write(data)
    except OSError as exc:  # the disk filled up under the work file
        raise write_error(exc, target) from exc


def _encode_piece(
    pcm: Path, key: str, lengths: Sequence[int], config: ShowConfig, cache: PieceCache
) -> PieceAudio:
    """Encode a piece, bring its true peak as a player will decode it under the show's limit,
    cache it.

    The PCM's true peak is already under the limiter's ceiling, LIMITER_HEADROOM_DB below the
    limit, and LAME's quantisation noise lifts it by up to 2.4 dB at 64 kbit/s, at one or two
    places in one piece out of eight (measured on 39 pieces of seven reviews). Those places are
    taken down by lowering the gain of the granules around them (``mp3frames``). Should that
    not do, the piece is encoded again behind ffmpeg's 2× oversampled limiter, its ceiling
    lowered by the excess.
    """
    mp3 = pcm.with_suffix(".mp3")
    limit = config.true_peak - TRUE_PEAK_MARGIN
    ceiling: float | None = None  # first: the levelled PCM as it is
    for _attempt in range(3):
        _run_encoder(pcm, mp3, config, ceiling)
        overshoot, excess = _bring_under(mp3, limit)
        if excess <= 0:
            break
        # lower the limiter by what LAME added, not by what the gain edits left of it
        base = config.true_peak - LIMITER_HEADROOM_DB if ceiling is None else ceiling
        ceiling = base - overshoot - 0.2
    else:
        logger.warning(
            "a piece of the episode peaks at %.1f dBTP, over the show's limit of %.1f dBTP",
            limit + excess,
            config.true_peak,
        )
    data = mp3.read_bytes()
    samples = mp3_samples(data, config.sample_rate)
    header = json.dumps({"lengths": list(lengths), "samples": samples}).encode()
    path = cache.put(key, PIECE_MAGIC + len(header).to_bytes(4, "big") + header + data)
    pcm.unlink(missing_ok=True)
    mp3.unlink(missing_ok=True)
    return PieceAudio(path, 8 + len(header), tuple(lengths), samples)


#: Granules lowered around one that peaks too high: the two before it reach into its output
#: through the decoder's overlapping windows and filter bank, and it reaches into the next.
_AROUND = (-2, -1, 0, 1)


def _bring_under(mp3: Path, limit_db: float, *, rounds: int = 3) -> tuple[float, float]:
    """Lower the granules of ``mp3`` around every decoded peak over ``limit_db`` (dBTP) until
    none is: by how much it peaked over at first, and by how much it still does (≤ 0: not)."""
    limit = 10 ** (limit_db / 20)
    floor = limit * 10 ** (-dsp.TRUE_PEAK_SEARCH_DB / 20)
    data: bytearray | None = None
    first = excess = math.inf
    for _round in range(rounds + 1):
        peaks = decoded_peaks(mp3, mp3frames.GRANULE_SAMPLES, floor)
        top = float(peaks.max(initial=0.0))
        excess = 20 * math.log10(top / limit) if top > 0 else -math.inf
        first = excess if _round == 0 else first
        if excess <= 0 or _round == rounds:
            break
        steps: dict[int, int] = {}
        for granule in np.flatnonzero(peaks > limit):
            over = 20 * math.log10(float(peaks[granule]) / limit)
            count = math.ceil((over + 0.1) / mp3frames.STEP_DB)
            for k in _AROUND:
                steps[int(granule) + k] = max(steps.get(int(granule) + k, 0), count)
        data = data if data is not None else bytearray(mp3.read_bytes())
        try:
            mp3frames.lower_granules(data, steps)
        except mp3frames.FrameError:
            break  # not a stream whose gains can be changed: the caller encodes again
        try:
            mp3.write_bytes(data)
        except OSError as exc:
            raise write_error(exc, mp3) from exc
    return first, excess


def _run_encoder(pcm: Path, mp3: Path, config: ShowConfig, ceiling: float | None) -> None:
    """ffmpeg: resample to the show's rate and encode with LAME; with a ``ceiling`` (dBFS),
    first a 2× oversampled limiter for what lies between samples."""
    rate = config.sample_rate
    chain: list[str] = []
    if ceiling is not None:
        chain = [
            "-af",
            ",".join(
                [
                    f"aresample={2 * rate}",
                    f"alimiter=limit={10 ** (ceiling / 20):.4f}:attack=1:release=40:level=false"
                    ":latency=true",
                    f"aresample={rate}",
                ]
            ),
        ]
    run_ffmpeg(
        [
            "-y",
            *_raw_input(pcm, WORK_RATE),
            *chain,
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-c:a",
            "libmp3lame",
            "-b:a",
            f"{config.bitrate}k",
            "-write_xing",  # no LAME tag: players must not trim the delays of a piece
            "0",
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
            str(mp3),
        ]
    )


def _decoded_chunks(path: Path) -> Iterator[NDArray[np.float64]]:
    """An audio file decoded to mono samples (full scale ±1), in chunks of 128k samples (1 MB as
    floats: an encoder thread checks a piece in a few MB)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path)]
    cmd += ["-ac", "1", "-f", "s16le", "-"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        odd = b""
        while chunk := proc.stdout.read(1 << 18):
            data = odd + chunk
            cut = len(data) - len(data) % SAMPLE_WIDTH
            odd = data[cut:]
            yield np.frombuffer(data[:cut], dtype="<i2") / 32768.0
        err = proc.stderr.read() if proc.stderr else b""
    if proc.returncode != 0:
        raise AudioError(f"cannot decode the encoded piece: {err.decode(errors='replace')[-300:]}")


def decoded_peaks(path: Path, block: int, floor: float) -> NDArray[np.float64]:
    """Each ``block`` samples of the decoded file: its peak magnitude, between samples too near
    samples at or above ``floor`` (as ``dsp.true_peak_blocks``). Streamed: memory stays flat."""
    reach = 24  # the interpolator's reach on either side
    peaks: list[NDArray[np.float64]] = []
    before = np.zeros(reach)  # the samples ahead of ``pending`` (silence before the start)
    pending = np.zeros(0)
    for chunk in _decoded_chunks(path):
        pending = np.concatenate((pending, chunk))
        ready = (pending.size - reach) // block * block  # whole blocks, with `reach` after them
        if ready <= 0:
            continue
        window = np.concatenate((before, pending[: ready + reach]))
        peaks.append(dsp.true_peak_blocks(window, block, floor, lead=reach, length=ready))
        before, pending = window[ready : ready + reach], pending[ready:]
    if pending.size:
        window = np.concatenate((before, pending, np.zeros(reach)))
        peaks.append(dsp.true_peak_blocks(window, block, floor, lead=reach, length=pending.size))
    return np.concatenate(peaks) if peaks else np.zeros(0)


def decoded_true_peak(path: Path) -> float:
    """The true peak (dBTP) of an audio file as decoded, read in chunks: memory stays flat."""
    peak = -math.inf
    tail = np.zeros(0)
    for chunk in _decoded_chunks(path):
        data = np.concatenate((tail, chunk))
        peak = max(peak, dsp.true_peak(data))
        tail = data[-96:]  # the interpolator's reach, so no peak falls between chunks
    return peak


PIECE_MAGIC = b"RCP1"


def _read_piece(path: Path) -> PieceAudio | None:
    """A cached piece, or None when the file is not a whole one (then it is encoded again)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8 or head[:4] != PIECE_MAGIC:
                return None
            size = int.from_bytes(head[4:], "big")
            layout = json.loads(fh.read(size))
        offset = 8 + size
        if path.stat().st_size <= offset:
            return None
        lengths = tuple(int(n) for n in layout["lengths"])
        return PieceAudio(path, offset, lengths, int(layout["samples"]), reused=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _join(
    pieces: Sequence[Sequence[Item]],
    audio: Sequence[PieceAudio],
    config: ShowConfig,
    out_mp3: Path,
) -> Assembled:
    """Concatenate the pieces' frames and work out when each sound is heard."""
    rate = config.sample_rate
    position = 0  # in output samples: where the current piece starts
    captions: list[Cue] = []
    track_starts: list[tuple[float, Segment]] = []
    outro_start: float | None = None
    try:
        out = out_mp3.open("wb")
    except OSError as exc:
        raise write_error(exc, out_mp3) from exc
    with out:
        for piece, made in zip(pieces, audio, strict=True):
            if len(made.lengths) != len(piece):
                raise AudioError(f"the cached piece {made.path} does not fit its script")
            with made.path.open("rb") as src:
                src.seek(made.offset)
                try:
                    shutil.copyfileobj(src, out)
                except OSError as exc:
                    raise write_error(exc, out_mp3) from exc
            at = 0  # in work samples, inside the piece
            for item, length in zip(piece, made.lengths, strict=True):
                seg = item.segment
                start = (position + MP3_DELAY) / rate + at / WORK_RATE
                end = start + length / WORK_RATE
                if seg.kind == "cue":
                    track_starts.append((start, seg))
                else:
                    if seg.kind == "outro" and outro_start is None:
                        outro_start = start
                    captions.append(Cue(round(start, 3), round(end, 3), seg.text, seg.kind))
                at += length + round(seg.pause_after * WORK_RATE)
            position += made.samples
    return Assembled(
        mp3=out_mp3,
        sample_rate=rate,
        samples=position,
        chapters=_chapters(track_starts, outro_start, position / rate),
        captions=tuple(captions),
        pieces=len(pieces),
        reused=sum(1 for made in audio if made.reused),
    )


def mp3_samples(data: bytes, rate: int) -> int:
    """The samples a decoder produces from Layer III frames (no tags), checked frame by frame."""
    samples = 0
    try:
        for frame in mp3frames.frames(data):
            if frame.rate != rate:
                raise AudioError(
                    f"unexpected MP3 frame at byte {frame.offset}: {frame.rate} Hz, "
                    f"{frame.bitrate} bit/s"
                )
            samples += frame.samples
    except mp3frames.FrameError as exc:
        raise AudioError(f"{exc} of the encoder's output") from exc
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


def decode_mono(path: Path, rate: int) -> np.ndarray:
    """Decode any audio file to mono float samples at ``rate`` (for tests and checks)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path)]
    cmd += ["-ac", "1", "-ar", str(rate), "-f", "s16le", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise AudioError(f"cannot decode: {proc.stderr.decode(errors='replace')[-300:]}", path=path)
    return np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32) / 32768.0
