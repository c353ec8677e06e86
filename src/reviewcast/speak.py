"""Script → spoken segments: each sentence synthesised once and cached by what makes its sound.

The cache is content-addressed (engine, engine version, voice settings, text), so a change to the
outro template re-synthesises only the outro, and a render of an unchanged review synthesises
nothing at all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from reviewcast.audio import WORK_RATE, SpokenSegment, ffmpeg_exe, trim_silence
from reviewcast.errors import EngineError
from reviewcast.fsutil import atomic_write_bytes
from reviewcast.models import Script
from reviewcast.speech import VoicePreset, get_engine

CACHE_DIR = Path(".reviewcast") / "cache" / "speech"

Progress = Callable[[int, int], None]


class SpeechCache:
    """PCM files by content hash under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pcm"

    def get(self, key: str) -> Path | None:
        path = self.path_for(key)
        try:
            if path.stat().st_size == 0:  # not fsynced (put): a power cut may leave it empty
                return None
            os.utime(path)  # recently used: pruned last
        except FileNotFoundError:
            return None
        return path

    def put(self, key: str, pcm: bytes) -> Path:
        path = self.path_for(key)
        atomic_write_bytes(path, pcm, durable=False)  # 3–6 ms an fsync, per sentence
        return path

    def size(self) -> int:
        """Bytes held."""
        return sum(p.stat().st_size for p in self.root.glob("*/*.pcm"))

    def prune(self, limit: int) -> int:
        """Delete the least recently used entries until at most ``limit`` bytes remain."""
        files = sorted(self.root.glob("*/*.pcm"), key=lambda p: p.stat().st_mtime_ns)
        total = sum(p.stat().st_size for p in files)
        removed = 0
        for path in files:
            if total <= limit:
                break
            total -= path.stat().st_size
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def clear(self) -> int:
        """Delete everything; return the bytes freed."""
        freed = self.size()
        shutil.rmtree(self.root, ignore_errors=True)
        return freed


def segment_key(engine_name: str, engine_version: str, preset: VoicePreset, text: str) -> str:
    """The cache key of one spoken segment."""
    material = "\x1f".join([engine_name, engine_version, preset.cache_key(), text])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def speak(
    script: Script,
    cache: SpeechCache,
    *,
    progress: Progress | None = None,
) -> tuple[SpokenSegment, ...]:
    """Synthesise (or fetch from the cache) every spoken segment of ``script``."""
    out: list[SpokenSegment] = []
    total = len(script.segments)
    for done, segment in enumerate(script.segments, 1):
        if segment.kind == "cue":
            out.append(SpokenSegment(segment, None))
        else:
            preset = script.preset(segment.voice)
            out.append(SpokenSegment(segment, _spoken(segment.say, preset, cache)))
        if progress:
            progress(done, total)
    return tuple(out)


def _spoken(text: str, preset: VoicePreset, cache: SpeechCache) -> Path:
    engine = get_engine(preset.engine)
    key = segment_key(engine.name, engine.version(), preset, text)
    cached = cache.get(key)
    if cached is not None:
        return cached
    pcm = engine.synthesize(text, preset)
    if not pcm:
        raise EngineError(f"the '{engine.name}' engine returned no audio for {text[:60]!r}")
    if engine.sample_rate() != WORK_RATE:
        pcm = _resample(pcm, engine.sample_rate(), WORK_RATE)
    return cache.put(key, trim_silence(pcm))


def _resample(pcm: bytes, rate: int, target: int) -> bytes:
    """Resample s16le mono PCM with ffmpeg (engines other than eSpeak may speak at 16 or 24 kHz)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", str(rate)]
    cmd += ["-ac", "1", "-i", "-", "-f", "s16le", "-ar", str(target), "-ac", "1", "-"]
    proc = subprocess.run(cmd, input=pcm, capture_output=True, check=False)
    if proc.returncode != 0:
        raise EngineError(f"could not resample engine audio: {proc.stderr.decode()[-200:]}")
    return proc.stdout
