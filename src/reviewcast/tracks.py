"""Which tracks of the album a review discusses, and where it first turns to each.

With a tracklist, every title is looked up in the review's words through a token trie (so the
work grows with the review's length, not with titles × positions), and each hit has to show
that it is used *as a title*: quoted or emphasised, capitalised like a name, next to a word
such as "track" or "song", or distinctive enough on its own. Misspellings are found by a strict
fuzzy comparison on word windows that share a word (or, for one-word titles, a prefix) with a
title, and positional references ("the opener", "track three", "der Titeltrack") by patterns.

Without a tracklist only formatting counts: quoted and emphasised phrases that look like song
titles rather than lyrics, scare quotes, the album itself or somebody else's song. A false cue
is worse than a missed one, so that mode leans hard towards precision.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rapidfuzz import fuzz
from unidecode import unidecode

from reviewcast.errors import ReviewError
from reviewcast.models import Block, Review, Track, Tracklist
from reviewcast.reviews.metadata import MAX_TRACKS, tracklist_problem

if TYPE_CHECKING:
    from reviewcast.musicbrainz import MusicBrainzClient

__all__ = ["detect_tracks", "parse_tracklist", "resolve_tracklist"]

# -- tracklist text ---------------------------------------------------------------------------

_HEADING = re.compile(
    r"^(?:track\s*-?\s*list(?:ing)?|tracks|songs|setlist|titelliste|trackliste|titel|"
    r"liste des (?:titres|morceaux)|titres|pistes|(?:side|seite|face|disc|disk|cd|lp)\s*"
    r"[a-d0-9]{1,2})\s*:?\s*$",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^[-*•·–]\s+")
# Numbering that cannot be part of a title: "1.", "01 -", "1)", "A1", "A1.", "1/", "#3".
_STRICT_NUMBER = re.compile(
    r"^(?:#?\d{1,3}|[A-Da-d]\d{1,2})(?:\s*[.):/]\s*|\s+[-–—]\s+|\s*[-–—]\s+)(?=\S)"
)
_VINYL_NUMBER = re.compile(r"^[A-Da-d]\d{1,2}\s+(?=\S)")
# "01 Init": only numbering when every line is numbered that way ("99 Luftballons" is a title).
_LOOSE_NUMBER = re.compile(r"^\d{1,3}\s+(?=\S)")
_DURATION = re.compile(
    r"\s*(?:[-–—|]\s*)?(?:[(\[]\s*\d{1,2}:\d{2}(?::\d{2})?\s*[)\]]|\d{1,2}:\d{2}(?::\d{2})?)\s*$"
)
_WRAPPING_QUOTES = {'"': '"', "“": "”", "„": "“", "«": "»", "»": "«", "'": "'", "‘": "’"}


def parse_tracklist(text: str) -> tuple[str, ...]:
    """Track titles from tracklist text: one a line, numbering, durations and headings removed."""
    lines = [_BULLET.sub("", line.strip()).strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not _HEADING.match(line)]
    loose = bool(lines) and all(
        _STRICT_NUMBER.match(line) or _VINYL_NUMBER.match(line) or _LOOSE_NUMBER.match(line)
        for line in lines
    )
    titles = []
    for line in lines:
        title = _STRICT_NUMBER.sub("", line, count=1)
        if title == line:
            title = _VINYL_NUMBER.sub("", line, count=1)
        if title == line and loose:
            title = _LOOSE_NUMBER.sub("", line, count=1)
        title = _DURATION.sub("", title).strip()
        if len(title) >= 2 and _WRAPPING_QUOTES.get(title[0]) == title[-1]:
            title = title[1:-1].strip()
        if title and any(ch.isalnum() for ch in title):
            titles.append(title)
    return tuple(titles)


# -- finding the tracklist ---------------------------------------------------------------------

_NUMBERED_LINE = re.compile(r"^\s*(?:#?\d{1,3}|[A-Da-d]\d{1,2})(?:\s*[.):/]|\s+[-–—]|\s)\s*\S")
_MAX_LIST_LINE = 120


def _is_numbered(line: str) -> bool:
    return len(line) <= _MAX_LIST_LINE and bool(_NUMBERED_LINE.match(line))


def _is_heading_line(line: str) -> bool:
    return bool(_HEADING.match(line.strip().lstrip("#").strip()))


_INLINE_NUMBER = re.compile(r"(?:^|(?<=\s))(\d{1,3})\s*[.)]\s+")


def _inline_items(text: str) -> list[str] | None:
    """Items of a numbered list written on one line, numbered 1, 2, 3… up to the text's end."""
    numbers = list(_INLINE_NUMBER.finditer(text))
    for at, opening in enumerate(numbers):
        if int(opening.group(1)) != 1:
            continue
        run = [opening]
        for number in numbers[at + 1 :]:
            if int(number.group(1)) == len(run) + 1:
                run.append(number)
        head = text[: opening.start()].strip()
        if len(run) < 3 or (head and not _is_heading_line(head)):
            continue
        ends = [number.start() for number in run[1:]] + [len(text)]
        items = [text[number.end() : end].strip() for number, end in zip(run, ends, strict=True)]
        if all(0 < len(item) <= _MAX_LIST_LINE for item in items):
            return items
    return None


