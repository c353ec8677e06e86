"""The only module that knows the order of the stages. Read ``render`` to see the whole product:

    read → tracklist → tracks → script → speak → level → encode in pieces   (a worker, per review)
      → publish (this process, one review at a time) → feed + page (once, at the end)

Audio work runs behind a ``concurrent.futures.Executor`` (worker processes by default), so a
distributed engine's executor can replace the local pool without touching the stages. Publishing
stays in this process: slugs, episode numbers and the feed are decided in one place, in order.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import importlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from stat import S_ISREG
from typing import Any

from reviewcast import __version__
from reviewcast.audio import (
    Assembled,
    builtin_cue,
    load_sound,
    one_malloc_arena,
    render_episode,
)
from reviewcast.config import ShowConfig
from reviewcast.errors import FetchError, ReviewcastError, ReviewError
from reviewcast.fsutil import atomic_write_bytes, remove_stale_temporaries
from reviewcast.index import (
    INDEX_PATH,
    LongLived,
    ReviewParts,
    ShowIndex,
    StatKey,
    stat_key,
)
from reviewcast.lock import show_lock
from reviewcast.models import EpisodeRecord, Script, Segment
from reviewcast.publish import (
    collect_garbage,
    episode_title,
    identity,
    publish,
    show_artwork,
    source_ids,
    touched_folders,
)
from reviewcast.records import RECORD_NAME, scan_records
from reviewcast.reviews import SUPPORTED_EXTENSIONS, read_review
from reviewcast.script import build_script
from reviewcast.speak import CACHE_DIR, CACHE_ROOT, PIECES_DIR, FileCache, voice_items
from reviewcast.speech import get_engine, load_preset
from reviewcast.templates import template_sources
from reviewcast.tracks import detect_tracks, resolve_tracklist

logger = logging.getLogger(__name__)

#: Settings that reach the feed's channel (or nothing published) but no episode's audio, tags,
#: chapters or notes: changing them rewrites the feed without re-rendering every episode.
CHANNEL_ONLY = frozenset(
    {
        "description",
        "author",
        "owner_name",
        "owner_email",
        "link",
        "category",
        "copyright",
        "locked",
        "show_type",
        "cache_limit_mb",
        "sources",
        "musicbrainz_url",
    }
)
FEED_MARK = Path(".reviewcast") / "feed-written"

REVIEWS = "reviews"
#: Longer reviews are refused: 50,000 words is five and a half hours of speech at 150 words a
#: minute, beyond any review; the reader's byte limit alone would let 90 hours through.
MAX_REVIEW_WORDS = 50_000
TRACKLIST_SUFFIX = ".tracks.txt"
WORK_DIR = Path(".reviewcast") / "work"

#: Called as progress(review path, stage, done, total). Stages: "queued", "reading",
#: "speaking", "assembling", "encoding", "publishing", "done", "failed".
Progress = Callable[[Path, str, int, int], None]
#: Makes the executor that renders audio, given the number of jobs.
ExecutorFactory = Callable[[int], Executor]


@dataclass(frozen=True)
class Outcome:
    """How one review's render ended: a record, skipped as unchanged, or an error."""

    path: Path
    record: EpisodeRecord | None = None
    error: ReviewcastError | None = None
    skipped: bool = False


@dataclass(frozen=True)
class Plan:
    """What a render would do with one review, and why."""

    path: Path
    source: str
    fingerprint: str
    reasons: tuple[str, ...]  # empty: unchanged

    @property
    def needed(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class RenderReport:
    outcomes: tuple[Outcome, ...]
    feed: Path | None = None
    episodes: int = 0
    interrupted: bool = False
    plans: tuple[Plan, ...] = field(default=())

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.error is not None)

    @property
    def rendered(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.record is not None)

    @property
    def skipped(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.skipped)


def find_reviews(config: ShowConfig) -> list[Path]:
    """Every review file in the show's reviews/ folder, in name order."""
    folder = config.root / REVIEWS
    try:
        with os.scandir(folder) as entries:
            # The listing says which names are files (no stat each, as is_file() made), and
            # names sort as their paths would (sorting 10,000 Paths took 0.1 s).
            names = sorted(
                e.name
                for e in entries
                if not e.name.startswith(".")  # so the suffix is what follows the last dot
                and e.name.lower().endswith(_REVIEW_SUFFIXES)
                and not e.name.endswith(TRACKLIST_SUFFIX)
                and e.is_file()
            )
    except (FileNotFoundError, NotADirectoryError):  # no reviews/ folder: no reviews
        return []
    return [folder / name for name in names]


