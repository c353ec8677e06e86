"""Encoded audio + script → a published episode folder and its EpisodeRecord.

Published files are immutable: each is named after a hash of its content, written under a
temporary name and renamed into place, and only then does episode.json (the record the feed is
built from) point at it. Files no record points at any more are removed after the feed is
written. So at every moment the feed's enclosures exist with exactly the lengths it lists.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reviewcast.audio import Assembled
from reviewcast.config import ShowConfig
from reviewcast.errors import AudioError
from reviewcast.fsutil import atomic_path, atomic_write_bytes, disk_trouble, write_error
from reviewcast.models import Chapter, EpisodeRecord, Review, Script
from reviewcast.records import RECORD_NAME, find_record_for_source, save_record
from reviewcast.tags import write_tags
from reviewcast.templates import environment, render
from reviewcast.transcript import chapters_json, format_timestamp, srt, webvtt

EPISODES = "episodes"
MAX_SLUG = 60
#: The episode folders a render has written into since the last garbage collection, one name
#: a line: only these can hold a temporary or superseded file, so a render of a big show
#: cleans these rather than listing every folder (1.5 s of CPU at 10,000 episodes). Written
#: (and fsynced) before the folder is, so a render killed at any moment leaves its folders
#: named here for the next run.
TOUCHED = Path(".reviewcast") / "touched"


def slugify(text: str) -> str:
    """A safe, readable folder name: ASCII letters, digits and hyphens only; never empty."""
    text = re.sub(r"(\w)['’](\w)", r"\1\2", text)  # "it's" → "its", not "it-s"
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] or slug[:MAX_SLUG]
    return slug or "episode"


def episode_title(review: Review) -> str:
    """The episode's title: the review's headline, else 'Album by Artist', else the file name."""
    if review.title:
        return review.title
    if review.album and review.artist:
        return f"{review.album} by {review.artist}"
    return review.album or review.source.stem.replace("-", " ").replace("_", " ").strip()


def source_id(config: ShowConfig, path: Path) -> str:
    """A review's identity within the show: its path relative to the show folder."""
    return source_ids(config)(path)


def source_ids(config: ShowConfig) -> Callable[[Path], str]:
    """``source_id`` for many reviews: the show folder and each review's folder are resolved
    once, not for every review (two resolves a review were 0.7 s of a 10,000-review plan)."""
    root = str(config.root.resolve())
    under_root = root.rstrip(os.sep) + os.sep
    # folder as given (a prefix of the paths in it) → (the folder resolved, the names in it
    # that are symbolic links)
    folders: dict[str, tuple[str, frozenset[str]] | None] = {}

    def listed(prefix: str) -> tuple[str, frozenset[str]] | None:
        if prefix not in folders:
            folder = Path(prefix)  # Path("") is "."
            try:
                with os.scandir(folder) as entries:
                    links = frozenset(e.name for e in entries if e.is_symlink())
                folders[prefix] = (str(folder.resolve()), links)
            except OSError:
                folders[prefix] = None
        return folders[prefix]

    def source(path: Path) -> str:
        name = path.name
        text = str(path)
        # The folder as a string prefix, not path.parent: a Path per review was a tenth of
        # planning 10,000.
        folder = listed(text[: len(text) - len(name)]) if name not in ("", ".", "..") else None
        if folder is None or name in folder[1]:
            resolved = str(path.resolve())
        else:  # a plain name in a resolved folder is resolved already
            resolved = folder[0].rstrip(os.sep) + os.sep + name
        if resolved == root:
            return "."
        if resolved.startswith(under_root):
            return _posix(resolved[len(under_root) :])
        return _posix(resolved)

    return source


def _posix(resolved: str) -> str:
    # A resolved path is normal already: where the separator is "/", as_posix() would give the
    # same string back, and making a Path per review was a tenth of planning 10,000.
    return resolved if os.sep == "/" else Path(resolved).as_posix()


@dataclass(frozen=True)
class Identity:
    """What stays the same each time a review is rendered again."""

    slug: str
    guid: str
    number: int
    first_published: dt.datetime | None