def _embedded_tracklist(blocks: Sequence[Block]) -> tuple[int, tuple[str, ...]] | None:
    """A numbered tracklist at the end of the review: (index of its first block, titles)."""
    if not blocks:
        return None
    last = blocks[-1]
    lines = [line for line in last.text.splitlines() if line.strip()]
    # One block holding the whole list, maybe under its heading.
    body = lines[1:] if lines and _is_heading_line(lines[0]) else lines
    if len(body) >= 3 and all(_is_numbered(line) for line in body):
        first = len(blocks) - 1
        if body is lines and first > 0 and _is_heading_line(blocks[first - 1].text):
            first -= 1
        return first, parse_tracklist("\n".join(body))
    # Lines joined into one by a reader that reflows text: "Tracklist: 1. Init 2. Forked …".
    inline = _inline_items(last.text)
    if inline is not None:
        first = len(blocks) - 1
        if first > 0 and _is_heading_line(blocks[first - 1].text):
            first -= 1
        return first, parse_tracklist("\n".join(inline))
    # A list (its numbers perhaps dropped by the reader) right under a "Tracklist" heading.
    previous = blocks[-2].text if len(blocks) >= 2 else ""
    if (
        last.kind == "list"
        and len(body) >= 3
        and body is lines
        and _is_heading_line(previous)
        and all(len(line) <= _MAX_LIST_LINE for line in body)
    ):
        return len(blocks) - 2, parse_tracklist("\n".join(body))
    # One block per numbered line.
    first = len(blocks)
    while first > 0:
        text = blocks[first - 1].text
        if "\n" in text.strip() or not _is_numbered(text):
            break
        first -= 1
    if len(blocks) - first >= 3:
        if first > 0 and _is_heading_line(blocks[first - 1].text):
            first -= 1
        titles = parse_tracklist("\n".join(block.text for block in blocks[first:]))
        return first, titles
    return None


def resolve_tracklist(
    review: Review,
    tracklist_file: Path | None = None,
    musicbrainz: MusicBrainzClient | None = None,
) -> tuple[Review, Tracklist | None]:
    """The album's tracklist from the first source that has one, and the review without any list.

    Sources in order: the review's metadata (front matter or sidecar), ``tracklist_file``, a
    numbered list at the end of the review, MusicBrainz. A list at the end of the review is
    always taken out of the returned review's blocks, since it is not prose to be read out.
    """
    embedded = _embedded_tracklist(review.blocks)
    trimmed = review
    if embedded is not None:
        note = f"the tracklist at the end of the review ({len(embedded[1])} tracks): not read aloud"
        trimmed = dataclasses.replace(
            review, blocks=review.blocks[: embedded[0]], removed=(*review.removed, note)
        )
    if review.tracklist:
        return trimmed, Tracklist(tuple(review.tracklist), "review metadata")
    if tracklist_file is not None:
        titles = parse_tracklist(_read_tracklist_file(tracklist_file))
        if not titles:
            raise ReviewError(
                "the tracklist file has no track titles (expected one title a line)",
                path=tracklist_file,
            )
        problem = tracklist_problem(len(titles), max(len(t) for t in titles))
        if problem:
            raise ReviewError(f"the tracklist file {problem}", path=tracklist_file)
        return trimmed, Tracklist(titles, f"--tracklist {tracklist_file.name}")
    # A numbered list longer than any album is not taken for one (nor made to slow detection).
    if embedded is not None and embedded[1] and len(embedded[1]) <= MAX_TRACKS:
        return trimmed, Tracklist(embedded[1], "review")
    if musicbrainz is not None and review.artist and review.album:
        cache = review.source.with_suffix(".musicbrainz.json")
        found = musicbrainz.tracklist(review.artist, review.album, cache=cache)
        if found:
            return trimmed, Tracklist(found, "musicbrainz")
    return trimmed, None


def _read_tracklist_file(path: Path) -> str:
    """The text of a tracklist file; ReviewError when unreadable, not UTF-8 or far too big."""
    # Titles of MAX_TRACKS × MAX_TITLE_CHARS, numbered and timed, fit well within this.
    limit = 1024 * 1024
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise ReviewError(
                f"the tracklist file is larger than {limit // 1024} KB; is it the right file?",
                path=path,
            )
        return data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ReviewError(f"cannot read the tracklist file: {reason}", path=path) from error


# -- folding and tokens ------------------------------------------------------------------------