_REVIEW_SUFFIXES = tuple(SUPPORTED_EXTENSIONS)


def tracklist_beside(path: Path) -> Path | None:
    """``<stem>.tracks.txt`` next to a review: its tracklist, for reviews that can't carry one."""
    candidate = path.with_name(path.stem + TRACKLIST_SUFFIX)
    return candidate if candidate.is_file() else None


def load_script(config: ShowConfig, path: Path, *, tracklist_file: Path | None = None) -> Script:
    """read → tracklist → tracks → script: everything up to the audio (``preview`` stops here)."""
    review = read_review(path)
    words = sum(len(block.text.split()) for block in review.blocks)
    if words > MAX_REVIEW_WORDS:
        raise ReviewError(
            f"has {words:,} words; reviewcast reads at most {MAX_REVIEW_WORDS:,} "
            "(about five hours of listening): split it into several reviews",
            path=path,
        )
    client = None
    if config.musicbrainz:
        from reviewcast.musicbrainz import MusicBrainzClient

        client = MusicBrainzClient(base_url=config.musicbrainz_url)
    try:
        review, tracklist = resolve_tracklist(
            review, tracklist_file or tracklist_beside(path), client
        )
    except FetchError as error:
        # Offline with nothing cached: an episode without track cues beats no episode.
        logger.warning("%s; rendering without a tracklist", error)
        review, tracklist = resolve_tracklist(review, tracklist_file or tracklist_beside(path))
    tracks = detect_tracks(review, tracklist)
    return build_script(config, review, tracklist, tracks)


# -- planning: what is new or changed -----------------------------------------------------------


def plan(
    config: ShowConfig,
    paths: Sequence[Path],
    records: Sequence[EpisodeRecord],
    *,
    tracklist_file: Path | None = None,
    force: bool = False,
    index: ShowIndex | None = None,
) -> list[Plan]:
    """For each review, its fingerprint and the reasons it must be rendered (none: unchanged).

    ``index`` (by default the show's, read but not written) gives the parts of reviews whose
    files did not change since a render read them, and learns the others.
    """
    if index is None:
        index = ShowIndex.load(config.root)
    read_at = index.now()  # before any review is looked at: see index.settled
    shared = _shared_parts(config)
    # The fingerprint is its parts by name, in name order; only three are the review's own.
    layout = ";".join(
        f"{k}={{{_REVIEW_PARTS.index(k)}}}" if k in _REVIEW_PARTS else f"{k}={_literal(v)}"
        for k, v in sorted({**shared, **dict.fromkeys(_REVIEW_PARTS, "")}.items())
    )
    by_source = {r.source: r for r in records}
    # Once per render rather than per review: a show of 10,000 reviews spent 1 s of CPU on
    # resolving the show folder, globbing clips/ and stat-ing absent sidecars for each.
    source_of = source_ids(config)
    files = _FolderFiles()
    extra = _stat_of(tracklist_file) if tracklist_file is not None else None
    plans = []
    for path in paths:
        source = source_of(path)
        parts = _cached_review_parts(
            config, path, source, tracklist_file, extra, files, index, read_at
        )
        fingerprint = layout.format(*parts)
        old = by_source.get(source)
        if old is None:
            reasons: tuple[str, ...] = ("new",)
        elif old.fingerprint == fingerprint:
            reasons = ()
        else:
            every = {**shared, **dict(zip(_REVIEW_PARTS, parts, strict=True))}
            before = dict(p.split("=", 1) for p in old.fingerprint.split(";") if "=" in p)
            reasons = tuple(f"{k} changed" for k in sorted(every) if before.get(k) != every[k])
        if force and not reasons:
            reasons = ("--force",)
        plans.append(Plan(path, source, fingerprint, reasons))
    return plans


_REVIEW_PARTS = ("review", "sidecar", "tracklist")


def _literal(text: str) -> str:
    """``text`` as it appears in a format string."""
    return text.replace("{", "{{").replace("}", "}}")


