"""Review + tracks → Script: the intro, the review sentence by sentence, cues, and the outro.

Sentences are the unit of speech: a cue lands at the start of the sentence where a track is first
mentioned, and transcripts get one caption per sentence with its real timing.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reviewcast.config import ShowConfig
from reviewcast.models import Block, Review, Script, Segment, SegmentKind, Track, Tracklist
from reviewcast.speech.lexicon import load_lexicon
from reviewcast.speech.normalize import normalize
from reviewcast.templates import environment, paragraphs, render
from reviewcast.voices import cast_for

# Pauses in seconds; engines' own trailing silence is trimmed (speak.py), so these are the pauses.
PAUSE_SENTENCE = 0.4
PAUSE_BLOCK = 0.9
PAUSE_SECTION = 1.4  # the beat between intro, review and outro
PAUSE_AFTER_CUE = 0.2
PAUSE_LIST_ITEM = 0.55

# pysbd splits after these even when a name follows ("feat. Bowie"); rejoin them.
_NO_BREAK_AFTER = re.compile(r"(?:\bfeat|\bft|\bvs|\bNo|\bnr|\bvol|\bVol|\bop|\bpt)\.\s*$", re.I)


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offset in the block's text
    end: int


@functools.lru_cache(maxsize=8)
def _segmenter(language: str) -> object:
    import pysbd

    try:
        return pysbd.Segmenter(language=language, clean=False, char_span=True)
    except ValueError:  # pysbd knows ~20 languages; English rules are a fair fallback
        return pysbd.Segmenter(language="en", clean=False, char_span=True)


def split_sentences(text: str, language: str | None = None) -> list[Sentence]:
    """Sentences of ``text`` with their character spans (whitespace trimmed)."""
    if not text.strip():
        return []
    segmenter = _segmenter((language or "en").split("-")[0].lower())
    spans: list[tuple[int, int]] = []
    for piece in segmenter.segment(text):  # type: ignore[attr-defined]
        start, end = piece.start, piece.end
        if spans and _NO_BREAK_AFTER.search(text[spans[-1][0] : spans[-1][1]]):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    if spans and spans[-1][1] < len(text):  # never drop a tail pysbd missed
        spans.append((spans[-1][1], len(text)))
    out: list[Sentence] = []
    covered = 0
    for start, end in spans:
        start = max(start, covered)  # pysbd's spans can overlap on repeated text
        covered = max(covered, end)
        chunk = text[start:end]
        lead = len(chunk) - len(chunk.lstrip())
        chunk = chunk.strip()
        if not chunk:
            continue
        if not any(ch.isalnum() for ch in chunk):
            # "…" or "./." alone: nothing to say; keep it with the sentence before, if any
            if out:
                prev = out[-1]
                out[-1] = Sentence(
                    text[prev.start : start + lead + len(chunk)],
                    prev.start,
                    start + lead + len(chunk),
                )
            continue
        out.append(Sentence(chunk, start + lead, start + lead + len(chunk)))
    return out


def build_script(
    config: ShowConfig,
    review: Review,
    tracklist: Tracklist | None,
    tracks: tuple[Track, ...],
) -> Script:
    """Everything the listener hears, in order, with the voice and the pause after each piece."""
    env = environment(config.root)
    context = {"show": config, "review": review, "tracks": tracks, "feed_host": _feed_host(config)}
    cast = cast_for(config, review)
    lexicon = load_lexicon(config.root, review.lexicon)
    show_language = config.language
    review_language = review.language or config.language
    segments: list[Segment] = []

    def add(kind: SegmentKind, text: str, voice: str, language: str, **where: Any) -> None:
        said = normalize(text, language=language, lexicon=lexicon)
        spoken = "" if said == text else said
        segments.append(Segment(kind, text, voice, PAUSE_SENTENCE, spoken=spoken, **where))

    def from_template(kind: SegmentKind, name: str, voice: str, **extra: Any) -> None:
        for paragraph in paragraphs(render(env, name, **context, **extra)):
            for piece, pause in _pause_marks(paragraph):
                for sentence in split_sentences(piece, show_language):
                    add(kind, sentence.text, voice, show_language)
                _end_block(segments, pause)
            _end_block(segments, PAUSE_BLOCK)

    from_template("intro", "intro.txt.j2", cast.host)
    _end_block(segments, PAUSE_SECTION)

    first_mentions = _Pending(tracks)
    for index, block in enumerate(review.blocks):
        kind: SegmentKind = "quote" if block.kind == "quote" else "review"
        voice = cast.quote if block.kind == "quote" else cast.reader
        if block.kind == "quote":
            _end_block(segments, PAUSE_BLOCK)  # a breath before someone else's words
        for offset, unit in _units(block):
            for sentence in split_sentences(unit, review_language):
                for track in first_mentions.pop_within(index, offset + sentence.end):
                    segments.append(Segment("cue", track.title, "", PAUSE_AFTER_CUE, index, track))
                    if config.announce_tracks:
                        from_template("announce", "announce.txt.j2", cast.host, track=track)
                        segments[-1] = _with_pause(segments[-1], PAUSE_SENTENCE)
                add(kind, sentence.text, voice, review_language, block=index)
            _end_block(segments, PAUSE_LIST_ITEM if block.kind == "list" else PAUSE_SENTENCE)
        _end_block(segments, PAUSE_SECTION if block.kind == "heading" else PAUSE_BLOCK)
    _end_block(segments, PAUSE_SECTION)

    from_template("outro", "outro.txt.j2", cast.host)
    if segments:
        segments[-1] = _with_pause(segments[-1], 0.5)
    return Script(review, tracklist, tracks, tuple(segments), cast.presets)


def _units(block: Block) -> list[tuple[int, str]]:
    """The pieces of a block read one after another: its list items, or the whole block."""
    if block.kind != "list":
        return [(0, block.text)]
    units, offset = [], 0
    for line in block.text.split("\n"):
        if line.strip():
            units.append((offset, line))
        offset += len(line) + 1
    return units


_PAUSE_MARK = re.compile(r"\[pause(?:\s+(\d+(?:\.\d+)?)\s*s?)?\]", re.I)
_EMPHASIS_MARK = re.compile(r"\*([^*\n]+)\*")


def _pause_marks(text: str) -> list[tuple[str, float]]:
    """Template markup: ``[pause]`` (0.8 s) or ``[pause 1.5]`` splits the text with a silence.

    ``*words*`` marks emphasis; the built-in engines cannot stress a word on request, so they
    read it plainly (the markup is removed).
    """
    text = _EMPHASIS_MARK.sub(r"\1", text)
    pieces: list[tuple[str, float]] = []
    last = 0
    for mark in _PAUSE_MARK.finditer(text):
        pieces.append((text[last : mark.start()], float(mark.group(1) or 0.8)))
        last = mark.end()
    pieces.append((text[last:], 0.0))
    return [(piece, pause) for piece, pause in pieces if piece.strip() or pause]


class _Pending:
    """Tracks not yet cued, in order of (block, offset): each is cued once, at its first mention."""

    def __init__(self, tracks: tuple[Track, ...]) -> None:
        self._tracks = sorted(tracks, key=lambda t: (t.block, t.start))

    def pop_within(self, block: int, end: int) -> Iterator[Track]:
        while self._tracks and (
            self._tracks[0].block < block
            or (self._tracks[0].block == block and self._tracks[0].start < end)
        ):
            yield self._tracks.pop(0)


def _with_pause(segment: Segment, pause: float) -> Segment:
    return dataclasses.replace(segment, pause_after=pause)


def _end_block(segments: list[Segment], pause: float) -> None:
    """Lengthen the pause after the last segment to at least ``pause``."""
    if segments and segments[-1].pause_after < pause:
        segments[-1] = _with_pause(segments[-1], pause)


def _feed_host(config: ShowConfig) -> str:
    """The feed's host as a listener could type it; empty while the show is only served locally."""
    host = urlsplit(config.base).hostname or ""
    if host in ("localhost", "") or re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host):
        return ""
    return host.removeprefix("www.")
