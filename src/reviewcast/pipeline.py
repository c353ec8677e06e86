"""The only module that knows the order of the stages. Read ``render`` to see the whole product:

read → tracklist → tracks → script → speak → assemble → encode → publish → feed
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from reviewcast import __version__
from reviewcast.audio import Assembled, SpokenSegment, assemble, builtin_cue, encode, load_sound
from reviewcast.config import ShowConfig
from reviewcast.errors import ReviewcastError
from reviewcast.feed import write_feed
from reviewcast.fsutil import atomic_write_bytes, remove_stale_temporaries
from reviewcast.lock import show_lock
from reviewcast.models import EpisodeRecord, Script, Segment
from reviewcast.page import write_page
from reviewcast.publish import (
    collect_garbage,
    episode_title,
    identity,
    publish,
    show_artwork,
    source_id,
)
from reviewcast.records import load_records
from reviewcast.reviews import SUPPORTED_EXTENSIONS, read_review
from reviewcast.script import build_script
from reviewcast.speak import CACHE_DIR, SpeechCache, speak
from reviewcast.speech import get_engine, load_preset
from reviewcast.templates import template_sources
from reviewcast.tracks import detect_tracks, resolve_tracklist

REVIEWS = "reviews"
TRACKLIST_SUFFIX = ".tracks.txt"
WORK_DIR = Path(".reviewcast") / "work"

#: Called as progress(review path, stage, done, total) while a review renders.
Progress = Callable[[Path, str, int, int], None]


@dataclass(frozen=True)
class Outcome:
    """How one review's render ended: a record, or the error a user should see."""

    path: Path
    record: EpisodeRecord | None = None
    error: ReviewcastError | None = None


@dataclass(frozen=True)
class RenderReport:
    outcomes: tuple[Outcome, ...]
    feed: Path | None = None
    episodes: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.error is not None)


def find_reviews(config: ShowConfig) -> list[Path]:
    """Every review file in the show's reviews/ folder, in name order."""
    folder = config.root / REVIEWS
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_EXTENSIONS
        and not p.name.startswith(".")
        and not p.name.endswith(TRACKLIST_SUFFIX)
    )


def tracklist_beside(path: Path) -> Path | None:
    """``<stem>.tracks.txt`` next to a review: its tracklist, for reviews that can't carry one."""
    candidate = path.with_name(path.stem + TRACKLIST_SUFFIX)
    return candidate if candidate.is_file() else None


def load_script(config: ShowConfig, path: Path, *, tracklist_file: Path | None = None) -> Script:
    """read → tracklist → tracks → script: everything up to the audio (``preview`` stops here)."""
    review = read_review(path)
    review, tracklist = resolve_tracklist(review, tracklist_file or tracklist_beside(path))
    tracks = detect_tracks(review, tracklist)
    return build_script(config, review, tracklist, tracks)


def render(
    config: ShowConfig,
    paths: Sequence[Path],
    *,
    tracklist_file: Path | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
) -> RenderReport:
    """Render each review to a published episode, then write the feed once from every episode.

    A review that fails is reported in its Outcome and leaves the show as it was; the others
    are still rendered.
    """
    with show_lock(config.root, wait=wait):
        _clean_leftovers(config)
        records = load_records(config.root)
        art, art_name = show_artwork(config)
        cache = SpeechCache(config.root / CACHE_DIR)
        outcomes = []
        for path in paths:
            try:
                record = _render_one(config, path, tracklist_file, records, art, cache, progress)
            except ReviewcastError as error:
                outcomes.append(Outcome(path, error=error))
                continue
            records = [r for r in records if r.source != record.source] + [record]
            outcomes.append(Outcome(path, record=record))
        if not any(o.record for o in outcomes):
            return RenderReport(tuple(outcomes))
        atomic_write_bytes(config.root / "feed" / art_name, art)
        artwork_url = config.base + "feed/" + art_name
        write_page(config, records, artwork_url=artwork_url)
        feed = write_feed(config, records, artwork_url=artwork_url)
        collect_garbage(config, records)
    return RenderReport(tuple(outcomes), feed=feed, episodes=len(records))


def _render_one(
    config: ShowConfig,
    path: Path,
    tracklist_file: Path | None,
    records: Sequence[EpisodeRecord],
    art: bytes,
    cache: SpeechCache,
    progress: Progress | None,
) -> EpisodeRecord:
    def report(stage: str, done: int = 0, total: int = 0) -> None:
        if progress:
            progress(path, stage, done, total)

    report("reading")
    script = load_script(config, path, tracklist_file=tracklist_file)
    source = source_id(config, path)
    ident = identity(config, source, episode_title(script.review), records)
    fingerprint = _fingerprint(config, path, tracklist_file)
    work = config.root / WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        spoken = speak(script, config.root, cache, progress=lambda d, t: report("speaking", d, t))
        report("assembling")
        assembled = _assemble(config, spoken, Path(tmp))
        report("encoding")
        mp3 = Path(tmp) / "episode.mp3"
        encode(assembled, config, mp3)
        report("publishing")
        return publish(
            config,
            script,
            assembled,
            mp3,
            source=source,
            ident=ident,
            show_art=art,
            fingerprint=fingerprint,
        )


def _assemble(config: ShowConfig, spoken: Sequence[SpokenSegment], tmp: Path) -> Assembled:
    cue_file = config.path(config.cue) if config.cue else None
    clips = config.root / "clips"

    def cue_sound(segment: Segment) -> bytes:
        clip = clips / f"{segment.text}.mp3"
        if clip.is_file():
            voice_level = _voice_level(spoken)
            return load_sound(
                clip, max_seconds=config.clip_seconds, fade=0.5, match_dbfs=voice_level
            )
        if cue_file is not None:
            return load_sound(cue_file)
        return builtin_cue()

    return assemble(spoken, cue_sound, tmp / "episode.pcm")


def _voice_level(spoken: Sequence[SpokenSegment]) -> float:
    from reviewcast.audio import pcm_dbfs

    sample = next((s.pcm for s in spoken if s.pcm is not None and s.segment.kind == "review"), None)
    return pcm_dbfs(sample.read_bytes()) if sample else -20.0


def _fingerprint(config: ShowConfig, path: Path, tracklist_file: Path | None) -> str:
    """A hash of everything that goes into a review's episode (for incremental renders)."""
    digest = hashlib.sha256(__version__.encode())
    for f in fields(config):
        if f.name != "root":
            digest.update(f"{f.name}={getattr(config, f.name)!r}\n".encode())
    for candidate in (path, path.with_suffix(".toml"), tracklist_file, tracklist_beside(path)):
        if candidate is not None and candidate.is_file():
            digest.update(candidate.read_bytes())
    for name, source in template_sources(config.root):
        digest.update(name.encode() + source.encode())
    preset = load_preset(config.voice, config.root)
    engine = get_engine(preset.engine)
    digest.update(preset.cache_key().encode() + engine.version().encode())
    return digest.hexdigest()


def _clean_leftovers(config: ShowConfig) -> None:
    """Remove what a killed run left behind: work folders and temporary files."""
    shutil.rmtree(config.root / WORK_DIR, ignore_errors=True)
    remove_stale_temporaries(config.root / "feed")
    episodes = config.root / "episodes"
    if episodes.is_dir():
        for folder in episodes.iterdir():
            remove_stale_temporaries(folder)
