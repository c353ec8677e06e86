"""The ``tone`` engine: fast, deterministic stand-in speech for tests (like piper's test voice).

Each word becomes a soft harmonic tone, 60 ms per letter at the default rate, with a pitch
taken from a stable hash of the word, and words are 80 ms apart. The same text and preset
always give the same bytes, and a word's length and place in the audio can be predicted, so
tests can check timing without a real voice. Voice ids starting with ``unknown`` are refused,
so tests of the unknown-voice path can use this engine too.
"""

from __future__ import annotations

import re
import zlib
from typing import ClassVar

import numpy as np

from reviewcast.errors import EngineError
from reviewcast.speech import VoicePreset

SAMPLE_RATE = 22050
LETTER_S = 0.060  # at the default rate of 160 words per minute
GAP_S = 0.080
DEFAULT_RATE = 160
#: Amplitude of a tone's fundamental; with its two harmonics a word's RMS is about -20 dBFS.
AMPLITUDE = 0.12
_RAMP_S = 0.010
_WORD = re.compile(r"\w+")


class ToneEngine:
    """Deterministic tones in place of speech; dependency-free and thread-safe."""

    name: ClassVar[str] = "tone"

    @classmethod
    def availability(cls) -> str | None:
        """Always available."""
        return None

    def version(self) -> str:
        """Changes only when the tones change."""
        return "tone 1"

    def sample_rate(self) -> int:
        """22050 Hz, like eSpeak."""
        return SAMPLE_RATE

    def voices(self) -> list[str]:
        """A few ids for listings; any id not starting with ``unknown`` is accepted."""
        return ["tone", "tone-low", "tone-high"]

    def synthesize(self, text: str, preset: VoicePreset) -> bytes:
        """One tone per word, 80 ms apart, as s16le mono PCM."""
        if preset.voice.lower().startswith("unknown"):
            raise EngineError(f"unknown voice '{preset.voice}' for the tone engine")
        if not text.strip():
            return b""
        words = _WORD.findall(text)
        if not words:
            raise EngineError(f"the tone engine found no words to say in {text[:60]!r}")
        # pitch 50 is neutral; each step of 10 raises the voice by about a semitone and a half
        shift = 2.0 ** ((preset.pitch - 50) / 80)
        gap = np.zeros(round(GAP_S * SAMPLE_RATE))
        parts: list[np.ndarray] = []
        for index, word in enumerate(words):
            if index:
                parts.append(gap)
            parts.append(_tone(word, preset.rate, shift) * preset.volume)
        audio = np.concatenate(parts)
        return np.round(audio * 32767).astype("<i2").tobytes()


def word_samples(word: str, rate: int = DEFAULT_RATE) -> int:
    """How many samples the tone for ``word`` lasts at ``rate`` words per minute."""
    return round(len(word) * LETTER_S * SAMPLE_RATE * DEFAULT_RATE / rate)


def _tone(word: str, rate: int, shift: float) -> np.ndarray:
    count = word_samples(word, rate)
    # crc32 is stable across runs and machines, unlike hash().
    f0 = (110.0 + zlib.crc32(word.lower().encode("utf-8")) % 110) * shift
    t = np.arange(count) / SAMPLE_RATE
    wave = (
        np.sin(2 * np.pi * f0 * t)
        + 0.5 * np.sin(2 * np.pi * 2 * f0 * t)
        + 0.25 * np.sin(2 * np.pi * 3 * f0 * t)
    )
    envelope = np.ones(count)
    ramp = min(round(_RAMP_S * SAMPLE_RATE), count // 2)
    if ramp:
        rise = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
        envelope[:ramp] = rise
        envelope[count - ramp :] = rise[::-1]
    return AMPLITUDE * wave * envelope