def identity(
    config: ShowConfig, source: str, title: str, records: Sequence[EpisodeRecord]
) -> Identity:
    """Reuse the slug, guid and number of this review's earlier episode; else choose new ones."""
    record = find_record_for_source(records, source)
    if record is not None:
        return Identity(record.slug, record.guid, record.number, record.pub_date)
    taken = {r.slug for r in records}
    base = slugify(title)
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    guid = str(uuid.uuid5(uuid.UUID(config.podcast_guid), source))
    number = max((r.number for r in records), default=0) + 1
    return Identity(slug, guid, number, None)


def publish(
    config: ShowConfig,
    script: Script,
    assembled: Assembled,
    encoded_mp3: Path,
    *,
    source: str,
    ident: Identity,
    cover: bytes,
    fingerprint: str,
    now: dt.datetime | None = None,
) -> EpisodeRecord:
    """Tag the MP3, write the episode's files and its record; return the record.

    ``cover`` is the episode's own cover (``artwork.episode_cover``), made by the worker that
    rendered the audio.
    """
    review = script.review
    folder = config.root / EPISODES / ident.slug
    try:
        note_touched(config.root, ident.slug)
    except OSError as exc:
        raise write_error(exc, config.root / TOUCHED) from exc
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, folder) from exc
    title = episode_title(review)
    pub_date = _pub_date(review, ident, now)
    opening = _opening(review)

    cover_name = _put(folder, "cover", ".jpg", cover)

    try:
        write_tags(
            encoded_mp3,
            title=title,
            show=config.title,
            date=pub_date.date(),
            comment=opening,
            cover_jpeg=cover,
            chapters=assembled.chapters,
            language=review.language or config.language,
            track_number=ident.number,
        )
    except AudioError as exc:
        trouble = disk_trouble(exc)  # mutagen's own error wraps the OSError
        if trouble is None:
            raise
        raise write_error(trouble, encoded_mp3) from exc
    audio_name = _move_in(folder, ident.slug, ".mp3", encoded_mp3)
    length = (folder / audio_name).stat().st_size

    rel = f"{EPISODES}/{ident.slug}"
    chapters_name = _put(
        folder,
        "chapters",
        ".json",
        chapters_json(
            assembled.chapters, title=title, image_url=config.base + f"{rel}/{cover_name}"
        ).encode("utf-8"),
    )
    vtt_name = _put(folder, "transcript", ".vtt", webvtt(assembled.captions).encode("utf-8"))
    srt_name = _put(folder, "transcript", ".srt", srt(assembled.captions).encode("utf-8"))

    notes = render(
        environment(config.root),
        "show_notes.html.j2",
        show=config,
        review=review,
        opening=opening,
        tracks=_timed_tracks(assembled.chapters),
        episode=ident,
    ).strip()
    record = EpisodeRecord(
        slug=ident.slug,
        guid=ident.guid,
        source=source,
        title=title,
        summary=opening,
        notes_html=notes,
        pub_date=pub_date,
        number=ident.number,
        duration=round(assembled.duration, 3),
        audio=f"{rel}/{audio_name}",
        length=length,
        cover=f"{rel}/{cover_name}",
        chapters_json=f"{rel}/{chapters_name}",
        transcript_vtt=f"{rel}/{vtt_name}",
        transcript_srt=f"{rel}/{srt_name}",
        chapters=assembled.chapters,
        artist=review.artist,
        album=review.album,
        reviewer=review.reviewer,
        language=review.language or config.language,
        explicit=config.explicit,
        fingerprint=fingerprint,
    )
    save_record(config.root, record)
    return record


def show_artwork(config: ShowConfig) -> tuple[bytes, str]:
    """The show's cover (the user's, checked, or one generated from the title) and its filename."""
    if config.artwork:
        from reviewcast.artwork import check_artwork

        data, mime = check_artwork(config.path(config.artwork))
        return data, "cover.png" if mime == "image/png" else "cover.jpg"
    from reviewcast.artwork import show_cover  # Pillow: only when a cover is wanted

    return show_cover(config.title, cache_in=config.root), "cover.jpg"