def _cached_review_parts(
    config: ShowConfig,
    path: Path,
    source: str,
    tracklist_file: Path | None,
    extra: StatKey | None,
    files: _FolderFiles,
    index: ShowIndex,
    read_at: int,
) -> ReviewParts:
    """``_review_parts`` (review, sidecar, tracklist), from the index when none of the review's
    files changed.

    The files are stat-ed before they are read, so a change while they are read shows next
    time; a file that cannot be stat-ed is read every time. The entry is found by the review's
    ``source`` (however the show folder was named) and holds its files' stats.
    """
    # Strings, not Paths: with_suffix() and friends for each of 10,000 reviews were a tenth of
    # planning. The stem and a suffix make what with_suffix() gives.
    folder, stem = _folder_of(path), path.stem
    listed = files.besides(folder)
    beside = listed.get(stem) if listed is not None else None
    key: tuple[StatKey | None, ...]
    if beside:
        key = (
            _stat_of(str(path)),
            *(_stat_of(folder + stem + s) if s in beside else None for s in _BESIDE),
        )
    else:  # most reviews have nothing beside them
        key = (_stat_of(str(path)), None, None, None)
    if tracklist_file is not None:
        key += (extra,)
    cacheable = (
        key[0] is not None
        and listed is not None  # else what is beside it is not known
        and (tracklist_file is None or extra is not None)
    )
    known = index.review_parts(source, key) if cacheable else None
    if known is not None:
        return known
    parts = _review_parts(config, path, tracklist_file, files=files)
    made = (parts["review"], parts["sidecar"], parts["tracklist"])
    if cacheable:
        index.learn_review_parts(source, key, made, read_at)
    return made


#: The files beside a review that its fingerprint reads (_review_parts): sidecar, tracklists.
_BESIDE = (".toml", TRACKLIST_SUFFIX, ".musicbrainz.json")


def _folder_of(path: Path) -> str:
    """The folder of ``path`` as a prefix: ``str(path)`` without its name."""
    text = str(path)
    return text[: len(text) - len(path.name)]


def _stat_of(path: str | Path) -> StatKey | None:
    """The index's key for a file (following links, as reading it does); None if it has none."""
    try:
        st = os.stat(path)  # noqa: PTH116 - a Path per file was a tenth of planning
    except OSError:
        return None
    return stat_key(st) if S_ISREG(st.st_mode) else None


