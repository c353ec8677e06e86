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
from urllib.parse import urlsplit

from reviewcast.config import ShowConfig
from reviewcast.models import Review, Script, Segment, SegmentKind, Track, Tracklist
from reviewcast.templates import environment, paragraphs, render

# Pauses in seconds; engines' own trailing silence is trimmed (speak.py), so these are the pauses.
PAUSE_SENTENCE = 0.4
PAUSE_BLOCK = 0.9
PAUSE_SECTION = 1.4  # the beat between intro, review and outro
PAUSE_AFTER_CUE = 0.2

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
    host = config.voice
    reader = config.voice
    segments: list[Segment] = []

    def spoken(kind: SegmentKind, texts: list[str], voice: str) -> None:
        for paragraph in texts:
            for sentence in split_sentences(paragraph, config.language):
                segments.append(Segment(kind, sentence.text, voice, PAUSE_SENTENCE))
            _end_block(segments, PAUSE_BLOCK)

    spoken("intro", paragraphs(render(env, "intro.txt.j2", **context)), host)
    _end_block(segments, PAUSE_SECTION)

    first_mentions = _Pending(tracks)
    for index, block in enumerate(review.blocks):
        kind: SegmentKind = "quote" if block.kind == "quote" else "review"
        for sentence in split_sentences(block.text, review.language or config.language):
            for track in first_mentions.pop_within(index, sentence.end):
                segments.append(Segment("cue", track.title, "", PAUSE_AFTER_CUE, index, track))
                if config.announce_tracks:
                    announce = paragraphs(render(env, "announce.txt.j2", track=track, **context))
                    for text in announce:
                        segments.append(
                            Segment("announce", text, host, PAUSE_SENTENCE, index, track)
                        )
            segments.append(Segment(kind, sentence.text, reader, PAUSE_SENTENCE, index))
        pause = PAUSE_SECTION if block.kind == "heading" else PAUSE_BLOCK
        _end_block(segments, pause)
    _end_block(segments, PAUSE_SECTION)

    spoken("outro", paragraphs(render(env, "outro.txt.j2", **context)), host)
    if segments:
        segments[-1] = _with_pause(segments[-1], 0.5)
    return Script(review=review, tracklist=tracklist, tracks=tracks, segments=tuple(segments))


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
