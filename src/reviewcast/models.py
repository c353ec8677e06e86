"""The values that flow between the pipeline's stages. Small, frozen, and free of I/O.

review file ─read─▶ Review ─tracks─▶ (Review, Tracklist, Tracks) ─script─▶ Script
  ─speak─▶ Item… (a sound and its cache key) ─level, encode in pieces─▶ Assembled (MP3 + times)
  ─publish─▶ EpisodeRecord ─feed─▶ feed.xml
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

BlockKind = Literal["paragraph", "heading", "quote", "list"]


@dataclass(frozen=True)
class Block:
    """One block of review text as a listener should hear it: a paragraph, heading, quote or list.

    ``emphasis`` holds (start, end) character spans of ``text`` that the source formatted as
    emphasis (Markdown ``*x*``/``_x_``/``**x**``, HTML ``<em>``/``<i>``/``<b>``); the markup itself
    is not in ``text``. Quotation marks stay in ``text``.
    """

    text: str
    kind: BlockKind = "paragraph"
    emphasis: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Review:
    """A review as read from its file: metadata, the body to be read out, and what was set aside."""

    source: Path
    format: Literal["text", "markdown", "html"]
    blocks: tuple[Block, ...]
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    reviewer: str | None = None
    date: dt.date | None = None
    language: str | None = None
    bio: str | None = None
    source_url: str | None = None
    #: Track titles given with the review (front matter or sidecar); None when not given.
    tracklist: tuple[str, ...] | None = None
    #: Boilerplate recognised and left out of the body, for ``preview`` to show.
    removed: tuple[str, ...] = ()
    #: Pronunciations the review brings (front matter or sidecar ``lexicon``): (written, spoken).
    lexicon: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        """The body as plain text, blocks separated by blank lines."""
        return "\n\n".join(block.text for block in self.blocks)


@dataclass(frozen=True)
class Tracklist:
    """The album's track titles in album order, and where they came from."""

    titles: tuple[str, ...]
    #: "review metadata" (front matter or sidecar), "--tracklist <name>", "review", "musicbrainz"
    origin: str


@dataclass(frozen=True)
class Track:
    """A track of the album that the review discusses, at its first mention."""

    title: str  # the tracklist's spelling when there is one, else as written
    number: int | None  # 1-based position in the tracklist, when known
    block: int  # index into Review.blocks of the first mention
    start: int  # character span of the first mention in that block's text
    end: int
    matched: str  # the mention as written
    how: str  # how it was found: "exact", "folded", "fuzzy", "position", "formatting", …


SegmentKind = Literal["intro", "review", "quote", "announce", "outro", "cue"]


@dataclass(frozen=True)
class Segment:
    """One piece of the episode: a sentence to speak, or a cue to play.

    ``pause_after`` is the silence, in seconds, that follows the segment.
    ``section``/``block`` say where it sits so that transcripts and previews can regroup it.
    """

    kind: SegmentKind
    text: str  # as written (transcripts, previews)
    voice: str  # voice preset name; "" for cues
    pause_after: float = 0.0
    block: int | None = None  # index into Review.blocks for review/quote segments
    track: Track | None = None  # set on cue and announce segments
    spoken: str = ""  # as it will be said, after normalisation and the lexicon; "" = text

    @property
    def say(self) -> str:
        """The text to give the engine."""
        return self.spoken or self.text


@dataclass(frozen=True)
class VoicePreset:
    """A voice preset: voices/<name>.toml. ``settings`` holds engine-specific extras."""

    name: str
    engine: str
    voice: str
    rate: int = 160  # words per minute
    pitch: int = 50  # 0–100
    volume: float = 1.0  # 0.0–1.0
    settings: tuple[tuple[str, Any], ...] = ()

    def cache_key(self) -> str:
        """Everything about the preset that changes the sound (not its name)."""
        return repr((self.engine, self.voice, self.rate, self.pitch, self.volume, self.settings))


@dataclass(frozen=True)
class Script:
    """Everything the listener will hear, in order, and the voices that say it."""

    review: Review
    tracklist: Tracklist | None
    tracks: tuple[Track, ...]
    segments: tuple[Segment, ...]
    #: The presets the segments name, by name (Segment.voice).
    voices: tuple[tuple[str, VoicePreset], ...] = ()

    def preset(self, name: str) -> VoicePreset:
        return dict(self.voices)[name]


ChapterKind = Literal["intro", "track", "outro"]


@dataclass(frozen=True)
class Chapter:
    """A chapter of the episode; times in seconds from the start of the audio."""

    title: str
    start: float
    end: float
    track_number: int | None = None
    kind: ChapterKind = "track"


@dataclass(frozen=True)
class Cue:
    """A timed caption for the transcript: a spoken segment and when it is heard."""

    start: float
    end: float
    text: str
    kind: SegmentKind


@dataclass(frozen=True)
class EpisodeRecord:
    """What the feed needs to know about one published episode; stored as episode.json.

    Paths are relative to the show folder; URLs are built by the feed from the show's base_url.
    """

    slug: str
    guid: str
    source: str  # the review's path relative to the show folder: the episode's identity
    title: str
    summary: str  # plain-text opening of the review
    notes_html: str  # the item's HTML show notes
    pub_date: dt.datetime  # timezone-aware
    number: int
    duration: float  # seconds
    audio: str  # e.g. "episodes/<slug>/<slug>.mp3"
    length: int  # exact size of the tagged audio file in bytes
    cover: str | None = None
    chapters_json: str | None = None
    transcript_vtt: str | None = None
    transcript_srt: str | None = None
    chapters: tuple[Chapter, ...] = ()
    artist: str | None = None
    album: str | None = None
    reviewer: str | None = None
    language: str | None = None
    explicit: bool = False
    fingerprint: str = ""  # of everything that went into the render, for incremental runs