def _digest(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(len(chunk).to_bytes(8, "big") + chunk)
    return h.hexdigest()[:16]


def _shared_parts(config: ShowConfig) -> dict[str, str]:
    """Fingerprint parts every review shares: config, templates, voice, engine, reviewcast and
    the clips of tracks."""
    settings = "".join(
        f"{f.name}={getattr(config, f.name)!r}\n"
        for f in fields(config)
        if f.name != "root" and f.name not in CHANNEL_ONLY
    )
    templates = [n.encode() + s.encode() for n, s in template_sources(config.root)]
    preset = load_preset(config.voice, config.root)
    # Every preset a review may be cast with (reviewer, quote and language voices too).
    voice_files = sorted((config.root / "voices").glob("*.toml"))
    extra = []
    for name in ("cue",):
        value = getattr(config, name)
        if value and config.path(value).is_file():
            extra.append(config.path(value).read_bytes())
    return {
        "config": _digest(settings.encode(), *extra),
        "templates": _digest(*templates),
        "voice": _digest(preset.cache_key().encode(), *(p.read_bytes() for p in voice_files)),
        "engine": _digest(get_engine(preset.engine).version().encode()),
        "reviewcast": __version__,
        "clips": _clips_part(config),
    }


def _review_parts(
    config: ShowConfig,
    path: Path,
    tracklist_file: Path | None,
    *,
    files: _FolderFiles | None = None,
) -> dict[str, str]:
    """Fingerprint parts of one review: its file, its sidecar and its tracklists."""
    if files is None:
        files = _FolderFiles()

    def read(p: Path | None) -> bytes:
        """The file's digest: hashed in chunks, since the reader's size limit comes later."""
        try:
            if p is None or not files.is_file(p):
                return b""
            digest = hashlib.sha256()
            with p.open("rb") as fh:  # file_digest() took twice as long on 5 KB reviews
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            return digest.digest()
        except OSError:
            return b""

    return {
        "review": _digest(read(path)),
        "sidecar": _digest(read(path.with_suffix(".toml"))),
        "tracklist": _digest(
            read(tracklist_file),
            read(path.with_name(path.stem + TRACKLIST_SUFFIX)),  # tracklist_beside(path)
            read(path.with_suffix(".musicbrainz.json")),
        ),
    }  # _cached_review_parts stats these same files: keep the two lists alike


def _clips_part(config: ShowConfig) -> str:
    """The show's clips, identified by name, size and time rather than read in full."""
    clips = config.root / "clips"
    stats = (
        sorted(f"{c.name}:{c.stat().st_size}:{c.stat().st_mtime_ns}" for c in clips.glob("*.mp3"))
        if clips.is_dir()
        else []
    )
    return _digest(*(s.encode() for s in stats))


class _FolderFiles:
    """Which names in a folder are files (or links to files), from one listing of the folder:
    most reviews have no sidecar, and asking the file system for each absent one was most of
    planning a big show."""

    def __init__(self) -> None:
        self._listed: dict[str, frozenset[str] | None] = {}
        self._besides: dict[str, dict[str, frozenset[str]] | None] = {}

    def is_file(self, path: Path) -> bool:
        """Whether ``path`` is a file."""
        return self.has(_folder_of(path), path.name)

    def besides(self, folder: str) -> dict[str, frozenset[str]] | None:
        """The files in ``folder`` that may sit beside a review: the suffixes of _BESIDE each
        stem has (one look-up a review instead of one a suffix); None if it cannot be listed."""
        if folder not in self._besides:
            names = self._names(folder)
            found: dict[str, set[str]] = {}
            for name in names or ():
                for suffix in _BESIDE:
                    if name.endswith(suffix):
                        found.setdefault(name[: -len(suffix)], set()).add(suffix)
            besides = {stem: frozenset(s) for stem, s in found.items()}
            self._besides[folder] = None if names is None else besides
        return self._besides[folder]

    def has(self, folder: str, name: str) -> bool:
        """Whether ``name`` in ``folder`` (as ``_folder_of`` gives it) is a file."""
        names = self._names(folder)
        if names is None:  # unlistable: ask about the file itself
            return Path(folder, name).is_file()
        return name in names

    def _names(self, folder: str) -> frozenset[str] | None:
        """The names of the files in ``folder``; None if it cannot be listed."""
        if folder not in self._listed:
            try:
                with os.scandir(folder or ".") as entries:
                    self._listed[folder] = frozenset(e.name for e in entries if e.is_file())
            except OSError:
                self._listed[folder] = None
        return self._listed[folder]


# -- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One review's audio work, sent to a worker."""

    config: ShowConfig
    path: Path
    tracklist_file: Path | None
    show_art: bytes | None  # None: the show's generated cover, drawn (or read from its cache)
    work: Path  # a fresh folder the worker may fill
    # Threads that level and encode beside the one that speaks (cores the render has spare);
    # 0: one thing at a time, on one core (--jobs 1).
    encoders: int = 1


@dataclass(frozen=True)
class Rendered:
    """What a worker hands back: everything publish needs, files inside the job's work folder."""

    script: Script
    assembled: Assembled  # its MP3 (untagged) is in the job's work folder
    cover: bytes

    @property
    def mp3(self) -> Path:
        return self.assembled.mp3


def render_audio(job: Job, progress: Callable[[str, int, int], None] | None = None) -> Rendered:
    """read → … → encode for one review: the part of a render that can run anywhere."""
    from reviewcast.artwork import episode_cover

    def report(stage: str, done: int = 0, total: int = 0) -> None:
        if progress:
            progress(stage, done, total)

    config = job.config
    report("reading")
    script = load_script(config, job.path, tracklist_file=job.tracklist_file)

    def draw_cover() -> bytes:
        art = job.show_art if job.show_art is not None else show_artwork(config)[0]
        album, artist = script.review.album, script.review.artist
        return episode_cover(art, album, artist, cache_in=config.root)

    def speak() -> Assembled:
        items = voice_items(script, FileCache(config.root / CACHE_DIR), _cue_source(config))
        return render_episode(
            items,
            config,
            job.work / "episode.mp3",
            FileCache(config.root / PIECES_DIR, ".piece"),
            encoders=job.encoders,
            progress=lambda d, t: report("speaking", d, t),
        )

    if job.encoders == 0:  # one thing at a time
        assembled = speak()
        report("encoding")
        return Rendered(script, assembled, draw_cover())
    # The cover is drawn while the episode is spoken (Pillow lets go of the GIL as it draws).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cover") as drawing:
        cover = drawing.submit(draw_cover)
        assembled = speak()
        report("encoding")
        return Rendered(script, assembled, cover.result())


class InProcessExecutor(Executor):
    """Runs each job at once in this process: --jobs 1, and no pickling or process start-up."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, as a pool would
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future


def local_executor(jobs: int) -> Executor:
    """The default: worker processes, started with spawn (pyttsx3 and eSpeak must not be forked
    after they initialise); one job runs in this process."""
    if jobs <= 1:
        return InProcessExecutor()
    import multiprocessing  # only for worker processes (and 10 ms to import)

    return cf.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
    )


def _exit_with_parent() -> None:
    """In a worker: end when the render that started it ends, even by SIGKILL (the pool's
    workers otherwise wait for work for ever once their parent is gone)."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None:

        def watch() -> None:
            parent.join()  # returns when the parent's end of the pipe closes: it died
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def render(
    config: ShowConfig,
    paths: Sequence[Path],
    *,
    tracklist_file: Path | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
    jobs: int = 1,
    force: bool = False,
    dry_run: bool = False,
    executor_factory: ExecutorFactory = local_executor,
) -> RenderReport:
    """Render what is new or changed among ``paths``, then write the feed once from every episode.

    A review that fails is reported in its Outcome and leaves its published episode as it was;
    the others are still rendered. On Ctrl-C, the episodes already finished are published and
    the feed is written before the interrupt goes on.
    """
    one_malloc_arena()  # before this render starts any thread
    with show_lock(config.root, wait=wait), LongLived() as loaded:
        index = ShowIndex.load(config.root)  # what earlier renders learnt of unchanged files
        scan = scan_records(config.root, index=index)
        records = scan.records
        loaded.freeze()
        plans = plan(
            config, paths, records, tracklist_file=tracklist_file, force=force, index=index
        )
        if dry_run:
            return RenderReport((), plans=tuple(plans), episodes=len(records))
        _clean_leftovers(config)
        outcomes = [Outcome(p.path, skipped=True) for p in plans if not p.needed]
        todo = [p for p in plans if p.needed]
        if not todo:
            feed = None
            if records and _feed_is_stale(
                config, newest_record_ns=scan.newest_ns, episodes=len(records)
            ):
                # a run killed between its last record and the feed: finish its work
                feed = _write_show(config, records, *show_artwork(config), index=index)
            else:  # one killed after the feed but before removing superseded files
                collect_garbage(config, records)
                index.save(records)
            return RenderReport(tuple(outcomes), feed, len(records), plans=tuple(plans))
        # The show's own artwork is checked before any work is done; a generated cover is drawn
        # beside the first review's speech instead (render_audio).
        art = show_artwork(config)[0] if config.artwork else None
        interrupted = False
        try:
            for outcome in _run(
                config, todo, records, art, tracklist_file, jobs, executor_factory, progress
            ):
                outcomes.append(outcome)
                if outcome.record is not None:
                    records = [r for r in records if r.source != outcome.record.source]
                    records.append(outcome.record)
        except KeyboardInterrupt:
            interrupted = True
        feed = None
        if any(o.record for o in outcomes):
            feed = _write_show(config, records, *show_artwork(config), index=index)
        else:
            index.save(records)  # what planning learnt
        shutil.rmtree(config.root / WORK_DIR, ignore_errors=True)
        FileCache(config.root / CACHE_ROOT).prune(config.cache_limit_mb * 1024 * 1024)
        report = RenderReport(tuple(outcomes), feed, len(records), interrupted, tuple(plans))
    if interrupted:
        raise RenderInterrupted(report)
    return report


class RenderInterrupted(KeyboardInterrupt):
    """Ctrl-C during a render, after the finished episodes were published."""

    def __init__(self, report: RenderReport) -> None:
        super().__init__()
        self.report = report


def _run(
    config: ShowConfig,
    todo: Sequence[Plan],
    records: Sequence[EpisodeRecord],
    art: bytes | None,
    tracklist_file: Path | None,
    jobs: int,
    executor_factory: ExecutorFactory,
    progress: Progress | None,
) -> Iterable[Outcome]:
    """Render audio for each plan on the executor; publish each as it completes, in order."""
    work_root = config.root / WORK_DIR
    work_root.mkdir(parents=True, exist_ok=True)
    threading.Thread(target=_import_publishing, name="prefetch", daemon=True).start()
    published = list(records)
    workers = max(1, min(jobs, len(todo)))
    executor = executor_factory(workers)
    # --jobs 1 is one core: each review speaks, levels and encodes in turn. Otherwise each job
    # levels and encodes beside its speech, with the cores no worker uses.
    encoders = 0 if jobs <= 1 else max(1, jobs - workers + 1)
    in_process = isinstance(executor, InProcessExecutor)
    futures: dict[Future[Rendered], tuple[Plan, Path]] = {}
    waiting = list(todo)
    # Keep a few jobs in flight, not all: each finished one is published (and its work files
    # freed) before the next is submitted, so a crash loses at most what is in flight.
    in_flight = 1 if in_process else 2 * max(1, jobs)

    def submit_more() -> None:
        while waiting and len(futures) < in_flight:  # submitted and not yet published
            item = waiting.pop(0)
            work = Path(tempfile.mkdtemp(dir=work_root))
            job = Job(config, item.path, tracklist_file, art, work, encoders)
            if progress:
                progress(item.path, "queued", 0, 0)
            if in_process and progress:
                report = _bind(progress, item.path)
                futures[executor.submit(render_audio, job, report)] = (item, work)
            else:
                futures[executor.submit(render_audio, job)] = (item, work)

    order = {item.path: n for n, item in enumerate(todo)}
    try:
        while True:
            submit_more()
            if not futures:
                break
            done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
            future = min(done, key=lambda f: order[futures[f][0].path])
            item, work = futures.pop(future)
            try:
                rendered = future.result()
                if progress:
                    progress(item.path, "publishing", 0, 0)
                record = _publish(config, item, rendered, published)
            except Exception as exc:  # one bad review never stops the others
                if progress:
                    progress(item.path, "failed", 0, 0)
                yield Outcome(item.path, error=_as_user_error(exc, item.path))
                continue
            finally:
                shutil.rmtree(work, ignore_errors=True)
            published = [r for r in published if r.source != record.source] + [record]
            if progress:
                progress(item.path, "done", 0, 0)
            yield Outcome(item.path, record=record)
    finally:
        for future in futures:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


#: Imported in a thread while the first review is spoken, not after its audio: 50 ms of
#: imports (lxml, feedgen, the page's templates) that the speech's waits hide.
_PUBLISHING = ("reviewcast.feed", "reviewcast.page", "reviewcast.artwork")


def _import_publishing() -> None:
    for name in _PUBLISHING:
        try:
            importlib.import_module(name)
        except Exception:  # imported again where it is needed, which then says why
            return


def _as_user_error(exc: Exception, path: Path) -> ReviewcastError:
    if isinstance(exc, ReviewcastError):
        return exc
    if isinstance(exc, cf.BrokenExecutor):
        error = ReviewcastError(f"the worker process rendering it died ({exc})", path=path)
    else:  # a bug of ours: say so plainly; --verbose shows the traceback
        error = ReviewcastError(
            f"internal error ({type(exc).__name__}: {exc}); please report it", path=path
        )
    error.__cause__ = exc
    return error


def _bind(progress: Progress, path: Path) -> Callable[[str, int, int], None]:
    return lambda stage, done, total: progress(path, stage, done, total)


def _publish(
    config: ShowConfig, item: Plan, rendered: Rendered, records: Sequence[EpisodeRecord]
) -> EpisodeRecord:
    ident = identity(config, item.source, episode_title(rendered.script.review), records)
    return publish(
        config,
        rendered.script,
        rendered.assembled,
        rendered.mp3,
        source=item.source,
        ident=ident,
        cover=rendered.cover,
        fingerprint=item.fingerprint,
    )


def _write_show(
    config: ShowConfig,
    records: Sequence[EpisodeRecord],
    art: bytes,
    art_name: str,
    *,
    index: ShowIndex | None = None,
) -> Path:
    """Artwork, web page and feed, then remove what no record points at any more; then save
    what the index learnt (the feed's items among it)."""
    from reviewcast.feed import write_feed
    from reviewcast.page import write_page

    atomic_write_bytes(config.root / "feed" / art_name, art)
    artwork_url = config.base + "feed/" + art_name
    write_page(config, records, artwork_url=artwork_url)
    feed = write_feed(config, records, artwork_url=artwork_url, items=index)
    mark = config.root / FEED_MARK
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(f"{len(records)}\n", encoding="utf-8")  # see _feed_is_stale
    collect_garbage(config, records)
    if index is not None:
        index.save(records)
    return feed


def _cue_source(config: ShowConfig) -> Callable[[Segment], tuple[str, Callable[[], bytes]]]:
    """Each cue's sound: the track's clip (clips/<title>.mp3), else the show's cue, else the
    built-in chime; keyed by the file's bytes and the settings that shape it."""
    cue_file = config.path(config.cue) if config.cue else None
    clips = config.root / "clips"

    def source(segment: Segment) -> tuple[str, Callable[[], bytes]]:
        clip = clips / f"{segment.text}.mp3"
        if clip.is_file():
            key = _file_key("clip", clip, config.clip_seconds)
            return key, lambda: load_sound(clip, max_seconds=config.clip_seconds, fade=0.5)
        if cue_file is not None:
            return _file_key("cue", cue_file), lambda: load_sound(cue_file)
        return "builtin-chime-1", builtin_cue

    return source


def _file_key(kind: str, path: Path, *settings: object) -> str:
    try:
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        digest = "unreadable"  # load_sound says why when the sound is wanted
    return f"{kind}:{digest}:{settings!r}"


def _feed_is_stale(
    config: ShowConfig, *, newest_record_ns: int | None = None, episodes: int | None = None
) -> bool:
    """Whether the feed lags: an episode record or show.toml is newer than the last feed write,
    or the show has another number of ``episodes`` than the feed was written with (an episode
    folder deleted by hand leaves nothing newer behind).

    The mark is a file of its own because the feed's mtime does not move when its bytes are
    unchanged (fsutil leaves such files alone); it holds the number of episodes the feed was
    written with. ``newest_record_ns``, the latest mtime of the records as
    ``records.scan_records`` found them, saves stat-ing them all again.
    """
    mark = config.root / FEED_MARK
    feed = config.root / "feed" / "feed.xml"
    try:
        written = mark.stat().st_mtime_ns
        count = mark.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return True
    if not feed.is_file():
        return True
    if episodes is not None and count.isdigit() and int(count) != episodes:
        return True  # an empty mark (written before it held the count) says nothing of it
    if newest_record_ns is not None:
        if newest_record_ns > written:
            return True
        try:
            return (config.root / "show.toml").stat().st_mtime_ns > written
        except FileNotFoundError:
            return False
    # One listing and a stat per record: globbing them took 0.1 s at 10,000 episodes.
    under = config.root / "episodes"
    try:
        with os.scandir(under) as entries:
            folders = [e.name for e in entries if e.is_dir()]
    except FileNotFoundError:
        folders = []
    newer = [config.root / "show.toml", *(under / name / RECORD_NAME for name in folders)]
    for path in newer:
        try:
            if path.stat().st_mtime_ns > written:
                return True
        except FileNotFoundError:
            pass
    return False


def _clean_leftovers(config: ShowConfig) -> None:
    """Remove what a killed run left behind: work folders and temporary files (of the feed,
    the caches, and the episode folders publish.TOUCHED names)."""
    shutil.rmtree(config.root / WORK_DIR, ignore_errors=True)
    remove_stale_temporaries(config.root / "feed")
    remove_stale_temporaries(config.root / INDEX_PATH.parent)  # the index's
    remove_stale_temporaries(config.root / ".reviewcast" / "cache", recursive=True)
    # Only the folders a render wrote into since the last garbage collection can hold one:
    # listing all of them took 0.25 s at 10,000 episodes, on every render.
    for name in touched_folders(config.root):
        remove_stale_temporaries(config.root / "episodes" / name)
