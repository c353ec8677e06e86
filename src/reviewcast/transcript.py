"""Transcripts (WebVTT, SRT), Podcasting 2.0 JSON chapters and show-note timestamps, as text.

Pure functions: the caller writes the strings where they belong.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from reviewcast.models import Chapter, Cue

#: Caption layout most style guides agree on (BBC, Netflix): two lines of about 42 characters.
LINE_LENGTH = 42
MAX_LINES = 2
#: The version of the JSON chapters format written; see the podcast namespace's jsonChapters.md.
CHAPTERS_VERSION = "1.2.0"


@dataclass(frozen=True)
class _Caption:
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]


def webvtt(cues: Sequence[Cue]) -> str:
    """A WebVTT transcript: ≤ 2 lines of ~42 characters per caption, no overlapping captions."""
    parts = ["WEBVTT", ""]
    for caption in _captions(cues):
        parts.append(f"{_clock(caption.start_ms, '.')} --> {_clock(caption.end_ms, '.')}")
        parts.extend(_escape_vtt(line) for line in caption.lines)
        parts.append("")
    return "\n".join(parts)


def srt(cues: Sequence[Cue]) -> str:
    """An SRT transcript with the same captions as :func:`webvtt`, numbered from 1."""
    parts: list[str] = []
    for number, caption in enumerate(_captions(cues), start=1):
        parts.append(str(number))
        parts.append(f"{_clock(caption.start_ms, ',')} --> {_clock(caption.end_ms, ',')}")
        parts.extend(caption.lines)
        parts.append("")
    return "\n".join(parts)


def chapters_json(
    chapters: Sequence[Chapter], *, title: str | None = None, image_url: str | None = None
) -> str:
    """Podcasting 2.0 JSON chapters (application/json+chapters), chapters in time order.

    ``title`` is the episode's title; ``image_url``, when given, is every chapter's ``img``,
    so that apps keep showing the episode's art while they show chapters.
    """
    document: dict[str, object] = {"version": CHAPTERS_VERSION}
    if title:
        document["title"] = title
    entries: list[dict[str, object]] = []
    for chapter in sorted(chapters, key=lambda chapter: chapter.start):
        start = _seconds(chapter.start)
        entry: dict[str, object] = {
            "startTime": start,
            "endTime": max(start, _seconds(chapter.end)),
            "title": chapter.title,
        }
        if image_url:
            entry["img"] = image_url
        entries.append(entry)
    document["chapters"] = entries
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def format_timestamp(seconds: float) -> str:
    """A time for show notes: "MM:SS" under an hour, else "HH:MM:SS"; seconds rounded down."""
    total = max(0, math.floor(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


# -- captions ------------------------------------------------------------------------------


def _captions(cues: Sequence[Cue]) -> list[_Caption]:
    """Cues laid out as captions: in time order, wrapped, long ones split, none overlapping."""
    captions: list[_Caption] = []
    previous_end = 0
    for cue in sorted(cues, key=lambda cue: (cue.start, cue.end)):
        text = " ".join(cue.text.split())
        if not text:
            continue
        start = max(_ms(cue.start), previous_end)
        # A cue that starts inside the previous one begins when that one ends; it keeps at
        # least a millisecond per caption so that no text is dropped.
        chunks = _chunks(text)
        end = max(_ms(cue.end), start + len(chunks))
        for (chunk_start, chunk_end), lines in zip(_share(start, end, chunks), chunks, strict=True):
            captions.append(_Caption(chunk_start, chunk_end, lines))
        previous_end = end
    return captions


def _chunks(text: str) -> list[tuple[str, ...]]:
    """``text`` wrapped to lines of ≤ LINE_LENGTH characters, grouped MAX_LINES at a time."""
    # Words longer than a line stay whole: a broken URL or name is worse than a long line.
    lines = textwrap.wrap(text, LINE_LENGTH, break_long_words=False, break_on_hyphens=False)
    return [tuple(lines[i : i + MAX_LINES]) for i in range(0, len(lines), MAX_LINES)]


def _share(start: int, end: int, chunks: list[tuple[str, ...]]) -> list[tuple[int, int]]:
    """Split [start, end) among the chunks in proportion to their length in characters."""
    weights = [sum(len(line) for line in chunk) + 1 for chunk in chunks]
    total = sum(weights)
    spans: list[tuple[int, int]] = []
    at = start
    done = 0
    for index, weight in enumerate(weights):
        done += weight
        until = end if index == len(weights) - 1 else start + (end - start) * done // total
        until = max(until, at + 1)
        spans.append((at, until))
        at = until
    return spans


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _clock(ms: int, separator: str) -> str:
    """HH:MM:SS.mmm (WebVTT) or HH:MM:SS,mmm (SRT)."""
    seconds, millis = divmod(ms, 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _escape_vtt(line: str) -> str:
    # WebVTT cue text is markup: &, < and > would start entities, tags or a "-->".
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _seconds(value: float) -> float | int:
    """Seconds with millisecond precision; whole seconds as integers, as the spec's examples."""
    ms = _ms(value)
    return ms // 1000 if ms % 1000 == 0 else ms / 1000
