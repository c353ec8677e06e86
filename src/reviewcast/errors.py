"""Exceptions for users: the core raises them; only the CLI turns them into messages and exits."""

from __future__ import annotations

from pathlib import Path


class ReviewcastError(Exception):
    """A problem a user can act on. ``str(error)`` is the whole message, written for people."""

    exit_code = 1

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.detail = message
        super().__init__(f"{path}: {message}" if path is not None else message)


class ConfigError(ReviewcastError):
    """show.toml, a voice preset or a sidecar is missing or invalid."""

    exit_code = 2


class ReviewError(ReviewcastError):
    """A review file cannot be read or has nothing to say."""


class EngineError(ReviewcastError):
    """A speech engine is unavailable or failed."""


class AudioError(ReviewcastError):
    """ffmpeg or an audio file failed."""


class FetchError(ReviewcastError):
    """A remote source (MusicBrainz, a blog) could not be fetched."""