def collect_garbage(config: ShowConfig, records: Sequence[EpisodeRecord]) -> None:
    """Remove published files and episode folders that no record points at any more.

    Called only after the feed that no longer lists them has been written. Looks at the name
    of every folder (a folder without a record goes) and inside the folders named in TOUCHED,
    the only ones a render wrote into since the last collection.
    """
    episodes = config.root / EPISODES
    touched = touched_folders(config.root)
    if not episodes.is_dir():
        clear_touched(config.root)
        return
    by_slug = {r.slug: r for r in records}
    with os.scandir(episodes) as entries:
        folders = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
    for name in folders:
        record = by_slug.get(name)
        if record is not None and name not in touched:
            continue  # no render wrote here since its files were last collected
        folder = episodes / name
        if record is None:
            if not (folder / RECORD_NAME).exists():  # a superseded slug or a killed first render
                shutil.rmtree(folder, ignore_errors=True)
            continue
        keep = {RECORD_NAME}
        for rel in (
            record.audio,
            record.cover,
            record.chapters_json,
            record.transcript_vtt,
            record.transcript_srt,
        ):
            if rel:
                keep.add(Path(rel).name)
        for item in folder.iterdir():
            if item.is_file() and item.name not in keep:
                # Garbage that cannot go now (a read-only folder) harms no one: the feed no
                # longer lists it, and the next run tries again.
                with contextlib.suppress(OSError):
                    item.unlink(missing_ok=True)
    clear_touched(config.root)


def note_touched(show_root: Path, slug: str) -> None:
    """Name ``slug``'s folder in TOUCHED, durably, before a render writes into it."""
    journal = show_root / TOUCHED
    if slug in touched_folders(show_root):
        return
    journal.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, slug.encode("utf-8") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def touched_folders(show_root: Path) -> set[str]:
    """The episode folders named in TOUCHED: written into since the last garbage collection."""
    try:
        text = (show_root / TOUCHED).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return set()
    return {line for line in text.split("\n") if line and _is_folder_name(line)}


def clear_touched(show_root: Path) -> None:
    """Forget TOUCHED once its folders are collected."""
    with contextlib.suppress(OSError):  # it stays: the next run collects those folders again
        (show_root / TOUCHED).unlink(missing_ok=True)


def _is_folder_name(name: str) -> bool:
    # A damaged journal must not send the cleaning outside episodes/.
    return name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def _put(folder: Path, stem: str, suffix: str, data: bytes) -> str:
    name = f"{stem}-{hashlib.sha256(data).hexdigest()[:10]}{suffix}"
    target = folder / name
    if not target.exists():
        atomic_write_bytes(target, data)
    return name


def _move_in(folder: Path, stem: str, suffix: str, path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
        os.fsync(fh.fileno())
    name = f"{stem}-{digest.hexdigest()[:10]}{suffix}"
    target = folder / name
    try:
        path.chmod(0o644)
        path.replace(target)  # the work folder lives in the show: usually one file system
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise write_error(exc, target) from exc
        # episodes/ is on another disk (a link to a web server's folder): copy, then rename.
        with atomic_path(target) as tmp:
            shutil.copyfile(path, tmp)
    return name


def _pub_date(review: Review, ident: Identity, now: dt.datetime | None) -> dt.datetime:
    if review.date is not None:
        # Noon UTC keeps the date the same in every listener's time zone.
        return dt.datetime.combine(review.date, dt.time(12, 0), tzinfo=dt.UTC)
    if ident.first_published is not None:
        return ident.first_published
    return (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)


def _opening(review: Review, limit: int = 400) -> str:
    """The review's first paragraph, cut at a sentence or word near ``limit`` characters."""
    first = next((b.text for b in review.blocks if b.kind != "heading"), "")
    if len(first) <= limit:
        return first
    cut = first[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence_end > limit // 2:
        return cut[: sentence_end + 1]
    return cut.rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True)
class TimedTrack:
    title: str
    number: int | None
    start: float
    time: str


def _timed_tracks(chapters: Sequence[Chapter]) -> list[TimedTrack]:
    return [
        TimedTrack(c.title, c.track_number, c.start, format_timestamp(c.start))
        for c in chapters
        if c.kind == "track"
    ]
