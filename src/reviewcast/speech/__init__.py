"""Speech engines behind one small interface, found through a registry that plugins share.

An engine turns one piece of text (a sentence or a paragraph) into 16-bit mono PCM. Built-in
engines are declared as ``reviewcast.engines`` entry points in pyproject.toml, exactly as a
third-party engine would be (STYLE.md habit 5), and an engine whose dependency is missing is
listed as unavailable with the reason, never a crash at import (habit 4).
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from reviewcast.errors import ConfigError, EngineError
from reviewcast.models import VoicePreset

__all__ = ["Engine", "VoicePreset", "engine_classes", "get_engine", "load_preset"]

ENTRY_POINT_GROUP = "reviewcast.engines"


@runtime_checkable
class Engine(Protocol):
    """What every engine provides. One instance serves one process."""

    name: ClassVar[str]

    @classmethod
    def availability(cls) -> str | None:
        """None when the engine can run here; otherwise why not, written for users."""

    def version(self) -> str:
        """Changes whenever the same text and preset may sound different."""

    def sample_rate(self) -> int:
        """The rate of the PCM that ``synthesize`` returns."""

    def voices(self) -> list[str]:
        """The voice ids this engine accepts."""

    def synthesize(self, text: str, preset: VoicePreset) -> bytes:
        """Speak ``text`` with ``preset``: little-endian signed 16-bit mono PCM.

        Raises EngineError (for example for an unknown voice id), never returns silence
        for non-empty text.
        """


def engine_classes() -> dict[str, type[Engine]]:
    """Every registered engine class by name, built-in and third-party alike."""
    found: dict[str, type[Engine]] = {}
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = entry.load()
        except Exception as exc:  # a broken plugin must not take the others down
            found[entry.name] = _broken_engine(entry.name, f"cannot be loaded: {exc}")
            continue
        found[entry.name] = cls
    return found


def _broken_engine(engine_name: str, reason: str) -> type[Engine]:
    class Broken:
        name: ClassVar[str] = engine_name

        @classmethod
        def availability(cls) -> str | None:
            return reason

    return Broken  # type: ignore[return-value]


_instances: dict[str, Engine] = {}


def get_engine(name: str) -> Engine:
    """The process's instance of engine ``name``; a clear EngineError if it can't run."""
    if name in _instances:
        return _instances[name]
    classes = engine_classes()
    cls = classes.get(name)
    if cls is None:
        known = ", ".join(sorted(classes)) or "none"
        raise EngineError(f"unknown speech engine '{name}' (installed engines: {known})")
    reason = cls.availability()
    if reason is not None:
        raise EngineError(f"speech engine '{name}' is unavailable: {reason}")
    instance = cls()
    _instances[name] = instance
    return instance


PRESET_DIR = "voices"


def load_preset(name: str, show_root: Path | None = None) -> VoicePreset:
    """The preset ``name`` from the show's voices/ folder, else the packaged one."""
    if name == "lexicon":  # voices/lexicon.toml is the pronunciation lexicon, not a voice
        raise ConfigError("'lexicon' is the pronunciation lexicon's name; name voices otherwise")
    candidates: list[tuple[str, str]] = []
    if show_root is not None:
        path = show_root / PRESET_DIR / f"{name}.toml"
        if path.is_file():
            candidates.append((str(path), path.read_text(encoding="utf-8")))
    if not candidates:
        packaged = resources.files("reviewcast") / "voices" / f"{name}.toml"
        if packaged.is_file():
            candidates.append((f"(built-in voice) {name}.toml", packaged.read_text("utf-8")))
    if not candidates:
        where = f"{show_root / PRESET_DIR}" if show_root else "the built-in voices"
        raise ConfigError(
            f"no voice preset '{name}' in {where}; create voices/{name}.toml "
            '(engine, voice, rate, pitch, volume) or set voice = "default" in show.toml'
        )
    label, text = candidates[0]
    return parse_preset(name, text, label)


_PRESET_KEYS = {"engine": str, "voice": str, "rate": int, "pitch": int, "volume": float}


def parse_preset(name: str, text: str, label: str) -> VoicePreset:
    """Validate a preset's TOML text; all problems reported together."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=label) from exc
    problems = []
    values: dict[str, Any] = {}
    for key, kind in _PRESET_KEYS.items():
        if key not in data:
            continue
        value = data.pop(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            problems.append(f"'{key}' should be {kind.__name__}, not {value!r}")
        else:
            values[key] = value
    for key in ("engine", "voice"):
        if key not in values and not any(key in p for p in problems):
            problems.append(f"'{key}' is required")
    if "rate" in values and not 60 <= values["rate"] <= 450:
        problems.append("'rate' should be between 60 and 450 words per minute")
    if "pitch" in values and not 0 <= values["pitch"] <= 100:
        problems.append("'pitch' should be between 0 and 100")
    if "volume" in values and not 0.0 < values["volume"] <= 1.0:
        problems.append("'volume' should be above 0 and at most 1.0")
    if problems:
        raise ConfigError("; ".join(problems), path=label)
    extras = tuple(sorted((k, v) for k, v in data.items() if isinstance(v, str | int | float)))
    return VoicePreset(name=name, settings=extras, **values)
