"""Review metadata: the fields a reader finds, front matter and sidecar keys, dates, languages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewcast.errors import ConfigError, ReviewcastError


@dataclass(frozen=True)
class Meta:
    """Metadata found so far; None means unknown."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    reviewer: str | None = None
    date: dt.date | None = None
    language: str | None = None
    bio: str | None = None
    source_url: str | None = None
    tracklist: tuple[str, ...] | None = None
    #: How to say words of this review: (written, spoken) pairs from a ``lexicon`` table.
    lexicon: tuple[tuple[str, str], ...] | None = None

    def fill(self, other: Meta) -> Meta:
        """This metadata with its unknown fields taken from ``other``."""
        changes = {
            f.name: getattr(other, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is None and getattr(other, f.name) is not None
        }
        return dataclasses.replace(self, **changes)

    def override(self, other: Meta) -> Meta:
        """This metadata with every field that ``other`` knows replaced by ``other``'s value."""
        return other.fill(self)


#: Keys accepted in front matter and sidecars, and the Meta field each sets.
KEYS: dict[str, str] = {
    "title": "title",
    "artist": "artist",
    "album": "album",
    "reviewer": "reviewer",
    "author": "reviewer",
    "date": "date",
    "language": "language",
    "lang": "language",
    "bio": "bio",
    "source_url": "source_url",
    "url": "source_url",
    "tracklist": "tracklist",
    "lexicon": "lexicon",
}

_TEXT_FIELDS = frozenset({"title", "artist", "album", "reviewer", "bio", "source_url"})


def meta_from_mapping(
    data: Mapping[str, Any],
    *,
    path: Path,
    what: str,
    error: type[ReviewcastError],
    strict: bool,
) -> Meta:
    """Meta from front matter or a sidecar; ``error`` names ``path`` and the key at fault.

    ``strict`` refuses unknown keys (sidecars exist only for reviewcast; front matter is shared
    with static site generators, whose keys are ignored).
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in data.items():
        name = KEYS.get(str(key).lower())
        if name is None:
            if strict:
                known = ", ".join(sorted(KEYS))
                problems.append(f"unknown key '{key}' (known keys: {known})")
            continue
        if value is None:
            continue
        try:
            values[name] = _coerce(name, value)
        except ValueError as exc:
            problems.append(f"{what} key '{key}' {exc}")
    if problems:
        raise error("; ".join(problems), path=path)
    return Meta(**values)


def _coerce(name: str, value: Any) -> Any:
    if name in _TEXT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"must be text, not {_kind(value)}")
        text = " ".join(str(value).split())
        return text or None
    if name == "date":
        return _coerce_date(value)
    if name == "language":
        if not isinstance(value, str):
            raise ValueError(f"must be a language code such as en or de, not {_kind(value)}")
        code = language_code(value)
        if code is None:
            raise ValueError(f"must be a language code such as en or de, not '{value}'")
        return code
    if name == "tracklist":
        return _coerce_tracklist(value)
    if name == "lexicon":
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
        ):
            raise ValueError('must be a table of words and how to say them: {"MGMT": "M G M T"}')
        return tuple((str(k), str(v)) for k, v in value.items())
    raise AssertionError(name)  # pragma: no cover - KEYS and this function name the same fields


def _coerce_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        parsed = parse_date(value, whole=True)
        if parsed is not None:
            return parsed
        raise ValueError(f"must be a date such as 2025-10-12 or October 12, 2025, not '{value}'")
    raise ValueError(f"must be a date such as 2025-10-12, not {_kind(value)}")


#: Tracklists longer than this are refused: no album a review discusses has more tracks.
MAX_TRACKS = 1000
#: Track titles longer than this are refused: the longest real ones are under 300 characters,
#: and a paragraph pasted as a title would make track detection slow for nothing.
MAX_TITLE_CHARS = 300


def tracklist_problem(count: int, longest: int) -> str | None:
    """Why a tracklist of ``count`` titles, the longest ``longest`` characters, is refused."""
    if count > MAX_TRACKS:
        return f"has {count} tracks, more than the {MAX_TRACKS} reviewcast accepts"
    if longest > MAX_TITLE_CHARS:
        return (
            f"has a title of {longest} characters, longer than the {MAX_TITLE_CHARS} a track "
            "title may have; give one title a line"
        )
    return None


def _coerce_tracklist(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        # A block string with one title a line is the natural way to paste a tracklist.
        items: list[Any] = value.splitlines()
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError(f"must be a list of track titles, not {_kind(value)}")
    # Checked before any title is copied: YAML aliases (*a) let a few bytes of front matter
    # name one long string thousands of times.
    lengths = [len(item) for item in items if isinstance(item, str)]
    problem = tracklist_problem(len(items), max(lengths, default=0))
    if problem:
        raise ValueError(problem)
    titles: list[str] = []
    for number, item in enumerate(items, 1):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ValueError(f"must be a list of track titles; item {number} is {_kind(item)}")
        title = " ".join(str(item).split())
        if title:
            titles.append(title)
    if not titles:
        raise ValueError("is empty; give the album's track titles in order, or leave it out")
    return tuple(titles)


def _kind(value: Any) -> str:
    names = {
        bool: "true/false",
        list: "a list",
        dict: "a table",
        int: "a number",
        float: "a number",
        str: "text",
        dt.date: "a date",
        dt.datetime: "a date and time",
        dt.time: "a time",
    }
    return names.get(type(value), type(value).__name__)


#: Sidecars larger than this are refused without being read whole.
MAX_SIDECAR_BYTES = 1024 * 1024


def sidecar_path(review: Path) -> Path:
    """The sidecar of a review: same folder, same stem, ``.toml``."""
    return review.with_suffix(".toml")


def load_sidecar(review: Path) -> Meta:
    """Metadata from the review's sidecar, or empty Meta when there is none; ConfigError if bad."""
    sidecar = sidecar_path(review)
    try:
        with sidecar.open("rb") as fh:
            raw = fh.read(MAX_SIDECAR_BYTES + 1)
    except FileNotFoundError:
        return Meta()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"the review's sidecar cannot be read: {reason}", path=sidecar) from None
    if len(raw) > MAX_SIDECAR_BYTES:
        raise ConfigError(
            f"the sidecar is larger than {MAX_SIDECAR_BYTES // 1024} KB; it holds only the "
            "review's metadata (title, artist, tracklist …): is it the right file?",
            path=sidecar,
        )
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(
            "the sidecar is not UTF-8 text (TOML must be UTF-8)", path=sidecar
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the sidecar is not valid TOML: {exc}", path=sidecar) from None
    return meta_from_mapping(data, path=sidecar, what="sidecar", error=ConfigError, strict=True)


# -- dates --------------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar jänner janvier",
        "february feb februar février fevrier",
        "march mar märz maerz mars",
        "april apr avril",
        "may mai",
        "june jun juni juin",
        "july jul juli juillet",
        "august aug août aout",
        "september sep sept septembre",
        "october oct oktober okt octobre",
        "november nov novembre",
        "december dec dezember dez décembre decembre",
    ),
    1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th|\.)?"
