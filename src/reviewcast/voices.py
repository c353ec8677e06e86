"""Who reads what: the host, the reviewer, quotations, and reviews in other languages.

- The host's voice (``voice``) reads the intro, the outro and track announcements, in the
  show's language.
- The review is read in the reviewer's voice: ``[reviewer_voices]`` names one per reviewer, so a
  reviewer keeps the same voice across the whole archive; otherwise ``review_voice``, else the
  host's.
- A review in another language than the show's is read by a voice for that language:
  ``[language_voices]``, else the review's voice with its engine's voice for that language (eSpeak
  speaks some hundred languages), so a German review is not read with English phonemes.
- Block quotes and lyrics are set apart: ``quote_voice``, else the review's voice pitched apart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from reviewcast.config import ShowConfig
from reviewcast.models import Review
from reviewcast.speech import VoicePreset, load_preset

#: Engines that take a bare language code as a voice id (eSpeak NG resolves "de" to gmw/de).
LANGUAGE_AWARE_ENGINES = ("pyttsx3", "espeak")
QUOTE_PITCH_SHIFT = 18  # on eSpeak's 0–100 scale: clearly another speaker, still natural


@dataclass(frozen=True)
class Cast:
    """The presets an episode uses, by the names its segments carry."""

    host: str
    reader: str
    quote: str
    presets: tuple[tuple[str, VoicePreset], ...]

    def preset(self, name: str) -> VoicePreset:
        return dict(self.presets)[name]


def cast_for(config: ShowConfig, review: Review) -> Cast:
    """Choose the host, reader and quote voices for ``review``."""
    presets: dict[str, VoicePreset] = {}

    def named(name: str) -> str:
        if name not in presets:
            presets[name] = load_preset(name, config.root)
        return name

    host = named(config.voice)
    reader = named(
        config.voice_for_reviewer(review.reviewer) or config.review_voice or config.voice
    )
    language = (review.language or config.language).split("-")[0].lower()
    show_language = config.language.split("-")[0].lower()
    if language != show_language:
        explicit = config.voice_for_language(language)
        if explicit:
            reader = named(explicit)
        else:
            base = presets[reader]
            fallback = base if base.engine in LANGUAGE_AWARE_ENGINES else load_preset("default")
            # eSpeak speaks German itself; an English neural voice could only mangle it.
            reader = f"{base.name} ({language})"
            presets[reader] = dataclasses.replace(fallback, name=reader, voice=language)
    if config.quote_voice:
        quote = named(config.quote_voice)
    else:
        base = presets[reader]
        quote = f"{base.name} (quote)"
        pitch = base.pitch + QUOTE_PITCH_SHIFT if base.pitch <= 60 else base.pitch - 30
        presets[quote] = dataclasses.replace(base, name=quote, pitch=pitch)
    return Cast(host, reader, quote, tuple(sorted(presets.items())))