_APOSTROPHES = frozenset("'’ʼ`´")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _word_list(text: str) -> list[str]:
    return text.split()


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character folded for matching: lower case, no diacritics, punctuation as space."""
    if ch in _APOSTROPHES:
        return ""  # "Drovers'" and "Drovers" are the same word, as are "don't" and "dont"
    if not ch.isalnum():
        return " "
    if ch.isascii():
        return ch.lower()
    stripped = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if stripped.isascii() and stripped.isalnum():
        return stripped.lower()
    # ß → ss, ø → o, Þ → th; scripts without a Latin form keep their own letters.
    latin = "".join(c if c.isalnum() else " " for c in unidecode(ch).lower())
    return latin if latin.strip() else ch.casefold()


def _fold(text: str) -> str:
    """Text folded for comparison: words of lower-case ASCII letters separated by one space."""
    return " ".join("".join(_fold_char(ch) for ch in text).split())


_SMALL_WORDS = _words(
    "a an the of in on at to for and or but nor by with as from into onto upon off out over "
    "der die das den dem des ein eine einer und im am zum zur vom von mit auf aus bis "
    "le la les l un une de du d des et au aux en sur sous pour par"
)
_SENTENCE_END = frozenset(".!?…:;\n")
_OPENERS = frozenset("\"'“”„‘’‚«»‹›([{*_¿¡ \t")
_ABBREVIATIONS = _words("mr mrs ms dr st vol no nr pt feat ft vs op ca bzw vgl")


@dataclass(frozen=True)
class _Token:
    fold: str
    start: int  # span of the word in the block's text
    end: int
    capital: bool  # starts with a capital letter or a digit
    initial: bool  # first word of a sentence, where capitals say nothing
    sentence: int


def _tokens(text: str) -> list[_Token]:
    """The block's words, folded, with their spans and where sentences start."""
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for folded in _fold_char(ch):
            chars.append(folded)
            origin.append(index)
    folded_text = "".join(chars)
    tokens: list[_Token] = []
    sentence = 0
    for match in re.finditer(r"[^ ]+", folded_text):
        start = origin[match.start()]
        end = origin[match.end() - 1] + 1
        if tokens and tokens[-1].end > start:
            continue  # one source character folded into several words (unidecode of CJK)
        initial = _starts_sentence(text, start)
        if initial and tokens:
            sentence += 1
        first = text[start]
        capital = first.isupper() or first.isdigit() or first.istitle()
        tokens.append(_Token(match.group(), start, end, capital, initial, sentence))
    return tokens


def _starts_sentence(text: str, start: int) -> bool:
    index = start - 1
    while index >= 0 and text[index] in _OPENERS:
        index -= 1
    if index < 0:
        return True
    if text[index] not in _SENTENCE_END:
        return False
    if text[index] == ".":
        word = re.search(r"(\w+)$", text[max(0, index - 12) : index])
        if word and word.group(1).lower() in _ABBREVIATIONS:
            return False
    return True


# -- quotes and emphasis -----------------------------------------------------------------------

_QUOTE_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r'"([^"\n]{1,200}?)"',
        r"“([^“”\n]{1,200}?)[”“]",
        r"„([^„“”\n]{1,200}?)[“”]",
        r"«\s?([^«»\n]{1,200}?)\s?»",
        r"»([^«»\n]{1,200}?)«",
        r"‹\s?([^‹›\n]{1,200}?)\s?›",
        r"(?<!\w)‘([^‘\n]{1,200}?)’(?!\w)",
        r"‚([^‚\n]{1,200}?)‘",
        r"(?<![\w'])'(?!\s)([^'\n]{1,200}?)(?<!\s)'(?!\w)",
    )
)


def _quoted(text: str) -> list[tuple[int, int]]:
    """Spans of the text inside quotation marks, marks excluded."""
    spans: list[tuple[int, int]] = []
    for pattern in _QUOTE_PATTERNS:
        spans.extend(match.span(1) for match in pattern.finditer(text))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """A span narrowed to its first and last letter or digit."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


# -- context ---------------------------------------------------------------------------------

_SONG_WORDS = _words(
    "track tracks song songs single singles opener closer tune tunes number cut instrumental "
    "ballad interlude anthem "
    "stück stücke lied lieder nummer titel ballade rausschmeißer rausschmeisser "
    "morceau morceaux chanson chansons titre plage"
)
_ALBUM_WORDS = _words("album albums lp ep record debut platte debüt debut-album langspieler disque")
_COVER_WORDS = _words("covered covering covers coverversion reprise reprend")
_BY_WORDS = _words("by von de di du")
_LEADING_ARTICLES = _words("the die les la le l el")
_FIRST_PERSON = _words(
    "i i'm i've i'd i'll we we're we've my our you you're it's ich wir du mein meine "
    "je j'ai nous tu on"
)

_DE_WORDS = _words("und der die das nicht ist ein eine mit auf sich den dem auch wird")
_EN_WORDS = _words("the and is of to with it that this was for on are")
_FR_WORDS = _words("et le la les est une des du dans pour qui sur pas")


def _language(review: Review, tokens: Iterable[_Token]) -> str:
    """The review's language: from its metadata, else guessed from common words."""
    if review.language:
        return review.language.lower()[:2]
    counts = {"de": 0, "en": 0, "fr": 0}
    for token in tokens:
        word = token.fold
        counts["de"] += word in _DE_WORDS
        counts["en"] += word in _EN_WORDS
        counts["fr"] += word in _FR_WORDS
    best = max(counts, key=lambda key: counts[key])
    return best if counts[best] >= 3 else ""


