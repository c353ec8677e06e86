"""Episode records: what the feed needs to know about each published episode, as episode.json.

A record lives at ``episodes/<slug>/episode.json`` in the show folder. The JSON is stable
(sorted keys, ISO 8601 datetimes, a trailing newline) so that an unchanged episode rewrites
byte-identical files and version control shows only real changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from reviewcast.errors import ReviewcastError
from reviewcast.fsutil import atomic_write_text
from reviewcast.index import ShowIndex, StatKey, is_regular, paused_gc, stat_key
from reviewcast.models import Chapter, EpisodeRecord

EPISODES_DIR = "episodes"
RECORD_NAME = "episode.json"

_FIX_HINT = (
    "Fix the file by hand, or delete it and build the show again to publish the episode anew."
)


def record_path(show_root: Path, slug: str) -> Path:
    """Where the record of the episode ``slug`` lives."""
    return show_root / EPISODES_DIR / slug / RECORD_NAME


def record_to_json(record: EpisodeRecord) -> str:
    """The record as stable JSON: sorted keys, ISO datetimes, two-space indent, final newline."""
    data = dataclasses.asdict(record)
    data["pub_date"] = record.pub_date.isoformat()
    # allow_nan=False: NaN and Infinity are not JSON, and record_from_json refuses them.
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def record_from_json(text: str, path: Path) -> EpisodeRecord:
    """Parse episode.json text; a ReviewcastError naming ``path`` says what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReviewcastError(f"not valid JSON ({exc}). {_FIX_HINT}", path=path) from exc
    if not isinstance(data, dict):
        raise ReviewcastError(
            f"an episode record must be a JSON object, not {type(data).__name__}. {_FIX_HINT}",
            path=path,
        )
    fast = _fast_record(data)
    if fast is not None:
        return fast
    problems: list[str] = []
    values = _fields_from_mapping(EpisodeRecord, data, problems, where="")
    if problems:
        raise ReviewcastError(
            "not a valid episode record: " + "; ".join(problems) + f". {_FIX_HINT}", path=path
        )
    return EpisodeRecord(**values)


def save_record(show_root: Path, record: EpisodeRecord) -> None:
    """Write ``episodes/<slug>/episode.json`` atomically: readers never see half a record."""
    if not _is_plain_name(record.slug):
        raise ReviewcastError(
            f"episode slug {record.slug!r} is not a plain folder name; "
            "slugs may not contain '/', '\\' or be '.' or '..'"
        )
    target = record_path(show_root, record.slug)
    try:
        atomic_write_text(target, record_to_json(record))
    except OSError as exc:
        raise ReviewcastError(
            f"could not write the episode record: {exc.strerror or exc}", path=target
        ) from exc


def load_records(show_root: Path, *, index: ShowIndex | None = None) -> list[EpisodeRecord]:
    """Every ``episodes/*/episode.json``, oldest first (pub_date, then number, then slug).

    A record that cannot be read is reported, never skipped: skipping would silently drop a
    published episode from the feed. ``index`` (by default the show's, read but not written)
    gives the records of files that did not change since a render read them.
    """
    return scan_records(show_root, index=index).records


@dataclass(frozen=True)
class RecordScan:
    """The show's records, and when the newest of their files last changed."""

    records: list[EpisodeRecord]
    newest_ns: int  # the latest mtime of a record file, in ns; 0 with no records


