"""Pronunciation lexicons: how to say the names and words that speech engines get wrong.

Three layers, later ones winning: the packaged music lexicon (``voices/lexicon.toml`` inside the
package), the show's own ``voices/lexicon.toml``, and the pronunciations a review brings in its
front matter or sidecar (``Review.lexicon``). The file format is documented at the top of the
packaged file. :func:`reviewcast.speech.normalize.normalize` applies a :class:`Lexicon` before its
own rules, so an entry always beats the general rules (numbers, capitals, abbreviations).
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from reviewcast.errors import ConfigError

#: Where a show keeps its lexicon, relative to the show folder (next to its voice presets).
SHOW_LEXICON = Path("voices") / "lexicon.toml"
#: The keys an entry's table may have.
ENTRY_KEYS = ("say", "spell", "word", "phonemes", "case_sensitive")

# Characters that may stand next to an entry that begins or ends with punctuation ("!!!",
# "Sunn O)))"): spaces and the punctuation that wraps or ends a phrase. A letter may not, so
# "!!!" does not match inside "Wow!!!".
_OPENERS = "([{\"'“‘«—–-/"
_CLOSERS = ")]}\"'”’».,;:?!—–-/"


def fold_apostrophes(text: str) -> str:
    """Typographic apostrophes and single quotes as ASCII ``'``, so "N’" matches "N'"."""
    return text.translate(_APOSTROPHES)


_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})


@dataclass(frozen=True)
class Entry:
    """One lexicon entry: a written word or phrase and how to say it.

    Exactly one way of reading applies, in this order: ``phonemes`` (only for engines that take
    phoneme input), ``say`` (the words to speak instead), ``spell`` (letter by letter, "M-G-M-T"),
    ``as_word`` (read as an ordinary word, "NASA" → "Nasa"); an entry with only ``phonemes`` is
    left as written for engines without phoneme input.
    """

    written: str
    say: str | None = None
    spell: bool = False
    phonemes: str | None = None
    case_sensitive: bool = False
    as_word: bool = False

    @property
    def key(self) -> str:
        """What makes two entries the same entry: the written form, ignoring case."""
        return " ".join(fold_apostrophes(self.written).split()).casefold()

    def spoken(self, matched: str, *, phonemes: bool = False) -> str:
        """How to say ``matched`` (the text as found, e.g. "EPs" for the entry "EP")."""
        plural = ""
        if self.spell and _PLURAL.search(matched) and not _PLURAL.search(self.written):
            matched = _PLURAL.sub("", matched)
            plural = "'s"  # "E-P's": eSpeak reads a bare "E-Ps" as "E P S"
        if phonemes and self.phonemes:
            return f"[[{self.phonemes}]]"
        if self.say is not None:
            return self.say
        if self.spell:
            return "-".join(ch.upper() for ch in matched if ch.isalnum()) + plural
        if self.as_word:
            return matched[:1].upper() + matched[1:].lower()
        return matched


_PLURAL = re.compile(r"'?s$")


@dataclass(frozen=True)
class Lexicon:
    """An ordered set of entries; an entry replaces any earlier one for the same written form."""

    entries: tuple[Entry, ...] = ()

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def extended(self, entries: Iterable[Entry]) -> Lexicon:
        """This lexicon with ``entries`` added; they win over entries for the same written form."""
        merged: dict[str, Entry] = {entry.key: entry for entry in self.entries}
        for entry in entries:
            merged.pop(entry.key, None)  # re-insert, so the order says which layer it came from
            merged[entry.key] = entry
        return Lexicon(tuple(merged.values()))

    def lookup(self, written: str) -> Entry | None:
        """The entry that applies to exactly this text, or None."""
        for start, end, entry in self.matches(written):
            if start == 0 and end == len(written):
                return entry
        return None

    def matches(self, text: str) -> Iterator[tuple[int, int, Entry]]:
        """Non-overlapping (start, end, entry) for every entry found in ``text``, left to right.

        Where several entries could match at one place, the longest written form wins ("Sunn
        O)))" before "O"); ``text`` should have ASCII apostrophes (:func:`fold_apostrophes`).
        """
        if self._pattern is None:
            return
        for match in self._pattern.finditer(text):
            index = match.lastindex
            if index is None:  # pragma: no cover - every alternative is a group
                continue
            yield match.start(), match.end(), self._ordered[index - 1]

    @cached_property
    def _ordered(self) -> tuple[Entry, ...]:
        # Longest first, so that a phrase wins over a word inside it; for equal lengths, later
        # entries (higher layers) first.
        indexed = list(enumerate(self.entries))
        indexed.sort(key=lambda pair: (-len(pair[1].written), -pair[0]))
        return tuple(entry for _, entry in indexed)

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.entries:
            return None
        # Every entry starts after a non-word character; saying so up front lets the engine skip
        # the inside of words without trying each entry there.
        alternatives = "|".join(f"({_entry_pattern(entry)})" for entry in self._ordered)
        return re.compile(rf"(?<!\w)(?:{alternatives})")


def _entry_pattern(entry: Entry) -> str:
    written = " ".join(fold_apostrophes(entry.written).split())
    body = r"\s+".join(re.escape(part) for part in written.split(" "))
    if entry.spell and not _PLURAL.search(written):
        body += r"(?:'?s)?"  # "EPs", "DJ's"
    if not entry.case_sensitive:
        body = f"(?i:{body})"
    first, last = written[0], written[-1]
    if _is_word_char(first):
        before = r"(?<!\w)"
    else:
        allowed = re.escape(_OPENERS.replace(first, ""))
        before = rf"(?<![^\s{allowed}])"
    if _is_word_char(last) or entry.spell:
        after = r"(?!\w)"
    else:
        allowed = re.escape(_CLOSERS.replace(last, ""))
        after = rf"(?![^\s{allowed}])"
    return before + body + after


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