@dataclass(frozen=True)
class _Mention:
    block: int
    start: int
    end: int
    key: str  # the folded title: one track each
    title: str
    number: int | None
    how: str
    rank: int = 0  # lower wins when mentions overlap


@dataclass
class _BlockView:
    """A block prepared for matching: its words and formatted spans."""

    index: int
    text: str
    tokens: list[_Token]
    formatted: set[tuple[int, int]]
    quoted: list[tuple[int, int]]
    emphasis: list[tuple[int, int]]
    starts: list[int] = dataclasses.field(default_factory=list)  # of tokens, for bisection

    def __post_init__(self) -> None:
        self.starts = [token.start for token in self.tokens]

    @classmethod
    def of(cls, index: int, block: Block) -> _BlockView:
        text = block.text
        quoted = [span for span in _quoted(text) if span[0] < span[1]]
        emphasis = [(start, end) for start, end in block.emphasis if 0 <= start < end <= len(text)]
        formatted = {_trim(text, start, end) for start, end in [*quoted, *emphasis]}
        return cls(index, text, _tokens(text), formatted, quoted, emphasis)

    def words(self, start: int, end: int) -> str:
        return " ".join(token.fold for token in self.tokens[start:end])


class _Context:
    """What the review says about itself: album, artist, language; shared by both modes."""

    def __init__(self, review: Review, views: list[_BlockView]) -> None:
        self.language = _language(review, (t for view in views for t in view.tokens))
        self.artist = _fold(review.artist or "")
        self.album = _fold(review.album or "")
        core = re.sub(r"\s*[(\[][^)\]]*[)\]]\s*", " ", review.album or "")
        core = re.sub(
            r"\s*[-–—:]\s*(?:original\s+)?(?:motion\s+picture\s+)?(?:soundtrack|ost|score)\s*$",
            "",
            core,
            flags=re.IGNORECASE,
        )
        self.album_core = _fold(core)
        self.album_names = {name for name in (self.album, self.album_core) if name}
        self.title = _fold(review.title or "")

    def is_artist(self, folded_name: str) -> bool:
        if not self.artist or not folded_name:
            return False
        artist_words = set(self.artist.split())
        return bool(set(folded_name.split()) & (artist_words - _LEADING_ARTICLES))


def _attributed_elsewhere(view: _BlockView, start: int, end: int, context: _Context) -> bool:
    """Whether the phrase is somebody else's song: "X" by Massive Attack, Björk's X, covered "X"."""
    text = view.text
    after = re.match(
        r"[\s\"'”’»«“‘›‹*_)\],]*\s*(\w+)\s+((?:(?:the|die|les|la|le)\s+)?[^\W\d_][\w'’.&-]*"
        r"(?:\s+[^\W\d_][\w'’.&-]*){0,3})",
        text[end : end + 80],
    )
    if after and after.group(1).lower() in _BY_WORDS:
        name = after.group(2)
        words = [w for w in name.split() if w.lower() not in _LEADING_ARTICLES]
        if words and words[0][:1].isupper():
            named = " ".join(w for w in words if w[:1].isupper())
            if not context.is_artist(_fold(named)):
                return True
    before = text[max(0, start - 60) : start].rstrip("\"'“„‘‚«»‹›*_( \t")
    possessive = re.search(r"([^\W\d_][\w.&-]*)(?:'s|’s|'|’)$", before)
    if possessive and possessive.group(1)[:1].isupper() and context.artist:
        possessor = _fold(possessive.group(1))
        if possessor not in _ALBUM_WORDS and not context.is_artist(possessor):
            return True
    preceding = re.findall(r"[\w'’-]+", before)[-2:]
    return any(word.lower() in _COVER_WORDS for word in preceding) or (
        len(preceding) == 2 and preceding[0].lower() == "cover" and preceding[1].lower() == "of"
    )


