"""The show's index, ``.reviewcast/index``: what a render learnt about files that did not change,
so that the next render need not learn it again (BENCHMARKS.md, figure 5).

It holds, for each ``episodes/<slug>/episode.json``, the record parsed from it and the feed's
``<item>`` for it as bytes, and for each review the fingerprint parts of the review and of the
files beside it. Every entry is keyed by its files' stat: inode, size, mtime and ctime (which no
program can set back, unlike mtime). A file whose stat differs from its entry's is read again.
A record from the index (IndexedRecord) unpacks the fields a render rarely reads only when one
is read.

Like git's index, it must not trust a file changed within the granularity of the file system's
timestamps ("racy git"): a file written, read, then written again within that span can keep its
size and times while its bytes change. So an entry is only kept for a file whose last change
was ``SETTLED_NS`` older than the moment the render began reading, measured on the system's
clock before the file was looked at; a file changed later is read again on the next render too,
and kept from the render after it.

The index is a cache; the records stay the source of truth. It is replaced atomically and not
fsynced: a missing, truncated or damaged file (a CRC-32 covers it), or one written by another
version of reviewcast or Python, reads as an empty index, and the render rebuilds it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import logging
import marshal
import os
import stat
import struct
import sys
import time
import weakref
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from reviewcast import __version__, fsutil
from reviewcast.errors import ReviewcastError
from reviewcast.models import Chapter, EpisodeRecord

logger = logging.getLogger(__name__)

INDEX_PATH = Path(".reviewcast") / "index"
#: Bump when what the index holds, or how, changes; any other value reads as an empty index.
FORMAT = 1
#: How much older than the start of a render a file's last change must be for its entry to be
#: kept: file systems that store whole seconds (two on FAT) give writes within one second the
#: same mtime, and a file system on another machine may run a little ahead of this clock.
SETTLED_NS = 2_000_000_000

_MAGIC = b"reviewcast-index"
#: magic; CRC-32 and length of the entries (marshal); CRC-32 and length of the items, end to end
_HEADER = struct.Struct(">16sIQIQ")

#: What identifies a file's content without reading it: inode, size, mtime_ns, ctime_ns.
StatKey = tuple[int, int, int, int]
#: The fingerprint parts of one review: its file, its sidecar, its tracklists.
ReviewParts = tuple[str, str, str]
_ReviewEntry = tuple[tuple[StatKey | None, ...], ReviewParts]

_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(EpisodeRecord))
_CHAPTER_FIELDS = tuple(f.name for f in dataclasses.fields(Chapter))
#: What a render reads of every episode: planning (source, fingerprint), slugs and numbers for
#: a new episode, the order of the feed and the page (pub_date, number, slug), the feed's check
#: of guids. A record from the index has these at once; the rest waits (see IndexedRecord).
_EAGER = ("slug", "guid", "source", "pub_date", "number", "fingerprint")
_DEFERRED = tuple(name for name in _RECORD_FIELDS if name not in _EAGER)
assert set(_EAGER) <= set(_RECORD_FIELDS)  # and _record names them in this order


def stat_key(st: os.stat_result) -> StatKey:
    """The stat of a file as the index keys it."""
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def now_ns() -> int:
    """The system clock, read before a render looks at the files it may keep entries for."""
    return time.time_ns()


def settled(key: StatKey, read_at: int) -> bool:
    """Whether a file last changed safely before ``read_at``, so its entry may be kept: any
    later change would give it another mtime or ctime."""
    return max(key[2], key[3]) + SETTLED_NS <= read_at


@dataclass(slots=True)
class _Episode:
    """What this render confirmed or learnt of one episode.json: the record, and its <item>."""

    key: StatKey
    row: tuple[Any, ...] | None  # the record as stored; None until encoded
    record: EpisodeRecord
    context: str = ""  # what the item was made for (feed.item_context); "" no item
    item: bytes | memoryview = b""
    stored_at: tuple[int, int] | None = None  # where the loaded index holds the item, if unread


class ShowIndex:
    """The index of one show: loaded at the start of a render, saved when it has learnt
    something. Lookups by slug or review and stat key; a miss is always safe."""

    def __init__(self, show_root: Path) -> None:
        self.show_root = show_root
        self._code = code_key()
        # As loaded: slug → (key, row, item context, item offset, item length), and where the
        # items lie end to end in the file, read (and checked) when first asked for: a render
        # that writes no feed needs none of them.
        self._stored: dict[str, tuple[Any, ...]] = {}
        self._items: memoryview | None = memoryview(b"")  # None: not read yet
        self._items_from: tuple[BinaryIO, int, int, int] | None = None  # file, at, length, CRC
        self._reviews: dict[str, _ReviewEntry] = {}
        # What this render confirmed or learnt: what the next index holds.
        self._episodes: dict[str, _Episode] = {}
        self._kept_reviews: dict[str, _ReviewEntry] = {}
        self._changed = False

    # -- loading and saving ---------------------------------------------------------------------

    @classmethod
    def load(cls, show_root: Path) -> ShowIndex:
        """The show's index, or an empty one when it is missing, damaged or foreign."""
        index = cls(show_root)
        try:
            fh = (show_root / INDEX_PATH).open("rb")
        except OSError:  # missing, or unreadable: the same as none
            return index
        try:
            index._read(fh)
        except Exception as exc:  # whatever is wrong with a cache, it is rebuilt
            fh.close()
            logger.debug("rebuilding %s: %s", INDEX_PATH, exc)
            index._stored, index._reviews = {}, {}
            index._changed = True
        return index

    def _read(self, fh: BinaryIO) -> None:
        """Read the entries; keep ``fh`` open on the items (it is the file read, even if a
        later render replaces it)."""
        magic, crc, length, items_crc, items_length = _HEADER.unpack(fh.read(_HEADER.size))
        entries = fh.read(length)
        size = os.fstat(fh.fileno()).st_size
        if magic != _MAGIC or size != _HEADER.size + length + items_length:
            raise ValueError("not an index, or truncated")
        if zlib.crc32(entries) != crc:
            raise ValueError("damaged")
        with paused_gc():
            fmt, code, stored, reviews = marshal.loads(entries)
        if fmt != FORMAT or code != self._code:
            raise ValueError("written by another version")
        if not isinstance(stored, dict) or not isinstance(reviews, dict):
            raise TypeError("not an index")
        self._stored, self._reviews = stored, reviews
        self._items = None
        self._items_from = (fh, _HEADER.size + length, items_length, items_crc)
        weakref.finalize(self, fh.close)

    def _loaded_items(self) -> memoryview:
        """The items the loaded index holds, end to end; empty if they are damaged."""
        if self._items is None:
            assert self._items_from is not None
            fh, at, length, crc = self._items_from
            self._items_from = None
            try:
                fh.seek(at)
                data = fh.read(length)
            except OSError:
                data = b""
            finally:
                fh.close()
            if len(data) != length or zlib.crc32(data) != crc:
                logger.debug("the items in %s are damaged; making them again", INDEX_PATH)
                data = b""
            self._items = memoryview(data)
        return self._items

    def save(self, records: Sequence[EpisodeRecord]) -> None:
        """Write the index if this render learnt or lost anything: the entries it confirmed or
        learnt for ``records`` (the show's records as the feed was written from them)."""
        final = {id(r) for r in records}
        kept = {slug: e for slug, e in self._episodes.items() if id(e.record) in final}
        # Reviews this render did not plan (a render of a few named reviews) keep their
        # entries while their file is there: the next full render needs them.
        for source, review in self._reviews.items():
            if source not in self._kept_reviews and os.path.lexists(self.show_root / source):
                self._kept_reviews[source] = review
        if (
            not self._changed
            and kept.keys() == self._stored.keys()
            and self._kept_reviews.keys() == self._reviews.keys()
        ):
            return
        stored: dict[str, tuple[Any, ...]] = {}
        items: list[bytes | memoryview] = []
        offset = 0
        for slug, episode in kept.items():
            if episode.row is None:
                episode.row = _row(episode.record)
            item = self._item_of(episode)
            stored[slug] = (episode.key, episode.row, episode.context, offset, len(item))
            items.append(item)
            offset += len(item)
        if self._items_from is not None:  # no item was wanted: done with the old file
            self._items_from[0].close()
            self._items_from, self._items = None, memoryview(b"")
        entries = marshal.dumps((FORMAT, self._code, stored, self._kept_reviews))
        blob = b"".join(items)
        header = _HEADER.pack(
            _MAGIC, zlib.crc32(entries), len(entries), zlib.crc32(blob), len(blob)
        )
        target = self.show_root / INDEX_PATH
        try:
            # Not fsynced: after a power cut the CRCs find a file the rename kept but not its
            # bytes, and the next render rebuilds it.
            # fsutil.atomic_path, looked up when called: tests/test_crash.py stops a render there.
            with fsutil.atomic_path(target, durable=False) as tmp, tmp.open("wb") as fh:
                fh.write(header)
                fh.write(entries)
                fh.write(blob)
        except (OSError, ReviewcastError) as exc:
            # A full disk costs the next render its speed, never a published file.
            logger.debug("could not write %s: %s", target, exc)
            return
        self._stored, self._reviews = stored, dict(self._kept_reviews)
        self._items = memoryview(blob)
        self._changed = False

    def now(self) -> int:
        """The moment a render begins to read files it may learn from: ``now_ns()``, read
        before any of them is looked at (see ``settled``)."""
        return now_ns()

    # -- episode records ------------------------------------------------------------------------

    def record(self, slug: str, key: StatKey) -> EpisodeRecord | None:
        """The record of ``episodes/<slug>/episode.json`` if its stat is ``key``; else None."""
        stored = self._stored.get(slug)
        if stored is None:
            return None
        try:
            their_key, row, context, offset, length = stored
            if their_key != key:
                raise LookupError("the file changed")
            record = _record(row)
        except (LookupError, TypeError, ValueError):  # changed, or a row this code cannot read
            self._changed = True
            return None
        self._episodes[slug] = _Episode(key, row, record, context, stored_at=(offset, length))
        return record

    def learn_record(self, slug: str, key: StatKey, record: EpisodeRecord, read_at: int) -> None:
        """Remember ``record``, read from a file whose stat was ``key`` (taken before reading it),
        unless the file changed too recently to be trusted later."""
        if settled(key, read_at):
            self._episodes[slug] = _Episode(key, None, record)
            self._changed = True

    def item(self, record: EpisodeRecord, context: str) -> bytes | memoryview | None:
        """The feed item made for this very record object in ``context``, if there is one."""
        episode = self._episodes.get(record.slug)
        if episode is None or episode.record is not record or episode.context != context:
            return None
        return self._item_of(episode) or None

    def learn_item(self, record: EpisodeRecord, context: str, item: bytes) -> None:
        """Remember the feed item made for ``record`` (when its record is remembered)."""
        episode = self._episodes.get(record.slug)
        if episode is not None and episode.record is record:
            episode.context, episode.item, episode.stored_at = context, item, None
            self._changed = True

    def _item_of(self, episode: _Episode) -> bytes | memoryview:
        """The episode's item; read from the loaded index the first time (when the items there
        are damaged, the CRC is checked once, there is none)."""
        if episode.stored_at is not None:
            offset, length = episode.stored_at
            item = self._loaded_items()[offset : offset + length]
            episode.item = item if len(item) == length else b""
            episode.context = episode.context if episode.item else ""
            episode.stored_at = None
        return episode.item

    # -- reviews --------------------------------------------------------------------------------

    def review_parts(self, source: str, keys: tuple[StatKey | None, ...]) -> ReviewParts | None:
        """The fingerprint parts of the review ``source`` if its files' stats are ``keys``."""
        entry = self._reviews.get(source)
        if entry is None or entry[0] != keys:
            return None
        self._kept_reviews[source] = entry
        return entry[1]

    def learn_review_parts(
        self, source: str, keys: tuple[StatKey | None, ...], parts: ReviewParts, read_at: int
    ) -> None:
        """Remember a review's parts, unless one of its files changed too recently."""
        if all(k is None or settled(k, read_at) for k in keys):
            self._kept_reviews[source] = (keys, parts)
            self._changed = True
        elif source in self._reviews:
            self._changed = True  # its old entry goes