def scan_records(show_root: Path, *, index: ShowIndex | None = None) -> RecordScan:
    """``load_records``, and the latest mtime among the record files it read."""
    if index is None:
        index = ShowIndex.load(show_root)
    read_at = index.now()  # before any file is looked at: see index.settled
    folder = show_root / EPISODES_DIR
    try:
        with os.scandir(folder) as entries:
            # glob("*/episode.json") skipped hidden folders; a link to a folder is a folder.
            names = [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return RecordScan([], 0)
    except OSError as exc:
        raise ReviewcastError(
            f"could not list the episodes: {exc.strerror or exc}", path=folder
        ) from exc
    names.sort(key=lambda name: name + "/")  # the order errors were met in: by the whole path
    base = str(folder) + os.sep
    records = []
    newest = 0
    with paused_gc():  # tens of thousands of objects, no cycles among them
        for name in names:
            where = base + name + os.sep + RECORD_NAME
            try:
                st = os.stat(where)  # noqa: PTH116 - a Path per record was a tenth of the scan
            except (FileNotFoundError, NotADirectoryError):
                if os.path.lexists(where):  # a dangling link is a record that cannot be read
                    _read_record(Path(where), name)
                continue  # a folder without a record: a killed first render, not our business
            except OSError as exc:
                raise ReviewcastError(
                    f"could not read the episode record: {exc.strerror or exc}", path=Path(where)
                ) from exc
            newest = max(newest, st.st_mtime_ns)
            record = index.record(name, stat_key(st)) if is_regular(st) else None
            if record is None:
                record, key = _read_record(Path(where), name)
                index.learn_record(name, key, record, read_at)
            records.append(record)
    records.sort(key=lambda r: (_sort_date(r.pub_date), r.number, r.slug))
    return RecordScan(records, newest)


def _read_record(path: Path, slug: str) -> tuple[EpisodeRecord, StatKey]:
    """Read and check the record at ``path`` in the folder ``slug``; also its stat, taken before
    its bytes were read (a change while reading shows as another stat next time)."""
    try:
        with path.open("rb") as fh:
            key = stat_key(os.fstat(fh.fileno()))
            data = fh.read()
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReviewcastError(f"not UTF-8 text ({exc.reason}). {_FIX_HINT}", path=path) from exc
    except OSError as exc:
        raise ReviewcastError(
            f"could not read the episode record: {exc.strerror or exc}", path=path
        ) from exc
    record = record_from_json(text, path)
    if record.slug != slug:
        raise ReviewcastError(
            f"the record says its slug is {record.slug!r} but it sits in the folder "
            f"{slug!r}; rename the folder or correct 'slug' so that they agree",
            path=path,
        )
    return record, key


def find_record_for_source(records: Iterable[EpisodeRecord], source: str) -> EpisodeRecord | None:
    """The record published from the review at ``source`` (relative to the show), if any."""
    wanted = _normal_source(source)
    for record in records:
        if _normal_source(record.source) == wanted:
            return record
    return None


# -- helpers ------------------------------------------------------------------------------


def _normal_source(source: str) -> str:
    # "reviews/a.md", "./reviews/a.md" and "reviews\a.md" (written on Windows) are one review.
    if not (
        "\\" in source
        or "//" in source
        or "/." in source
        or source[:1] in ("", ".")
        or source[-1:] == "/"
    ):
        # Nothing PurePosixPath would change (no empty or "." part, no trailing slash): making
        # one per record was most of choosing a new episode's slug and number in a big show.
        return source
    return PurePosixPath(source.replace("\\", "/")).as_posix()


def _is_plain_name(slug: str) -> bool:
    return bool(slug) and slug not in (".", "..") and "/" not in slug and "\\" not in slug


def _sort_date(value: dt.datetime) -> dt.datetime:
    # Records are validated as timezone-aware, but a record built in code may not be; comparing
    # naive with aware datetimes raises, so treat naive ones as UTC for ordering.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    # get_type_hints per record and chapter was 9 of 12 s loading 10,000 records.
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


# -- the fast path ---------------------------------------------------------------------------
#
# Checking 10,000 records field by field through _convert took 0.6 s of CPU on every render.
# The common case, a record reviewcast wrote itself, takes this path: one converter per field,
# made once from the type hints. Anything it does not accept goes the slow way, which says
# exactly what is wrong; the two agree on what is valid (tests/test_records.py).

_MISS: Any = object()  # a value the fast path does not accept
_Converter = typing.Callable[[Any], Any]


def _fast_record(data: dict[str, Any]) -> EpisodeRecord | None:
    """``data`` as a record when every field is plainly valid; None: take the slow path."""
    values = _fast_values(EpisodeRecord, data)
    return None if values is None else EpisodeRecord(**values)


def _fast_values(cls: type[Any], data: dict[str, Any]) -> dict[str, Any] | None:
    converters, required = _fast_plan(cls)
    try:
        values = {name: converters[name](value) for name, value in data.items()}
    except KeyError:  # an unknown field
        return None
    if _MISS in values.values() or not required <= values.keys():
        return None
    return values


_FAST_PLANS: dict[type[Any], tuple[dict[str, _Converter], frozenset[str]]] = {}


def _fast_plan(cls: type[Any]) -> tuple[dict[str, _Converter], frozenset[str]]:
    if cls not in _FAST_PLANS:
        _FAST_PLANS[cls] = _make_fast_plan(cls)
    return _FAST_PLANS[cls]


def _make_fast_plan(cls: type[Any]) -> tuple[dict[str, _Converter], frozenset[str]]:
    hints = _hints(cls)
    converters = {f.name: _fast_converter(hints[f.name]) for f in dataclasses.fields(cls)}
    required = frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    return converters, required


def _fast_converter(hint: Any) -> _Converter:
    """A function that converts a valid JSON value to ``hint``'s type, else returns _MISS."""
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        (inner_hint,) = (o for o in typing.get_args(hint) if o is not type(None))
        inner = _fast_converter(inner_hint)
        return lambda v: None if v is None else inner(v)
    if origin is tuple:
        item = _fast_converter(typing.get_args(hint)[0])

        def items(v: Any) -> Any:
            if type(v) is not list:
                return _MISS
            out = tuple([item(x) for x in v])
            return _MISS if _MISS in out else out

        return items
    if origin is typing.Literal:
        allowed = frozenset(a for a in typing.get_args(hint) if isinstance(a, str))
        return lambda v: v if type(v) is str and v in allowed else _MISS
    if hint is Chapter:

        def chapter(v: Any) -> Any:
            values = _fast_values(Chapter, v) if type(v) is dict else None
            return _MISS if values is None else Chapter(**values)

        return chapter
    if hint is dt.datetime:

        def datetime(v: Any) -> Any:
            ok, value = _convert_datetime(v, [], where="")
            return value if ok else _MISS

        return datetime
    if hint is float:

        def number(v: Any) -> Any:
            if (type(v) is float or type(v) is int) and math.isfinite(v):
                return float(v)
            return _MISS

        return number
    if hint in (str, int, bool):  # exactly the type: JSON's true is no number here
        return lambda v: v if type(v) is hint else _MISS
    return lambda v: _MISS  # a type only the slow path knows


def _fields_from_mapping(
    cls: type[Any], data: dict[str, Any], problems: list[str], *, where: str
) -> dict[str, Any]:
    """Check ``data`` against the dataclass ``cls``; collect every problem, return the values."""
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key in sorted(set(data) - set(fields)):
        problems.append(f"unknown field '{where}{key}'")
    for name, spec in fields.items():
        if name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                problems.append(f"missing field '{where}{name}'")
            continue
        ok, value = _convert(data[name], hints[name], problems, where=f"{where}{name}")
        if ok:
            values[name] = value
    return values


def _convert(value: Any, hint: Any, problems: list[str], *, where: str) -> tuple[bool, Any]:
    """Convert one JSON value to the type ``hint``; on failure append a problem."""
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return True, None
        (inner,) = (option for option in options if option is not type(None))
        return _convert(value, inner, problems, where=where)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if not isinstance(value, list):
            problems.append(f"'{where}' should be a list, not {_json_type(value)}")
            return False, None
        items = []
        for index, item in enumerate(value):
            ok, converted = _convert(item, item_hint, problems, where=f"{where}[{index}]")
            if ok:
                items.append(converted)
        return len(items) == len(value), tuple(items)
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value in allowed and isinstance(value, str):
            return True, value
        choices = ", ".join(repr(choice) for choice in allowed)
        problems.append(f"'{where}' should be one of {choices}, not {_json_type(value)}")
        return False, None
    if hint is Chapter:
        if not isinstance(value, dict):
            problems.append(f"'{where}' should be an object, not {_json_type(value)}")
            return False, None
        before = len(problems)
        fields = _fields_from_mapping(Chapter, value, problems, where=f"{where}.")
        if len(problems) > before:
            return False, None
        return True, Chapter(**fields)
    if hint is dt.datetime:
        return _convert_datetime(value, problems, where=where)
    if hint is bool:
        if isinstance(value, bool):
            return True, value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                return True, float(value)
            problems.append(f"'{where}' should be a finite number, not {value!r}")
            return False, None
    elif hint is str:
        if isinstance(value, str):
            return True, value
    else:  # pragma: no cover - a field type this reader does not know yet
        raise TypeError(f"records.py cannot read fields of type {hint!r} ({where})")
    problems.append(f"'{where}' should be {_hint_name(hint)}, not {_json_type(value)}")
    return False, None


def _convert_datetime(value: Any, problems: list[str], *, where: str) -> tuple[bool, Any]:
    if not isinstance(value, str):
        problems.append(f"'{where}' should be an ISO 8601 date-time, not {_json_type(value)}")
        return False, None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        problems.append(f"'{where}' is not an ISO 8601 date-time: {value!r}")
        return False, None
    if parsed.tzinfo is None:
        problems.append(
            f"'{where}' has no time zone: {value!r} (add one, e.g. {parsed.isoformat()}+00:00)"
        )
        return False, None
    return True, parsed


def _hint_name(hint: Any) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}[hint]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "a list" if isinstance(value, list) else "an object"