# --- loading -------------------------------------------------------------------------------


def load_lexicon(show_root: Path | None, review_entries: Sequence[tuple[str, str]] = ()) -> Lexicon:
    """The packaged lexicon, then the show's ``voices/lexicon.toml``, then the review's entries.

    Later layers win for the same written form. Raises ConfigError naming the file and the entry
    when the show's lexicon (or a review entry) is not valid.
    """
    lexicon = packaged_lexicon()
    if show_root is not None:
        path = show_root / SHOW_LEXICON
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read the lexicon: {exc}", path=path) from exc
            lexicon = lexicon.extended(parse_lexicon(text, str(path)))
    if review_entries:
        lexicon = lexicon.extended(review_lexicon(review_entries))
    return lexicon


@functools.cache
def packaged_lexicon() -> Lexicon:
    """The music lexicon that ships with reviewcast (band names, formats, stylised spellings)."""
    resource = resources.files("reviewcast") / "voices" / "lexicon.toml"
    return Lexicon(parse_lexicon(resource.read_text("utf-8"), "(built-in) lexicon.toml"))


def review_lexicon(
    pairs: Sequence[tuple[str, str]], label: str = "the review's lexicon"
) -> tuple[Entry, ...]:
    """Entries from a review's ``lexicon`` table (written → spoken); ConfigError if one is empty."""
    problems: list[str] = []
    entries: list[Entry] = []
    for written, spoken in pairs:
        written_text = _clean(written) if isinstance(written, str) else ""
        if not written_text:
            problems.append(f"entry {written!r}: the written form is empty")
        elif not isinstance(spoken, str) or not _clean(spoken):
            problems.append(f"entry {written_text!r}: say how to pronounce it (a non-empty text)")
        else:
            entries.append(Entry(written_text, say=_clean(spoken)))
    if problems:
        raise ConfigError(f"{label}: " + "; ".join(problems))
    return tuple(entries)


def parse_lexicon(text: str, label: str) -> tuple[Entry, ...]:
    """Validate a lexicon file's TOML text; every problem is reported at once, naming its entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=label) from exc
    problems: list[str] = []
    entries: list[Entry] = []
    for written, value in data.items():
        entry = _parse_entry(written, value, problems)
        if entry is not None:
            entries.append(entry)
    if problems:
        raise ConfigError("; ".join(problems), path=label)
    return tuple(entries)


def _parse_entry(written: str, value: Any, problems: list[str]) -> Entry | None:
    name = _clean(written)
    where = f"entry {written!r}"
    if not name:
        problems.append(f"{where}: the written form is empty")
        return None
    if isinstance(value, str):
        if not _clean(value):
            problems.append(f"{where}: say how to pronounce it (a non-empty text)")
            return None
        return Entry(name, say=_clean(value))
    if not isinstance(value, dict):
        problems.append(
            f"{where}: should be a text (how to say it) or a table such as "
            f"{{ spell = true }}, not {value!r}"
        )
        return None
    before = len(problems)
    unknown = [key for key in value if key not in ENTRY_KEYS]
    if unknown:
        hint = ""
        if all(isinstance(value[key], str | dict) for key in unknown):
            hint = ' (quote a written form that contains dots: "t.A.T.u." = "...")'
        problems.append(
            f"{where}: unknown key {', '.join(repr(k) for k in unknown)}; an entry may have "
            f"{', '.join(ENTRY_KEYS)}{hint}"
        )
    say = _text_field(value, "say", where, problems)
    phonemes = _text_field(value, "phonemes", where, problems)
    spell = _bool_field(value, "spell", where, problems)
    word = _bool_field(value, "word", where, problems)
    case_sensitive = _bool_field(value, "case_sensitive", where, problems)
    if phonemes is not None and ("[[" in phonemes or "]]" in phonemes):
        problems.append(f"{where}: write 'phonemes' without the [[ ]] around them")
    chosen = [k for k, on in (("say", say is not None), ("spell", spell), ("word", word)) if on]
    if len(chosen) > 1:
        problems.append(f"{where}: choose one of {' or '.join(chosen)}, not both")
    if not chosen and phonemes is None and len(problems) == before:
        problems.append(f"{where}: give 'say', 'spell = true', 'word = true' or 'phonemes'")
    if spell and not any(ch.isalnum() for ch in name):
        problems.append(f"{where}: has no letters or digits to spell")
    if len(problems) > before:
        return None
    return Entry(
        name,
        say=say,
        spell=spell,
        phonemes=phonemes,
        case_sensitive=case_sensitive,
        as_word=word,
    )


def _text_field(value: dict[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    if key not in value:
        return None
    field = value[key]
    if not isinstance(field, str) or not _clean(field):
        problems.append(f"{where}: '{key}' should be a non-empty text, not {field!r}")
        return None
    return _clean(field)


def _bool_field(value: dict[str, Any], key: str, where: str, problems: list[str]) -> bool:
    field = value.get(key, False)
    if not isinstance(field, bool):
        problems.append(f"{where}: '{key}' should be true or false, not {field!r}")
        return False
    return field


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())