def _song_word_near(view: _BlockView, first: int, last: int) -> bool:
    """Whether a word like "track" or "song" sits within three words of tokens[first:last]."""
    tokens = view.tokens
    sentence = tokens[first].sentence
    around = [*range(max(0, first - 3), first), *range(last, min(len(tokens), last + 3))]
    for index in around:
        token = tokens[index]
        if token.sentence != sentence:
            continue
        word = view.text[token.start : token.end].lower()
        if word in _SONG_WORDS or token.fold in _SONG_WORDS:
            return True
    return False


# -- positional references ---------------------------------------------------------------------

_EN_ORDINALS = _word_list(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
)
_DE_ORDINALS = _word_list(
    "erst zweit dritt viert fünft sechst siebt acht neunt zehnt elft zwölft dreizehnt "
    "vierzehnt fünfzehnt sechzehnt siebzehnt achtzehnt neunzehnt zwanzigst"
)
_FR_ORDINALS = _word_list(
    "premi deuxième troisième quatrième cinquième sixième septième huitième neuvième dixième"
)
_CARDINALS = {
    word: number
    for words in (
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty",
        "eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn "
        "fünfzehn sechzehn siebzehn achtzehn neunzehn zwanzig",
        "un deux trois quatre cinq six sept huit neuf dix",
    )
    for number, word in enumerate(words.split(), start=1)
}
_EN_TRACK = r"(?:track|song|cut|number|tune)"
_DE_TRACK = r"(?:track|song|stück|titel|lied|nummer)"
_DE_SUFFIX = r"(?:track|song|stück|lied|nummer)"
_FR_TRACK = r"(?:morceau|titre|chanson|plage)"
_NOT_FOLLOWED = r"(?!\s+(?:to|that|with|where|which|on|of|in|i|we|you)\b)"
_UNITS = r"(?![\s-]*(?:minutes?|mins?|seconds?|secs?|times|minuten|sekunden|mal|fois)\b)"
_THE = r"(?:the|its|their|your|der|den|dem|des)\s+(?:album\s+|record\s+)?"