def code_key() -> str:
    """What the index's contents depend on besides the files: this code, Python, marshal."""
    digest = hashlib.sha256(f"{__version__}|{sys.version}|{marshal.version}".encode())
    here = Path(__file__).parent
    for name in ("index.py", "records.py", "models.py"):
        # A change to how records are read or stored, even without a new version number (an
        # editable install), must not leave entries made by the old code.
        with contextlib.suppress(OSError):
            digest.update((here / name).read_bytes())
    return digest.hexdigest()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Suspend the cyclic garbage collector while many objects without cycles are made:
    otherwise it walks the growing heap again and again (half the time of decoding 10,000
    records, and more when the index is unpacked)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class LongLived:
    """Takes what a render has loaded, the records above all, out of the cyclic garbage
    collector's way until the render ends (``gc.freeze``): they hold no cycles and live as
    long as the render, yet each full collection walked all of them again (a tenth of a
    second of a render that adds a review to 10,000 episodes). A process that froze objects
    itself is left as it is."""

    def __init__(self) -> None:
        self._froze = False

    def __enter__(self) -> LongLived:
        return self

    def freeze(self) -> None:
        """Everything alive now is left alone by the collector until the block ends."""
        if gc.get_freeze_count() == 0:
            gc.freeze()
            self._froze = True

    def __exit__(self, *exc: object) -> None:
        if self._froze:
            gc.unfreeze()
            self._froze = False


