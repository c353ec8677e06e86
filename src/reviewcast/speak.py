"""Script → spoken segments: each sentence synthesised once and cached by what makes its sound.

The cache is content-addressed (engine, engine version, voice settings, text), so a change to the
outro template re-synthesises only the outro, and a render of an unchanged review synthesises
nothing at all.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from reviewcast.audio import WORK_RATE, Item, ffmpeg_exe, trim_silence
from reviewcast.errors import EngineError
from reviewcast.fsutil import atomic_write_bytes
from reviewcast.models import Script, Segment
from reviewcast.speech import VoicePreset, get_engine

CACHE_ROOT = Path(".reviewcast") / "cache"
CACHE_DIR = CACHE_ROOT / "speech"
PIECES_DIR = CACHE_ROOT / "pieces"

#: A cue segment → its sound's key and a function that makes the sound.
CueSource = Callable[[Segment], tuple[str, Callable[[], bytes]]]


class FileCache:
    """Files by content hash under ``root`` (``root/ab/abcdef….suffix``), least recently used
    pruned first. ``FileCache(show / CACHE_ROOT)`` sizes, prunes or clears every cache at once."""

    def __init__(self, root: Path, suffix: str = ".pcm") -> None:
        self.root = root
        self.suffix = suffix

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{self.suffix}"

    def get(self, key: str) -> Path | None:
        path = self.path_for(key)
        try:
            if path.stat().st_size == 0:  # not fsynced (put): a power cut may leave it empty
                return None
            os.utime(path)  # recently used: pruned last
        except FileNotFoundError:
            return None
        return path

    def put(self, key: str, data: bytes) -> Path:
        path = self.path_for(key)
        atomic_write_bytes(path, data, durable=False)  # 3–6 ms an fsync, per sentence
        return path

    def _files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [p for p in self.root.rglob("*") if p.is_file() and not p.name.startswith(".")]

    def size(self) -> int:
        """Bytes held."""
        return sum(p.stat().st_size for p in self._files())

    def prune(self, limit: int) -> int:
        """Delete the least recently used entries until at most ``limit`` bytes remain."""
        files = sorted(self._files(), key=lambda p: p.stat().st_mtime_ns)
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


SpeechCache = FileCache


def segment_key(engine_name: str, engine_version: str, preset: VoicePreset, text: str) -> str:
    """The cache key of one spoken segment."""
    material = "\x1f".join([engine_name, engine_version, preset.cache_key(), text])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def voice_items(script: Script, cache: FileCache, cue: CueSource) -> list[Item]:
    """The script's sounds, in order, each named by its cache key and synthesised only if asked.

    ``cue`` gives a cue segment's key and sound (the built-in chime, the show's cue file or the
    track's clip).
    """
    items = []
    for segment in script.segments:
        if segment.kind == "cue":
            key, sound = cue(segment)
            items.append(Item(segment, key, sound))
            continue
        preset = script.preset(segment.voice)
        engine = get_engine(preset.engine)
        key = segment_key(engine.name, engine.version(), preset, segment.say)
        sound = functools.partial(_spoken, key, segment.say, preset, cache)
        items.append(Item(segment, key, sound))
    return items


def _spoken(key: str, text: str, preset: VoicePreset, cache: FileCache) -> bytes:
    """The sentence's PCM: from the cache, else synthesised (and cached)."""
    cached = cache.get(key)
    if cached is not None:
        try:
            return cached.read_bytes()
        except OSError:  # pruned by another render since: make it again
            pass
    engine = get_engine(preset.engine)
    pcm = engine.synthesize(text, preset)
    if not pcm:
        raise EngineError(f"the '{engine.name}' engine returned no audio for {text[:60]!r}")
    if engine.sample_rate() != WORK_RATE:
        pcm = _resample(pcm, engine.sample_rate(), WORK_RATE)
    pcm = trim_silence(pcm)
    cache.put(key, pcm)
    return pcm


def _resample(pcm: bytes, rate: int, target: int) -> bytes:
    """Resample s16le mono PCM with ffmpeg (engines other than eSpeak may speak at 16 or 24 kHz)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", str(rate)]
    cmd += ["-ac", "1", "-i", "-", "-f", "s16le", "-ar", str(target), "-ac", "1", "-"]
    proc = subprocess.run(cmd, input=pcm, capture_output=True, check=False)
    if proc.returncode != 0:
        raise EngineError(f"could not resample engine audio: {proc.stderr.decode()[-200:]}")
    return proc.stdout