def _alternatives(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


def _ordinal_pattern() -> re.Pattern[str]:
    en = "|".join([*_EN_ORDINALS, r"\d{1,2}(?:st|nd|rd|th)"])
    de = "|".join(_DE_ORDINALS) + r"|\d{1,2}\."
    fr = "|".join(_FR_ORDINALS) + r"|premier|première|second|seconde"
    return _alternatives(
        rf"(?P<en>{en})\s+{_EN_TRACK}{_NOT_FOLLOWED}",
        rf"(?P<de>{de})(?:e|en|er|es|em)\s+{_DE_TRACK}",
        rf"(?P<fr>{fr})(?:er|ère)?\s+{_FR_TRACK}",
    )


_ORDINAL = _ordinal_pattern()
_NUMBERED = re.compile(
    r"\b(?:track|song|stück|titel|lied|morceau|titre|chanson|plage)"
    r"(?:\s+(?:number|nummer|numéro|no\.?|nr\.?|n°|#)\s*|\s*#|\s+)"
    r"(?P<n>\d{1,3}|" + "|".join(sorted(_CARDINALS, key=len, reverse=True)) + r")\b" + _UNITS,
    re.IGNORECASE,
)
_OPENER = _alternatives(
    _THE + "opener",
    r"(?:album|record)(?:'s|’s)?\s+opener",
    r"opening\s+" + _EN_TRACK,
    r"eröffnungs" + _DE_SUFFIX,
    r"morceau\s+d'ouverture",
)
_CLOSER = _alternatives(
    _THE + r"(?:closer|rausschmeißer|rausschmeisser)",
    r"(?:album|record)(?:'s|’s)?\s+closer",
    r"(?:closing|final|last)\s+" + _EN_TRACK + _NOT_FOLLOWED,
    r"letzte[nmrs]?\s+" + _DE_TRACK,
    r"schluss" + _DE_SUFFIX,
    r"(?:dernier|dernière)\s+" + _FR_TRACK,
)
_PENULTIMATE = _alternatives(
    r"(?:penultimate|second[- ]to[- ]last)\s+" + _EN_TRACK,
    r"vorletzte[nmrs]?\s+" + _DE_TRACK,
    r"avant-derni(?:er|ère)\s+" + _FR_TRACK,
)
_TITLE_TRACK = _alternatives(
    r"title[- ]?(?:track|song|cut|number)",
    r"titel" + _DE_SUFFIX,
    r"(?:chanson|morceau)[- ]titre",
)
_NEGATION = re.compile(
    r"\b(?:not|nicht|kein|keine|pas)\s+(?:the\s+|der\s+|das\s+|le\s+|la\s+)?$", re.IGNORECASE
)


def _title_track_phrases(view: _BlockView) -> Iterator[tuple[int, int]]:
    """Spans of "the title track" and its kin, unless negated ("not the title track")."""
    text = view.text
    for match in _TITLE_TRACK.finditer(text):
        if not _NEGATION.search(text[max(0, match.start() - 12) : match.start()]):
            yield match.start(), match.end()


def _title_track(titles: Sequence[str], context: _Context) -> int | None:
    """Index of the track that shares the album's name."""
    folded = [_fold(title) for title in titles]
    for index, title in enumerate(folded):
        if title and title in context.album_names:
            return index
    for index, title in enumerate(titles):
        core = _fold(re.sub(r"\s*[(\[][^)\]]*[)\]]\s*", " ", title))
        if core and core in context.album_names:
            return index
    return None


def _positions(
    view: _BlockView, titles: Sequence[str], context: _Context
) -> Iterator[tuple[int, int, int, str]]:
    """Positional references in one block: (start, end, 0-based track index, how)."""
    count = len(titles)
    text = view.text
    if not count:
        return
    for match in _OPENER.finditer(text):
        yield match.start(), match.end(), 0, "position"
    for match in _CLOSER.finditer(text):
        yield match.start(), match.end(), count - 1, "position"
    for match in _PENULTIMATE.finditer(text):
        if count >= 2:
            yield match.start(), match.end(), count - 2, "position"
    for match in _ORDINAL.finditer(text):
        word = (match.group("en") or match.group("de") or match.group("fr") or "").lower()
        number = _ordinal_number(word)
        if number is not None and 1 <= number <= count:
            yield match.start(), match.end(), number - 1, "position"
    for match in _NUMBERED.finditer(text):
        word = match.group("n").lower()
        number = int(word) if word.isdigit() else _CARDINALS.get(word)
        if number is not None and 1 <= number <= count:
            yield match.start(), match.end(), number - 1, "position"
    title_track = _title_track(titles, context)
    if title_track is not None:
        for start, end in _title_track_phrases(view):
            yield start, end, title_track, "title track"


def _ordinal_number(word: str) -> int | None:
    digits = re.match(r"\d+", word)
    if digits:
        return int(digits.group())
    for table in (_EN_ORDINALS, _DE_ORDINALS, _FR_ORDINALS):
        if word in table:
            return table.index(word) + 1
    if word in ("premier", "première", "premi"):
        return 1
    if word in ("second", "seconde"):
        return 2
    return None


# -- matching titles ---------------------------------------------------------------------------

_FUZZY_THRESHOLD = 90.0
_FUZZY_MIN_LETTERS = 6
_MAX_BUCKET = 25  # a word shared by more titles than this says nothing about which one


@dataclass(frozen=True)
class _Title:
    index: int
    text: str
    fold: str
    words: tuple[str, ...]
    letters: str  # letters and digits as written: "spelt like the tracklist" despite punctuation
    shared: bool  # same name as the album or the artist: needs song context
    foreign: bool  # one word with letters outside ASCII


def _fuzzy_keys(word: str) -> tuple[str, ...]:
    """Keys under which a word of a title is found despite a typo: itself and its prefix."""
    if len(word) < 2:
        return ()
    return (word, word[:4] + "…") if len(word) >= 5 else (word,)


@dataclass
class _Node:
    """A node of the trie of titles, word by word."""

    children: dict[str, _Node] = dataclasses.field(default_factory=dict)
    title: int | None = None


class _TitleIndex:
    """The tracklist pre-indexed so that lookups cost the same for 5 or 500 tracks."""

    def __init__(self, titles: Sequence[str], context: _Context) -> None:
        self.titles: list[_Title] = []
        self.trie = _Node()
        self.by_word: dict[str, list[tuple[int, int]]] = {}
        self.by_prefix: dict[str, list[int]] = {}
        seen: set[str] = set()
        for index, text in enumerate(titles):
            folded = _fold(text)
            if not folded or folded in seen:
                continue  # a repeated title ("Intro" on both discs) is cued at its first
            seen.add(folded)
            words = tuple(folded.split())
            title = _Title(
                index=index,
                text=text,
                fold=folded,
                words=words,
                letters="".join(ch for ch in text if ch.isalnum()),
                shared=folded in context.album_names or folded == context.artist,
                foreign=len(words) == 1 and any(not ch.isascii() and ch.isalpha() for ch in text),
            )
            position = len(self.titles)
            self.titles.append(title)
            node = self.trie
            for word in words:
                node = node.children.setdefault(word, _Node())
            if node.title is None:
                node.title = position
            if len(words) >= 2:
                for offset, word in enumerate(words):
                    for key in _fuzzy_keys(word):
                        self.by_word.setdefault(key, []).append((position, offset))
            elif len(folded) >= _FUZZY_MIN_LETTERS:
                self.by_prefix.setdefault(folded[:2], []).append(position)

    def exact(self, view: _BlockView) -> Iterator[tuple[int, int, _Title]]:
        """Every run of words that spells a title: (first token, end token, title)."""
        tokens = view.tokens
        for first in range(len(tokens)):
            node: _Node | None = self.trie
            for last in range(first, len(tokens)):
                node = node.children.get(tokens[last].fold) if node else None
                if node is None:
                    break
                if node.title is not None:
                    yield first, last + 1, self.titles[node.title]

    def fuzzy(self, view: _BlockView) -> Iterator[tuple[int, int, _Title]]:
        """Runs of words a typo away from a title, sharing a word or a prefix with it."""
        tokens = view.tokens
        tried: set[tuple[int, int]] = set()
        for at, token in enumerate(tokens):
            for key in _fuzzy_keys(token.fold):
                bucket = self.by_word.get(key, ())
                if len(bucket) > _MAX_BUCKET:
                    continue
                for position, offset in bucket:
                    title = self.titles[position]
                    first = at - offset
                    last = first + len(title.words)
                    if first < 0 or last > len(tokens) or (first, position) in tried:
                        continue
                    tried.add((first, position))
                    if self._close(view.words(first, last), title):
                        yield first, last, title
            if len(token.fold) >= _FUZZY_MIN_LETTERS - 1:
                for position in self.by_prefix.get(token.fold[:2], ()):
                    title = self.titles[position]
                    if abs(len(title.fold) - len(token.fold)) <= 2 and self._close(
                        token.fold, title
                    ):
                        yield at, at + 1, title

    @staticmethod
    def _close(words: str, title: _Title) -> bool:
        if words == title.fold:
            return False  # exact matches are found by the trie
        pairs = zip(words.split(), title.words, strict=False)
        if len(words.split()) != len(title.words) or any(a[0] != b[0] for a, b in pairs):
            return False  # "Ein Zurück" is not a typo of "Kein Zurück"
        return fuzz.ratio(words, title.fold) >= _FUZZY_THRESHOLD


def _album_spans(view: _BlockView, context: _Context) -> list[tuple[int, int]]:
    """Token ranges where the review names the album or the artist."""
    spans: list[tuple[int, int]] = []
    names = [name.split() for name in (*context.album_names, context.artist) if name]
    tokens = view.tokens
    for words in names:
        for first in range(len(tokens) - len(words) + 1):
            if all(tokens[first + k].fold == words[k] for k in range(len(words))):
                spans.append((first, first + len(words)))
    return spans


def _title_case(view: _BlockView, first: int, last: int) -> tuple[bool, int]:
    """Whether every significant word is capitalised, and how many words are."""
    tokens = view.tokens[first:last]
    significant = [t for t in tokens if t.fold not in _SMALL_WORDS] or tokens
    capitals = sum(1 for t in tokens if t.capital)
    return all(t.capital for t in significant), capitals


def _used_as_title(
    view: _BlockView, first: int, last: int, title: _Title, context: _Context, fuzzy: bool
) -> bool:
    """Whether these words name the track rather than just appear in a sentence."""
    tokens = view.tokens
    start, end = tokens[first].start, tokens[last - 1].end
    formatted = (start, end) in view.formatted
    song_word = _song_word_near(view, first, last)
    if _attributed_elsewhere(view, start, end, context):
        return False
    if title.shared:
        # The album's own name: a song only where the review says so.
        return song_word
    capital = tokens[first].capital
    if formatted or (song_word and (capital or fuzzy)):
        return True
    if fuzzy:
        if len(title.words) < 2:
            return False
        title_case, capitals = _title_case(view, first, last)
        return title_case and capitals >= 2 and not tokens[first].initial
    mention = "".join(ch for ch in view.text[start:end] if ch.isalnum())
    if len(title.words) >= 2:
        title_case, capitals = _title_case(view, first, last)
        if mention == title.letters:
            return True
        return title_case and (capitals >= 2 or not tokens[first].initial)
    if len(title.fold) <= 3 or title.fold.isdigit() or not capital:
        return False  # "go", "up" and "1979" need quotes or a song word
    if title.foreign and context.language == "en":
        return True  # "Hvila" is no English word, wherever it stands
    if tokens[first].initial:
        return False
    # German capitalises every noun, so a capital says nothing there.
    return context.language != "de"


_OUTER_PUNCTUATION = "\"'“”„‘’«»‹›()[]?!.,;:¿¡ "


def _name_mentions(view: _BlockView, index: _TitleIndex, context: _Context) -> Iterator[_Mention]:
    inside_album = _album_spans(view, context)

    def covered(first: int, last: int) -> bool:
        return any(a <= first and last <= b and (last - first) < (b - a) for a, b in inside_album)

    found = [(first, last, title, False) for first, last, title in index.exact(view)]
    found += [(first, last, title, True) for first, last, title in index.fuzzy(view)]
    for first, last, title, fuzzy in found:
        if covered(first, last) or not _used_as_title(view, first, last, title, context, fuzzy):
            continue
        start, end = view.tokens[first].start, view.tokens[last - 1].end
        if fuzzy:
            how = "fuzzy"
        elif " ".join(view.text[start:end].split()) == " ".join(title.text.split()).strip(
            _OUTER_PUNCTUATION
        ):
            how = "exact"
        else:
            how = "folded"
        rank = 1 if fuzzy else 0
        yield _Mention(view.index, start, end, title.fold, title.text, title.index + 1, how, rank)


# -- without a tracklist -----------------------------------------------------------------------

_MAX_CANDIDATE_WORDS = 8
_ABBREVIATION_DOT = re.compile(r"\b(?:No|Nr|Vol|Pt|St|Mr|Mrs|Dr|Op|feat|ft|vs)\.\s", re.IGNORECASE)


def _looks_like_title(phrase: str) -> bool:
    """Whether a quoted or emphasised phrase reads like a song title, not a sentence or lyric."""
    words = phrase.split()
    if not words or len(words) > _MAX_CANDIDATE_WORDS or len(phrase) > 80:
        return False
    first = phrase[0]
    if not (first.isupper() or first.isdigit()):
        return False  # scare quotes, lyrics and asides start in lower case
    inner = _ABBREVIATION_DOT.sub(" ", phrase.rstrip("?!"))
    if re.search(r"[.!?;…/]", inner) or " – " in inner or " — " in inner:
        return False
    significant = [w for w in words if _fold(w) not in _SMALL_WORDS] or words
    title_case = all(w[:1].isupper() or w[:1].isdigit() for w in significant)
    if phrase.endswith(("?", "!")) and not title_case:
        return False
    if words[0].lower().replace("’", "'").strip(",") in _FIRST_PERSON and not title_case:
        return False
    return title_case or len(words) <= 4


def _formatting_mentions(view: _BlockView, context: _Context) -> Iterator[_Mention]:
    text = view.text
    for raw_start, raw_end in [*view.quoted, *view.emphasis]:
        start, end = _trim(text, raw_start, raw_end)
        phrase = text[start:raw_end].strip().rstrip(",.;:")
        end = start + len(phrase)
        if start >= end or "\n" in phrase or not _looks_like_title(phrase):
            continue
        folded = _fold(phrase)
        if not folded or folded == context.title or folded == context.artist:
            continue
        first = bisect.bisect_left(view.starts, start)
        last = bisect.bisect_left(view.starts, end)
        if first >= last:
            continue
        names_album = any(f" {name} " in f" {folded} " for name in context.album_names)
        # The album itself ("TRON: ARES OST" too), unless the review calls it a song.
        if names_album and (
            folded not in context.album_names or not _song_word_near(view, first, last)
        ):
            continue
        if _attributed_elsewhere(view, start, end, context):
            continue
        if (
            first > 0
            and view.text[view.tokens[first - 1].start : view.tokens[first - 1].end].lower()
            in _ALBUM_WORDS
        ):
            continue
        yield _Mention(view.index, start, end, folded, phrase, None, "formatting")


# -- the detector ------------------------------------------------------------------------------


def detect_tracks(review: Review, tracklist: Tracklist | None) -> tuple[Track, ...]:
    """The tracks the review discusses, in order of first mention, each once."""
    views = [_BlockView.of(index, block) for index, block in enumerate(review.blocks)]
    context = _Context(review, views)
    mentions: list[_Mention] = []
    titles = tracklist.titles if tracklist is not None else ()
    index = _TitleIndex(titles, context) if titles else None
    for view in views:
        if index is not None:
            mentions.extend(_name_mentions(view, index, context))
            for start, end, number, how in _positions(view, titles, context):
                title = titles[number]
                mentions.append(
                    _Mention(view.index, start, end, _fold(title), title, number + 1, how)
                )
        else:
            mentions.extend(_formatting_mentions(view, context))
            if review.album and context.album:
                for start, end in _title_track_phrases(view):
                    mentions.append(
                        _Mention(
                            view.index, start, end, context.album, review.album, None, "title track"
                        )
                    )
    return tuple(_first_mentions(review.blocks, mentions))


def _first_mentions(blocks: Sequence[Block], mentions: list[_Mention]) -> Iterator[Track]:
    """Overlaps resolved (longest, then best-ranked wins), then each track at its first mention."""
    mentions.sort(key=lambda m: (m.block, m.start, -(m.end - m.start), m.rank))
    seen: set[str] = set()
    block, reach = -1, 0
    for mention in mentions:
        if mention.block == block and mention.start < reach:
            continue
        block, reach = mention.block, mention.end
        if mention.key in seen:
            continue
        seen.add(mention.key)
        text = blocks[mention.block].text
        yield Track(
            title=mention.title,
            number=mention.number,
            block=mention.block,
            start=mention.start,
            end=mention.end,
            matched=text[mention.start : mention.end],
            how=mention.how,
        )