def is_regular(st: os.stat_result) -> bool:
    """Whether ``st`` is a regular file's: only those are keyed by their stat."""
    return stat.S_ISREG(st.st_mode)


# -- the file -----------------------------------------------------------------------------------


class IndexedRecord(EpisodeRecord):
    """A record from the index, equal to the one its file holds. The fields of ``_EAGER`` are
    set; the others are decoded from the stored row the first time one is read, as Django
    defers fields: a render that adds a review to 10,000 episodes reads them for the hundred on
    the page, and decoding 55,000 chapters it would not read was half of loading the records.
    """

    def __eq__(self, other: object) -> bool:
        # The dataclass's __eq__ wants the very same class; a record is a record.
        if not isinstance(other, EpisodeRecord):
            return NotImplemented
        return _values(self) == _values(other)

    __hash__ = EpisodeRecord.__hash__


class _Deferred:
    """A field of IndexedRecord: on first read, every deferred field is decoded into the
    instance, whose own values then hide this (it defines no __set__)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, record: IndexedRecord | None, owner: type | None = None) -> Any:
        if record is None:
            return self
        values = record.__dict__
        values.update(_deferred(values["_rest"]))
        return values[self.name]


for _name in _DEFERRED:
    setattr(IndexedRecord, _name, _Deferred(_name))


def _values(record: EpisodeRecord) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in _RECORD_FIELDS)


def _row(record: EpisodeRecord) -> tuple[Any, ...]:
    """A record as the index stores it: the eager fields (the date as ISO 8601 text), then the
    deferred ones marshalled into bytes of their own, to be unpacked only when read."""
    eager = [getattr(record, name) for name in _EAGER]
    eager[_EAGER.index("pub_date")] = record.pub_date.isoformat()
    rest = [getattr(record, name) for name in _DEFERRED]
    rest[_DEFERRED.index("chapters")] = tuple(
        tuple(getattr(c, name) for name in _CHAPTER_FIELDS) for c in record.chapters
    )
    return (*eager, marshal.dumps(tuple(rest)))


def _record(row: tuple[Any, ...]) -> EpisodeRecord:
    """The record ``_row`` stored, its deferred fields still packed.

    Rebuilt as copy and pickle rebuild a dataclass, without calling ``__init__``: its values
    were checked when the record was read from its file.
    """
    slug, guid, source, pub_date, number, fingerprint, rest = row  # _EAGER, then the rest
    if type(rest) is not bytes:
        raise ValueError("a row of another shape")
    record: IndexedRecord = _new(IndexedRecord)
    _set(
        record,
        "__dict__",
        {
            "slug": slug,
            "guid": guid,
            "source": source,
            "pub_date": _datetime(pub_date),
            "number": number,
            "fingerprint": fingerprint,
            "_rest": rest,
        },
    )
    return record


def _deferred(rest: bytes) -> dict[str, Any]:
    """The deferred fields of a stored row."""
    values = dict(zip(_DEFERRED, marshal.loads(rest), strict=True))
    chapters = []
    for chapter in values["chapters"]:
        made = _new(Chapter)
        _set(made, "__dict__", dict(zip(_CHAPTER_FIELDS, chapter, strict=True)))
        chapters.append(made)
    values["chapters"] = tuple(chapters)
    return values


_new = object.__new__
_set = object.__setattr__
_datetime = dt.datetime.fromisoformat