_YEAR = r"(?P<year>\d{4})"
_DATE_PATTERNS = (
    re.compile(r"\b(?P<year>\d{4})-(?P<mnum>\d{1,2})-(?P<day>\d{1,2})(?![\d-])"),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(r"\b(?P<day>\d{1,2})\.(?P<mnum>\d{1,2})\.(?P<year>\d{4})\b"),
)
_WEEKDAY = re.compile(
    r"(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day|sday|nesday|rsday|urday)?\.?,?\s*"
    r"|(montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag),?\s*",
    re.IGNORECASE,
)
_TIME_TAIL = re.compile(
    r"([T ,]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([ap]\.?m\.?)?\s*"
    r"(Z|[A-Z]{2,4}|[+-]\d{2}:?\d{2})?)?\s*"
)


def find_date(text: str) -> tuple[dt.date, int, int] | None:
    """The first valid date written in ``text`` as (date, start, end), or None."""
    found: list[tuple[int, int, dt.date]] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            month = int(groups["mnum"]) if groups.get("mnum") else _MONTHS[groups["month"].lower()]
            try:
                value = dt.date(int(groups["year"]), month, int(groups["day"]))
            except ValueError:
                continue
            found.append((match.start(), match.end(), value))
            break
    if not found:
        return None
    start, end, value = min(found, key=lambda item: item[0])
    return value, start, end


def parse_date(text: str, *, whole: bool = False) -> dt.date | None:
    """Parse "2025-10-12", "October 12, 2025", "12 October 2025" and similar; None if not a date.

    With ``whole`` the text must be just the date (a weekday before or a time after is fine).
    """
    hit = find_date(text)
    if hit is None:
        return None
    value, start, end = hit
    if whole:
        before = text[:start].strip()
        if before and not _WEEKDAY.fullmatch(before + " "):
            return None
        if not _TIME_TAIL.fullmatch(text[end:]):
            return None
    return value


# -- languages ----------------------------------------------------------------------------------

_LANGUAGE_CODE = re.compile(r"([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]{1,8})*")


def language_code(value: str) -> str | None:
    """The primary language subtag of a BCP 47 tag or locale ("en-GB", "de_DE" → "en", "de")."""
    match = _LANGUAGE_CODE.fullmatch(value.strip())
    return match.group(1).lower() if match else None
