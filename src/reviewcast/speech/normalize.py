"""Text written to be read, rewritten to be heard: what a speech engine (eSpeak NG) should say.

Music writing is full of things a synthesiser reads badly: years ("1999" → "one thousand nine
hundred…"), decades ("the '90s"), track times, scores ("8.5/10"), "feat.", "LP", stylised names
("CHVRCHES", "!!!"), Roman numerals, prices, web addresses, emoji, and punctuation that a reader
hears as a pause but the engine does not (em dashes, ellipses, parentheses).

:func:`normalize` takes one piece of text and returns the text to give the engine. It is pure,
deterministic and fast. The order of work:

1. tidy the characters (Unicode forms, apostrophes, invisible characters);
2. set aside what must not be touched by the later rules, already in its spoken form: web
   addresses, e-mail addresses, and every lexicon match (:mod:`reviewcast.speech.lexicon`);
3. the language's rules, most specific first (stars, prices, scores, times, decades, dates,
   ordinals, abbreviations, Roman numerals, years, then any number left), then pauses, then
   capitals (words lower-cased, initialisms spelled), then emoji and other symbols dropped;
4. put the set-aside text back and tidy the punctuation.

Spelled letters are joined with hyphens ("M-G-M-T", "E-P's"): eSpeak then says them as one
initialism, and says "A" as the letter, where spaces would make it the article "uh". For the
same reason a lone letter A that names a letter ("side A opens", "A minor") is written "A-".

English gets every rule. German gets those eSpeak's German voice needs: it reads digits itself,
well, except years before 2000, ordinals, track times, scores and cents, so those are rewritten
and other numbers stay digits. Other languages get the lexicon, web addresses and punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from num2words import num2words  # type: ignore[import-untyped, unused-ignore]

from reviewcast.speech.lexicon import Lexicon, fold_apostrophes, packaged_lexicon

__all__ = ["base_language", "normalize"]


def normalize(
    text: str,
    *,
    language: str = "en",
    lexicon: Lexicon | None = None,
    phonemes: bool = False,
) -> str:
    """Written ``text`` → the text to give a speech engine.

    ``lexicon`` defaults to the packaged music lexicon (pass ``Lexicon()`` for none).
    ``phonemes=True`` writes lexicon entries that have phonemes as eSpeak's ``[[...]]`` phoneme
    input; only for an engine that calls eSpeak with its espeakPHONEMES flag.
    """
    if lexicon is None:
        lexicon = packaged_lexicon()
    lang = base_language(language)
    prepared = _prepare(text)
    work = _Work(lang)
    body = _set_aside_addresses(prepared, work)
    body = _set_aside_lexicon(body, lexicon, work, phonemes)
    for rule in _RULES.get(lang, _NEUTRAL_RULES):
        body = rule(body, work)
    spoken = work.restore(body)
    if lang == "en":
        # After the set-aside text is back: "side A" may be followed by a name or an address.
        spoken = _letter_a_en(spoken, work)
    spoken = _tidy(spoken)
    if _has_letters(text) and not _has_letters(spoken):
        # Never hand the engine nothing for a text that had words: say it as written.
        written = _CONTROL.sub(" ", _SLOT.sub(" ", unicodedata.normalize("NFC", text)))
        written = re.sub(r"[\[\]]", "", written)  # never phoneme input by accident
        spoken = _tidy(_drop_symbols(written, work))
    return spoken


def base_language(language: str) -> str:
    """'en-GB', 'en_US', 'EN' → 'en'; the part before any region."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] or "en"


# --- the work in progress ------------------------------------------------------------------

# Set-aside text is replaced by one character from Unicode's supplementary private use area;
# no rule matches it (it is neither a letter, a digit, a space nor punctuation) and input text
# has those characters removed first.
_SLOT_BASE = 0xF0000
_SLOT = re.compile("[\U000f0000-\U000ffffd]")


@dataclass
class _Work:
    language: str

    def __post_init__(self) -> None:
        self.slots: list[str] = []

    def keep(self, spoken: str) -> str:
        """A placeholder for ``spoken``, which later rules will not touch."""
        self.slots.append(spoken)
        return chr(_SLOT_BASE + len(self.slots) - 1)

    def restore(self, text: str) -> str:
        return _SLOT.sub(lambda m: self.slots[ord(m.group()) - _SLOT_BASE], text)


Rule = Callable[[str, _Work], str]


# --- 1. characters ---------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xFE0E, 0xFE0F, 0x20E3, 0x00AD], None
)
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = _SLOT.sub(" ", text)
    text = text.translate(_INVISIBLE)
    text = _SPACES.sub(" ", text)
    text = _CONTROL.sub(" ", text).replace("\r\n", "\n").replace("\r", "\n")
    # Styled letters (𝐁𝐨𝐥𝐝, ｆｕｌｌ-width, ligatures) as plain ones; other compatibility forms
    # (½, ², ™) stay for the rules that read them.
    text = "".join(_plain_letter(ch) for ch in text)
    text = fold_apostrophes(text)
    return text.replace("″", '"').replace("…", "...")


def _plain_letter(char: str) -> str:
    if char.isascii() or not unicodedata.category(char).startswith("L"):
        return char
    plain = unicodedata.normalize("NFKC", char)
    return plain if plain.isascii() and plain.isalpha() else char


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


# --- 2. set-aside text: addresses and the lexicon ------------------------------------------

_TLDS = (
    "com|org|net|edu|gov|info|biz|io|fm|co|uk|de|at|ch|fr|nl|be|es|it|se|no|dk|fi|ie|pl|pt|"
    "ru|jp|au|ca|us|nz|br|mx|in|me|tv|cc|ly|app|dev|xyz|blog|music|band|live|online|site|"
    "audio|radio|rocks|club|eu|is"
)
# Without a scheme, only lower-case top-level domains count: "the end.It was" is a typo, not a site.
_LABEL = r"[^\W_][\w-]*"  # a host name's part: starts with a letter or digit
_URL = re.compile(
    rf"(?<![\w@.-])(?:(?P<scheme>(?i:https?)://)(?P<host1>{_LABEL}(?:\.{_LABEL})*)"
    rf"|(?P<host2>(?:www\.)?{_LABEL}(?:\.{_LABEL})*\.(?:{_TLDS}))(?![\w-]))"
    r"(?P<port>:\d+)?(?P<path>/[^\s<>\"')\]]*)?"
)
_EMAIL = re.compile(
    rf"(?<![\w.])(?P<user>[\w.+-]+)@(?P<host>{_LABEL}(?:\.{_LABEL})*\.(?:{_TLDS}|[a-z]{{2,}}))\b",
    re.IGNORECASE,
)
_DOT = {"en": "dot", "de": "Punkt"}
_AT = {"en": "at", "de": "at"}
_SLASH = {"en": "slash", "de": "Slash"}
_SAID_AS_WORDS = {"com", "org", "net", "gov", "co", "info", "live", "music", "band", "blog"}


def _set_aside_addresses(text: str, work: _Work) -> str:
    text = _EMAIL.sub(lambda m: work.keep(_say_email(m, work.language)), text)

    def url(match: re.Match[str]) -> str:
        host = match.group("host1") or match.group("host2")
        path = match.group("path") or ""
        bare = path.rstrip(".,;:!?")  # a full stop after an address ends the sentence
        return work.keep(_say_url(host, bare, work.language)) + path[len(bare) :]

    return _URL.sub(url, text)


def _say_email(match: re.Match[str], lang: str) -> str:
    user = _say_host(match.group("user"), lang)
    return f"{user} {_AT.get(lang, '@')} {_say_host(match.group('host'), lang)}"


def _say_url(host: str, path: str, lang: str) -> str:
    if host.lower().startswith("www."):
        host = host[4:]
    spoken = _say_host(host, lang)
    segments = [s for s in path.split("/") if s]
    # One short word of a path is worth saying ("radiohead.com/tour"); anything longer is a
    # page's address nobody wants read out, so only the site is said.
    if len(segments) == 1 and re.fullmatch(r"[A-Za-z][A-Za-z-]{0,15}", segments[0]):
        if lang in _DOT:
            return f"{spoken} {_SLASH[lang]} {segments[0].lower()}"
        return f"{spoken}/{segments[0]}"
    return spoken


def _say_host(host: str, lang: str) -> str:
    labels = [label for label in re.split(r"\.", host) if label]
    if lang not in _DOT:
        return ".".join(labels)
    return f" {_DOT[lang]} ".join(_say_label(label, lang) for label in labels)


def _say_label(label: str, lang: str) -> str:
    if label.isdigit():
        return _digits(label, lang)
    lower = label.lower()
    if lower in _SAID_AS_WORDS:
        return lower
    if lower.isalpha() and (len(lower) <= 2 or not re.search(r"[aeiouy]", lower)):
        return "-".join(lower.upper())  # "uk" → "U-K", "bbc" → "B-B-C"
    return lower


def _set_aside_lexicon(text: str, lexicon: Lexicon, work: _Work, phonemes: bool) -> str:
    out: list[str] = []
    position = 0
    for start, end, entry in lexicon.matches(text):
        out.append(text[position:start])
        out.append(work.keep(entry.spoken(text[start:end], phonemes=phonemes)))
        position = end
    out.append(text[position:])
    return "".join(out)


# --- numbers ---------------------------------------------------------------------------------


def _cardinal(n: int, lang: str) -> str:
    """Number words: "one hundred twenty" (American, no "and"), "hundertzwanzig"."""
    if n >= 10**15:
        return _digits(str(n), lang)
    words = str(num2words(n, lang=_n2w_lang(lang)))
    if lang == "en":
        words = words.replace(" and ", " ")
    return words.replace(",", "")


def _digits(digits: str, lang: str) -> str:
    return " ".join(_cardinal(int(d), lang) for d in digits)


def _number(text: str, lang: str) -> str:
    """ "1,500" → "one thousand five hundred"; "8.5" → "eight point five"."""
    whole, _, fraction = text.replace(",", "").partition(".")
    spoken = _cardinal(int(whole), lang) if whole else _cardinal(0, lang)
    if fraction:
        spoken += f" {_POINT.get(lang, 'point')} {_digits(fraction, lang)}"
    return spoken


_POINT = {"en": "point", "de": "Komma"}


def _year(n: int, lang: str) -> str:
    """1999 → "nineteen ninety-nine"; 2005 → "two thousand five"."""
    if lang == "en" and 2000 <= n <= 2009:
        return _cardinal(n, lang)  # num2words says "two thousand and five"
    return str(num2words(n, lang=_n2w_lang(lang), to="year")).replace(" and ", " ")


def _ordinal(n: int, lang: str) -> str:
    return (
        str(num2words(n, lang=_n2w_lang(lang), to="ordinal")).replace(" and ", " ").replace(",", "")
    )


def _n2w_lang(lang: str) -> str:
    return lang if lang in ("en", "de") else "en"


def _capitalised_like(original: str, spoken: str) -> str:
    return spoken[:1].upper() + spoken[1:] if original[:1].isupper() else spoken


def _ends_sentence(match: re.Match[str]) -> bool:
    """Whether the full stop of an abbreviation ("U.S.", "p.m.") also ends the sentence.

    Only at the end of the text or before a word that usually starts a sentence: before other
    capitals it is a name's initial ("J.J. Cale").
    """
    rest = match.string[match.end() :]
    if not rest.strip() or rest.lstrip(" ").startswith("\n"):
        return True
    following = re.match(r"\s+[\"“]?([A-Z][a-z']*)\b", rest)
    return following is not None and following[1] in _SENTENCE_STARTERS


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_SENTENCE_STARTERS = _word_set(
    "A An The It It's Its They Their There Then This That These Those He She We I I'm You But "
    "And So Yet Still In On At As After Before When While Now Here Even And Or If"
)


def _at_sentence_start(text: str, position: int) -> bool:
    before = text[:position].rstrip(" \"'“(")
    return not before or before[-1] in ".!?\n"


# A number standing alone: not part of a word ("U2", "MP3"), a time ("2:15") or a path.
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_ALONE_BEFORE = r"(?<![\w.,:/\\$€£¥#])"
_ALONE_AFTER = r"(?![\w%]|[.,:/]\d)"


# --- 3. English ------------------------------------------------------------------------------


_STARS = re.compile(r"(★+)(½)?(☆*)|(?<![★☆])(½)(☆+)")


def _stars(text: str, work: _Work) -> str:
    def spoken(match: re.Match[str]) -> str:
        filled = len(match.group(1) or "")
        half = bool(match.group(2) or match.group(4))
        empty = len(match.group(3) or match.group(5) or "")
        total = filled + half + empty
        if work.language == "de":
            value = _cardinal(filled, "de") if filled else ""
            value = f"{value}einhalb" if half and filled else ("einhalb" if half else value)
            if empty:
                return f" {value} von {_cardinal(total, 'de')} Sternen "
            if value == "eins":
                return " ein Stern "
            return f" {value} Sterne "
        value = _cardinal(filled, "en") if filled else ""
        if half:
            value = f"{value} and a half" if filled else "a half"
        if empty:
            return f" {value} out of {_cardinal(total, 'en')} stars "
        return f" {value} {'star' if value == 'one' else 'stars'} "

    return _STARS.sub(spoken, text)


_CURRENCY_EN = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "sen", "sen"),
}
_SCALES = {
    "k": "thousand",
    "thousand": "thousand",
    "m": "million",
    "million": "million",
    "bn": "billion",
    "billion": "billion",
}
_MONEY_BEFORE = re.compile(
    r"(?<![\w])([$€£¥])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?"
    r"(?:\s?(thousand|million|billion|bn|m|k)\b)?(?![\d.,]\d)"
)
_MONEY_AFTER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?\s?([€£$])(?!\w)")


_MONEY_RANGE = re.compile(
    r"(?<![\w])([$€£¥])\s?(\d{1,7})\s?(?:-|–|to)\s?(?:[$€£¥])?\s?(\d{1,7})(?![\w]|[.,]\d)"
)


def _money_en(text: str, work: _Work) -> str:
    def said(symbol: str, whole: str, cents: str | None, scale: str | None) -> str:
        one, many, cent, cents_word = _CURRENCY_EN[symbol]
        if scale:
            amount = _number(whole + (f".{cents}" if cents else ""), "en")
            return f"{amount} {_SCALES[scale.lower()]} {many}"
        units = int(whole.replace(",", ""))
        hundredths = int(cents.ljust(2, "0")) if cents else 0
        if units == 0 and hundredths:
            return f"{_cardinal(hundredths, 'en')} {cent if hundredths == 1 else cents_word}"
        amount = _cardinal(units, "en")
        spoken = f"{amount} {one if units == 1 else many}"
        if hundredths:
            spoken += f" {_cardinal(hundredths, 'en')}"
        return spoken

    text = _MONEY_RANGE.sub(
        lambda m: f"{_cardinal(int(m[2]), 'en')} to {said(m[1], m[3], None, None)}", text
    )
    text = _MONEY_BEFORE.sub(lambda m: said(m[1], m[2], m[3], m[4]), text)
    return _MONEY_AFTER.sub(lambda m: said(m[3], m[1], m[2], None), text)


_PERCENT = re.compile(_ALONE_BEFORE + rf"({_NUM})\s?%")


def _percent_en(text: str, work: _Work) -> str:
    return _PERCENT.sub(lambda m: f"{_number(m[1], 'en')} percent", text)


_SCORE = re.compile(_ALONE_BEFORE + r"(\d{1,3}(?:[.,]\d)?)\s?/\s?(5|10|20|100)(?![\w/]|[.,]\d)")
_ROUND_THE_CLOCK = re.compile(r"(?<![\w/])24/7(?![\w/])")
_METRE = re.compile(r"(?<![\w/])(\d{1,2})/(2|4|8|16)(?=\s+time\b)")


def _scores_en(text: str, work: _Work) -> str:
    text = _ROUND_THE_CLOCK.sub("twenty-four seven", text)
    text = _METRE.sub(lambda m: f"{_cardinal(int(m[1]), 'en')}-{_cardinal(int(m[2]), 'en')}", text)
    return _SCORE.sub(lambda m: f"{_number(m[1], 'en')} out of {_cardinal(int(m[2]), 'en')}", text)


_CLOCK = re.compile(r"(?<![\w:.])(\d{1,2})(?::([0-5]\d))?\s?([AaPp])\.?\s?[Mm]\.?(?!\w)")
_TIME = re.compile(r"(?<![\w:.])(\d{1,2}):([0-5]\d)(?::([0-5]\d))?(?![\w:]|\.\d)")
_DURATION_CUE = re.compile(
    r"(?:\b(?:for|runs?|running|ran|lasts?|lasting|lasted|clocks?\s+in\s+at|clocking\s+in\s+at|"
    r"clocked\s+in\s+at|length\s+of|runtime\s+of|running\s+time\s+of|duration\s+of|"
    r"long\s+at)\s*)$",
    re.IGNORECASE,
)


def _times_en(text: str, work: _Work) -> str:
    def clock(match: re.Match[str]) -> str:
        hour = int(match[1])
        if not 1 <= hour <= 12:
            return match[0]
        spoken = _cardinal(hour, "en")
        if match[2] and int(match[2]):
            spoken += " " + _minutes_past(int(match[2]))
        spoken = f"{spoken} {match[3].upper()}-M"
        # "at 9 p.m." ending a sentence: the abbreviation's full stop was the sentence's too.
        return spoken + "." if match[0].endswith(".") and _ends_sentence(match) else spoken

    def time(match: re.Match[str]) -> str:
        first, second, third = int(match[1]), int(match[2]), match[3]
        if third is not None:
            return _duration_en(first, second, int(third))
        before, after = match.string[: match.start()], match.string[match.end() :]
        alone_in_brackets = re.search(r"\(\s*$", before) and re.match(r"\s*\)", after)
        if alone_in_brackets or _DURATION_CUE.search(before):
            return _duration_en(0, first, second)
        if second == 0:
            return _count(first, "minute", "minutes")
        if first == 0:
            return _count(second, "second", "seconds")
        return f"{_cardinal(first, 'en')} {_minutes_past(second)}"

    text = _CLOCK.sub(clock, text)
    return _TIME.sub(time, text)


def _minutes_past(minutes: int) -> str:
    words = _cardinal(minutes, "en")
    return f"oh-{words}" if minutes < 10 else words


def _count(n: int, singular: str, plural: str) -> str:
    return f"{_cardinal(n, 'en')} {singular if n == 1 else plural}"


def _duration_en(hours: int, minutes: int, seconds: int) -> str:
    parts = [
        _count(value, unit, unit + "s")
        for value, unit in ((hours, "hour"), (minutes, "minute"), (seconds, "second"))
        if value
    ]
    return " ".join(parts) or "zero seconds"


# 7", 10" and 12" are record sizes; a quote right before the number opens a title ("12").
_RECORD = re.compile(r"(?<![\w\"“'])(7|10|12)(?:\"|”)(?=[\s,.;:!?)s]|$)")
_RANGE = re.compile(
    r"(?<![\w.,:/-])(\d{1,3}(?:,\d{3})+|\d+)\s?(?:–|-(?=\d))\s?(\d{1,3}(?:,\d{3})+|\d+)(?![\w.,:/-]|\.\d)"
)


def _records_and_ranges_en(text: str, work: _Work) -> str:
    text = _RECORD.sub(lambda m: f"{_cardinal(int(m[1]), 'en')}-inch", text)

    def range_(match: re.Match[str]) -> str:
        joiner = "and" if re.search(r"\bbetween\s*$", match.string[: match.start()], re.I) else "to"
        return f"{match[1]} {joiner} {match[2]}"

    return _RANGE.sub(range_, text)


_DECADE_SHORT = re.compile(r"(?<![\w'])'?(\d)0'?s\b")
_DECADE_LONG = re.compile(r"(?<![\w.,])(1[1-9]|20)(\d)0'?s\b")


def _decades_en(text: str, work: _Work) -> str:
    def short(match: re.Match[str]) -> str:
        tens = int(match[1])
        if tens == 0:
            return "two-thousands"
        if tens == 1:
            return "twenty-tens"
        return _pluralise(_cardinal(tens * 10, "en"))

    def long(match: re.Match[str]) -> str:
        year = int(match[1] + match[2] + "0")
        words = _year(year, "en").split()
        return "-".join([*words[:-1], _pluralise(words[-1])])

    text = _DECADE_LONG.sub(long, text)
    return _DECADE_SHORT.sub(short, text)


def _pluralise(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_SHORT = {
    "Jan": 0,
    "Feb": 1,
    "Mar": 2,
    "Apr": 3,
    "Jun": 5,
    "Jul": 6,
    "Aug": 7,
    "Sep": 8,
    "Sept": 8,
    "Oct": 9,
    "Nov": 10,
    "Dec": 11,
}
_MONTH = "|".join([*_MONTHS_EN, *(rf"{short}\.?" for short in _MONTH_SHORT)])
_MONTH_DAY = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?![:.,]\d|\s?%)")
_DAY_MONTH = re.compile(rf"(?<![\w.,:/])(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})(?![\w])")


def _month(written: str) -> str:
    short = written.rstrip(".")
    return _MONTHS_EN[_MONTH_SHORT[short]] if short in _MONTH_SHORT else short


def _dates_en(text: str, work: _Work) -> str:
    """ "Sept. 12" → "September twelfth"; "5 May" → "the fifth of May"."""

    def month_day(match: re.Match[str]) -> str:
        day = int(match[2])
        if not 1 <= day <= 31:
            return match[0]
        return f"{_month(match[1])} {_ordinal(day, 'en')}"

    def day_month(match: re.Match[str]) -> str:
        day = int(match[1])
        if not 1 <= day <= 31:
            return match[0]
        the = "" if re.search(r"\bthe\s+$", match.string[: match.start()], re.I) else "the "
        return f"{the}{_ordinal(day, 'en')} of {_month(match[2])}"

    text = _MONTH_DAY.sub(month_day, text)
    return _DAY_MONTH.sub(day_month, text)


_ORDINAL = re.compile(r"(?<![\w.,])(\d+)(?:st|nd|rd|th|ST|ND|RD|TH)\b")
_NUMBER_SIGN = re.compile(r"(?<![\w#])#\s?(\d+)\b")
_NUMERO = re.compile(r"\b(No|NO|no|Nr|nr)\.\s?(?=\d)")


def _ordinals_en(text: str, work: _Work) -> str:
    text = _ORDINAL.sub(lambda m: _ordinal(int(m[1]), "en"), text)
    text = _NUMBER_SIGN.sub(lambda m: f"number {m[1]}", text)
    return _NUMERO.sub(lambda m: _capitalised_like(m[1], "number") + " ", text)


@dataclass(frozen=True)
class _Abbreviation:
    pattern: re.Pattern[str]
    spoken: str
    titled: (
        bool  # keeps the written capital ("Vol." → "Volume"); else capital only to start a sentence
    )


def _abbreviations(pairs: list[tuple[str, str, bool]]) -> list[_Abbreviation]:
    return [_Abbreviation(re.compile(p), s, t) for p, s, t in pairs]


_END = r"(?=[\s,;:)]|$)"
_ABBREVIATIONS_EN = _abbreviations(
    [
        (r"(?<![\w.-])(?<!\ba )(?<!\bthe )[Ff]eat\.(?=\s)", "featuring", False),
        (r"(?<![\w.-])(?<!\d )(?<!\d)[Ff][Tt]\.(?=\s)", "featuring", False),
        (r"(?<![\w.-])[Vv][Ss]\.?(?=\s)", "versus", False),
        (r"(?<![\w.-])[Ee]\.\s?[Gg]\." + _END, "for example", False),
        (r"(?<![\w.-])[Ii]\.\s?[Ee]\." + _END, "that is", False),
        (r"(?<![\w.-])[Cc]f\." + _END, "compare", False),
        (r"(?<![\w.-])[Aa]pprox\." + _END, "approximately", False),
        (r"(?<![\w.-])(?:[Aa]\.[Kk]\.[Aa]\.|[Aa][Kk][Aa])(?!\w)", "also known as", False),
        (r"(?<![\w.-])[Bb]/[Ww](?!\w)", "backed with", False),
        (r"(?<![\w.-])[Ww]/[Oo](?!\w)", "without", False),
        (r"(?<![\w.-])[Ww]/(?=\s)", "with", False),
        (r"(?<![\w.-])[Pp]rod\.(?=\s+by\b)", "produced", False),
        (r"(?<![\w.-])[Ii]ncl\." + _END, "including", False),
        (r"(?<![\w.-])(?:ca|c)\.\s?(?=\d)", "circa ", False),
        (r"(?<![\w.-])Jr\." + r"(?=\s|$|[,;:)])", "Junior", True),
        (r"(?<![\w.-])Sr\." + r"(?=\s|$|[,;:)])", "Senior", True),
        (r"(?<![\w.-])[Vv]ol\.\s?", "volume ", True),
        (r"(?<![\w.-])[Pp]t\.\s?", "part ", True),
        (r"(?<![\w.-])Op\.\s?(?=\d)", "Opus ", True),
    ]
)
_ETC = re.compile(r"(?<![\w.-])[Ee]tc\b\.?")


def _apply_abbreviations(text: str, table: list[_Abbreviation]) -> str:
    for abbreviation in table:

        def spoken(match: re.Match[str], a: _Abbreviation = abbreviation) -> str:
            if a.titled or _at_sentence_start(match.string, match.start()):
                return _capitalised_like(match[0], a.spoken)
            return a.spoken

        text = abbreviation.pattern.sub(spoken, text)
    return text


def _abbreviations_en(text: str, work: _Work) -> str:
    text = _apply_abbreviations(text, _ABBREVIATIONS_EN)

    def etc(match: re.Match[str]) -> str:
        rest = match.string[match.end() :]
        spoken = "et cetera"
        if _at_sentence_start(match.string, match.start()):
            spoken = "Et cetera"
        # "etc." that ends a sentence keeps its full stop.
        if match[0].endswith(".") and (not rest.strip() or re.match(r"\s+[A-Z\"“]", rest)):
            spoken += "."
        return spoken

    return _ETC.sub(etc, text)


_ROMAN_VALUE = re.compile(r"^(X{0,3})(IX|IV|V?I{0,3})$")
_ROMAN_AFTER_KEYWORD = re.compile(
    r"\b(Part|part|Volume|volume|Vol|Chapter|chapter|Act|Book|Episode|Phase|Movement|Symphony|"
    r"Suite|Opus|Teil|Kapitel|Akt|Folge)\s+([IVX]{1,6})\b(?!['\w-])"
)
_ROMAN_AFTER_NAME = re.compile(r"\b([A-Z][a-z]+)\s+([IVX]{2,6})\b(?!['\w-])")
_ROMAN_NOT_ALONE = {"XX", "XXX"}


def _roman(text: str, lang: str) -> str:
    def value(numeral: str) -> int:
        match = _ROMAN_VALUE.match(numeral)
        if not match or not numeral:
            return 0
        tens = len(match[1]) * 10
        ones = {"IX": 9, "IV": 4}.get(match[2])
        if ones is None:
            ones = (5 if match[2].startswith("V") else 0) + match[2].count("I")
        return tens + ones

    def keyword(match: re.Match[str]) -> str:
        n = value(match[2])
        return f"{match[1]} {_cardinal(n, lang)}" if n else match[0]

    def name(match: re.Match[str]) -> str:
        n = value(match[2])
        if n < 2 or match[2] in _ROMAN_NOT_ALONE:
            return match[0]
        return f"{match[1]} {_cardinal(n, lang)}"

    text = _ROMAN_AFTER_KEYWORD.sub(keyword, text)
    return _ROMAN_AFTER_NAME.sub(name, text)


def _roman_en(text: str, work: _Work) -> str:
    return _roman(text, "en")


_YEAR = re.compile(r"(?<![\w.,:/$€£¥-])(1[1-9]\d\d|20\d\d)(?![\w%]|[.,:/]\d)")
# A four-digit number followed by a plural noun is a count ("1200 takes"), not a year.
_COUNTED = re.compile(
    r"\s+(?:(?!(?:was|has|is|as|its|this|does|goes|gets|plus|versus|less|across|thus|always|"
    r"perhaps|unless|yes|besides)\b)[a-z]{2,}s|people|men|women|children)\b"
)


def _years_en(text: str, work: _Work) -> str:
    def year(match: re.Match[str]) -> str:
        if _COUNTED.match(match.string, match.end()):
            return match[0]
        return _year(int(match[1]), "en")

    return _YEAR.sub(year, text)


_UNITS_EN = {
    "bpm": ("B-P-M", "B-P-M"),
    "rpm": ("R-P-M", "R-P-M"),
    "khz": ("kilohertz", "kilohertz"),
    "hz": ("hertz", "hertz"),
    "db": ("decibel", "decibels"),
    "kbps": ("kilobits per second",) * 2,
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "k": ("thousand", "thousand"),
}
_UNIT = re.compile(
    _ALONE_BEFORE + rf"({_NUM})\s?(bpm|BPM|rpm|RPM|kHz|Hz|dB|kbps|mins?|secs?|hrs?|k)\b\.?(?!\w)"
)
_PLAIN_NUMBER = re.compile(_ALONE_BEFORE + rf"({_NUM})" + _ALONE_AFTER)


_FRACTIONS_EN = {
    "½": ("a half", "half"),
    "⅓": ("a third", "a third"),
    "⅔": ("two thirds", "two thirds"),
    "¼": ("a quarter", "a quarter"),
    "¾": ("three quarters", "three quarters"),
}
_FRACTION = re.compile(_ALONE_BEFORE + r"(\d+)?\s?([½⅓⅔¼¾])")
_TIMES = re.compile(_ALONE_BEFORE + r"(\d+)\s?[x×]\s?(\d+)?(?!\w)")
_BARE_UNIT = re.compile(r"(?<![\w-])(bpm|BPM|rpm|RPM)(?![\w-])")


def _numbers_en(text: str, work: _Work) -> str:
    def unit(match: re.Match[str]) -> str:
        amount = _number(match[1], "en")
        one, many = _UNITS_EN[match[2].lower()]
        return f"{amount} {one if amount == 'one' else many}"

    def fraction(match: re.Match[str]) -> str:
        after_whole, alone = _FRACTIONS_EN[match[2]]
        return f"{_number(match[1], 'en')} and {after_whole}" if match[1] else alone

    def times(match: re.Match[str]) -> str:
        if match[2]:
            return f"{_number(match[1], 'en')} by {_number(match[2], 'en')}"  # "4×4"
        return f"{_number(match[1], 'en')} times"  # "2x platinum"

    text = _UNIT.sub(unit, text)
    text = _FRACTION.sub(fraction, text)
    text = _BARE_UNIT.sub(lambda m: "-".join(m[1].upper()), text)
    text = _TIMES.sub(times, text)
    text = re.sub(r"~\s?(?=\d)", "about ", text)
    return _PLAIN_NUMBER.sub(lambda m: _number(m[1], "en"), text)


_SHARP = re.compile(r"(?<![\w#-])([A-G])[#♯](m(?![\w]))?(?=[\s,.;:!?()\[\]{}]|$)")
_FLAT = re.compile(r"(?<![\w-])([A-G])(?:♭|b(?=\s+(?:major|minor)\b))(m(?![\w]))?")


def _symbols_en(text: str, work: _Work) -> str:
    # Keys: "C#m" → "C-sharp minor", "Eb major" → "E-flat major".
    text = _SHARP.sub(lambda m: f"{m[1]}-sharp" + (" minor" if m[2] else ""), text)
    text = _FLAT.sub(lambda m: f"{m[1]}-flat" + (" minor" if m[2] else ""), text)
    text = re.sub(r"\s*&\s*", " and ", text)
    text = re.sub(r"(?<=\d)\s?°", " degrees", text)
    # A hashtag: just the word (which may be a lexicon entry, set aside).
    return re.sub(r"(?<![\w#])#(?=[A-Za-z\U000f0000-\U000ffffd])", "", text)


# Letter A as a letter (side A, plan A, A minor): eSpeak says a lone "A" before a word as the
# article "uh"; a hyphen after it makes it the letter.
_LETTER_A = re.compile(r"\b([Ss]ide|[Pp]lan|[Gg]rade|[Tt]ype|[Cc]lass)\s+A(?=\s+[a-z])")
_KEY_OF_A = re.compile(r"\b([Ii]n|[Kk]ey\s+of)\s+A\s+(minor|major|flat|sharp)\b")


def _letter_a_en(text: str, work: _Work) -> str:
    text = _KEY_OF_A.sub(lambda m: f"{m[1]} A-{m[2]}", text)
    return _LETTER_A.sub(lambda m: f"{m[1]} A-", text)


# --- capitals --------------------------------------------------------------------------------

_CAPS = re.compile(r"(?<![\w'])([A-ZÄÖÜ][A-ZÄÖÜ']*[A-ZÄÖÜ])(s)?(?![\w'])")
_DOTTED = re.compile(r"(?<![\w.-])([A-Z](?:\.[A-Z])+)(\.?)(?![\w-])")
_VOWELS = set("AEIOUYÄÖÜ")


_COMMON_WORDS = {
    "en": _word_set(
        """
        A I IS IT TO OF IN ON AT AS BY BE DO GO NO SO UP OR AN IF ME MY WE HE OH OX HI YO AH UH
        EH HA HM THE AND YOU ARE ALL ANY ONE OUT OUR OWN OFF OLD ICE ART EGO EYE AGE ACE ASK ATE
        END EGG ILL INK ODD OIL USE WHY HOW NOW TWO TOO SHE SKY FLY TRY CRY DRY SHY WHO SEE TEA
        SEA EAR EAT AIR ADD AGO AIM ALE ANT APE ARC ARK ARM AWE AXE EBB ELF ELM EMU ERA EVE EWE
        IMP INN ION IRE IVY OAK OAR OAT ODE OPT ORB ORE OWE OWL UGH URN PRO BRO SPY THY WRY FEE
        FOE TOE DUE SUE FEW DEW NEW YES YET ITS HIS HER HIM WAS HAS HAD DID GOT LET SAY WAY DAY
        MAY PAY BUY GUY BOY TOY JOY KEY SHH OHH AHH OOH AWW
        """
    ),
    "de": _word_set(
        """
        A I DER DIE DAS UND IST EIN EINE ICH DU ER SIE ES WIR IHR MIT VON ZU IM AM AN IN AUF AUS
        BEI NACH FÜR UM NICHT NOCH AUCH SO JA NEIN WIE WAS WER OB ODER ALS ALLE DEN DEM DES HAT
        BIN SIND WAR MAL NUR SCHON NIE UNS EUCH OH AH
        """
    ),
}
# Three-letter capitals that look like words but are said letter by letter.
_INITIALISMS = {"VIP", "DIY", "RIP", "BET", "SOS", "FAQ", "TBA", "PHD", "VOD", "HIV", "POV"}


def _capitals(text: str, work: _Work) -> str:
    common = _COMMON_WORDS.get(work.language, _COMMON_WORDS["en"])
    shouting = _shouting_spans(text)

    def spoken(match: re.Match[str]) -> str:
        word, plural = match[1], match[2] or ""
        if "'" in word:  # "I'M", "DON'T": words
            lowered = word.lower()
            return ("I" + lowered[1:] if lowered.startswith("i'") else lowered) + plural
        in_shout = any(start <= match.start() < end for start, end in shouting)
        if _reads_as_word(word, common, in_shout):
            return word.lower() + plural
        return "-".join(word) + ("'s" if plural else "")

    def dotted(match: re.Match[str]) -> str:
        # "U.S." → "U-S"; the last full stop stays when it also ends the sentence.
        letters = "-".join(match[1].split("."))
        return letters + "." if match[2] and _ends_sentence(match) else letters

    text = _DOTTED.sub(dotted, text)
    return _CAPS.sub(spoken, text)


def _reads_as_word(word: str, common: frozenset[str], in_shout: bool) -> bool:
    if word in _INITIALISMS:
        return False
    if word in common:
        return True
    if in_shout and len(word) == 2 and any(ch in _VOWELS for ch in word):
        return True  # "LOVE US", "WE GO"
    if len(word) == 3:
        first, middle, last = word[0], word[1], word[2]
        return first not in _VOWELS and middle in _VOWELS - {"Y"} and last not in _VOWELS - {"Y"}
    if len(word) >= 4:
        vowels = sum(ch in _VOWELS for ch in word)
        return vowels > 0 and not re.search(r"[^AEIOUYÄÖÜ]{4}", word)
    return False


def _shouting_spans(text: str) -> list[tuple[int, int]]:
    """Runs of three or more capitalised words: shouted text, not a row of initialisms."""
    spans = []
    for match in re.finditer(r"(?:\b[A-ZÄÖÜ][A-ZÄÖÜ']*\b[\s,!?.]*){3,}", text):
        spans.append((match.start(), match.end()))
    return spans


# --- pauses and symbols -----------------------------------------------------------------------

_SIC = re.compile(r"\s*\[(?:sic|sic!)\]", re.IGNORECASE)


def _pauses(text: str, work: _Work) -> str:
    text = _SIC.sub("", text)
    text = re.sub(r"[\[\]{}]", "", text)
    text = re.sub(r"(?<=\w)\((s|es|n|en|e|innen)\)", r"\1", text)  # "song(s)", "Künstler(innen)"
    text = re.sub(r"\s*[()]\s*", ", ", text)
    text = re.sub(r"\s*(?:—|―|--+)\s*", ", ", text)
    text = re.sub(r"\s+[–-](?:\s+|$|(?=[,;:.!?]))", ", ", text)
    text = re.sub(r"\s*[|•·]\s*", ", ", text)

    def ellipsis(match: re.Match[str]) -> str:
        rest = match.string[match.end() :]
        if not rest.strip() or re.match(r"\s*[\"”')]*\s*$", rest):
            return "."
        return ". " if re.match(r"\s+[A-ZÄÖÜ]", rest) else ", "

    text = re.sub(r"\s*\.{3,}\s*", ellipsis, text)
    text = re.sub(r"([!?])[!?]+", r"\1", text)
    text = re.sub(r"[*_~^]+", " ", text)
    return text


def _drop_symbols(text: str, work: _Work) -> str:
    """Emoji, pictographs and other symbols are not read out (a reader skips them too)."""
    return "".join(ch for ch in text if not _is_dropped_symbol(ch))


def _is_dropped_symbol(char: str) -> bool:
    if char.isascii():
        return False
    category = unicodedata.category(char)
    if category in ("So", "Sk", "Cs", "Cn", "Me"):
        return True
    if category == "Co":
        return not _SLOT.match(char)
    return "\u2190" <= char <= "\u21ff"  # arrows


# --- German ---------------------------------------------------------------------------------

_MONTHS_DE = (
    "Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
)
_ORDINAL_DE = re.compile(r"(?<![\w.,])(\d{1,3})\.(?=\s+([\wÄÖÜäöüß]+))")
_ENDING_EN = {
    "am",
    "im",
    "vom",
    "zum",
    "beim",
    "zur",
    "dem",
    "den",
    "des",
    "einem",
    "einen",
    "eines",
    "einer",
    "seinem",
    "seinen",
    "seines",
    "seiner",
    "ihrem",
    "ihren",
    "ihres",
    "ihrer",
    "diesem",
    "diesen",
    "dieses",
    "jedem",
    "jeden",
}
_ENDING_E = {"der", "die", "das", "jede", "diese", "jene"}
_ENDING_ES = {"ein", "kein", "sein", "ihr", "mein", "dein", "unser", "euer"}


def _ordinals_de(text: str, work: _Work) -> str:
    def ordinal(match: re.Match[str]) -> str:
        before = re.search(r"([\wÄÖÜäöüß]+)\s+$", match.string[: match.start()])
        word = before[1].lower() if before else ""
        if word in _ENDING_EN:
            ending = "n"
        elif word in _ENDING_E:
            ending = ""
        elif word in _ENDING_ES:
            ending = "s"
        elif re.fullmatch(_MONTHS_DE, match[2]):
            ending = "r"
        else:
            return match[0]  # "Platz 3. Dann": a number that ends a sentence
        return _ordinal(int(match[1]), "de") + ending

    return _ORDINAL_DE.sub(ordinal, text)


_YEAR_DE = re.compile(r"(?<![\w.,:/$€£¥-])(1[1-9]\d\d)(er)?(?![\w%]|[.,:/]\d)")


def _years_de(text: str, work: _Work) -> str:
    text = re.sub(r"(?<![\w'])'(\d0er)\b", r"\1", text)  # "die '90er" → "die 90er"
    text = re.sub(r"(?<![\w.,:/-])(\d{4})\s?[–-]\s?(\d{4})(?![\w.,:/-])", r"\1 bis \2", text)

    def year(match: re.Match[str]) -> str:
        # "1500 Platten": before a noun, a count; eSpeak reads counts well.
        if not match[2] and re.match(r"\s+[A-ZÄÖÜ]", match.string[match.end() :]):
            return match[0]
        return _year(int(match[1]), "de") + (match[2] or "")

    text = re.sub(r"(?<![\w.,])(1[1-9]\d0)er\b", lambda m: _year(int(m[1]), "de") + "er", text)
    return _YEAR_DE.sub(year, text)


_TIME_DE = re.compile(r"(?<![\w:.])(\d{1,2}):([0-5]\d)(?![\w:]|\.\d)(?!\s*Uhr)")
_DATIVE_DE = {"nach", "bei", "seit", "mit", "von", "aus", "zu", "ab", "vor"}


def _times_de(text: str, work: _Work) -> str:
    def time(match: re.Match[str]) -> str:
        minutes, seconds = int(match[1]), int(match[2])
        before = re.search(r"([\wÄÖÜäöüß]+)\s+$", match.string[: match.start()])
        dative = before is not None and before[1].lower() in _DATIVE_DE
        if minutes == 0:
            return f"{_cardinal(seconds, 'de')} Sekunden"
        if minutes == 1:
            spoken = "einer Minute" if dative else "eine Minute"
        else:
            spoken = f"{_cardinal(minutes, 'de')} Minuten"
        return spoken + (f" {_cardinal(seconds, 'de')}" if seconds else "")

    return _TIME_DE.sub(time, text)


_SCORE_DE = re.compile(_ALONE_BEFORE + r"(\d{1,3}(?:,\d)?)\s?/\s?(5|10|20|100)(?![\w/]|[.,]\d)")


def _scores_and_money_de(text: str, work: _Work) -> str:
    text = _SCORE_DE.sub(r"\1 von \2", text)
    text = re.sub(r"\b(von \d+ )Sterne\b", r"\1Sternen", text)
    euro_cents = r"(\d+),(\d{2})"
    text = re.sub(
        rf"(?<![\w.,])(?:€\s?{euro_cents}|{euro_cents}\s?€)(?![\d])",
        lambda m: f"{_cardinal(int(m[1] or m[3]), 'de')} Euro {_cardinal(int(m[2] or m[4]), 'de')}",
        text,
    )
    text = re.sub(r"(?<![\w.,])€\s?(\d+)(?![\d,.])", r"\1 Euro", text)
    text = re.sub(r"(?<![\w.,])\$\s?(\d+)(?![\d,.])", r"\1 Dollar", text)
    text = re.sub(r"(?<![\w.,])£\s?(\d+)(?![\d,.])", r"\1 Pfund", text)
    return text


_ABBREVIATIONS_DE = _abbreviations(
    [
        (r"(?<![\w.-])[Ff]eat\.(?=\s)", "featuring", False),
        (r"(?<![\w.-])(?<!\d )[Ff][Tt]\.(?=\s)", "featuring", False),
        (r"(?<![\w.-])[Vv][Ss]\.?(?=\s)", "versus", False),
        (r"(?<![\w.-])[Zz]\.\s?B\." + _END, "zum Beispiel", False),
        (r"(?<![\w.-])[Dd]\.\s?h\." + _END, "das heißt", False),
        (r"(?<![\w.-])[Uu]\.\s?a\." + _END, "unter anderem", False),
        (r"(?<![\w.-])[Vv]\.\s?a\." + _END, "vor allem", False),
        (r"(?<![\w.-])[Bb]zw\." + _END, "beziehungsweise", False),
        (r"(?<![\w.-])[Cc]a\." + r"(?=\s)", "circa", False),
        (r"(?<![\w.-])[Ee]vtl\." + _END, "eventuell", False),
        (r"(?<![\w.-])[Ii]nkl\." + _END, "inklusive", False),
        (r"(?<![\w.-])[Bb]spw\." + _END, "beispielsweise", False),
        (r"(?<![\w.-])[Ss]og\." + _END, "sogenannte", False),
        (r"(?<![\w.-])Jh\." + _END, "Jahrhundert", True),
        (r"(?<![\w.-])Nr\.\s?", "Nummer ", True),
        (r"(?<![\w.-])[Vv]ol\.\s?", "Volume ", True),
        (r"(?<![\w#])#\s?(?=\d)", "Nummer ", True),
    ]
)
_USW = re.compile(r"(?<![\w.-])(?:usw|etc)\.")


def _abbreviations_de(text: str, work: _Work) -> str:
    text = _apply_abbreviations(text, _ABBREVIATIONS_DE)

    def usw(match: re.Match[str]) -> str:
        spoken = "und so weiter" if match[0].startswith("u") else "et cetera"
        rest = match.string[match.end() :]
        return spoken + "." if not rest.strip() or re.match(r"\s+[A-ZÄÖÜ\"„]", rest) else spoken

    text = _USW.sub(usw, text)
    text = re.sub(r"\s*&\s*", " und ", text)
    return _roman(text, "de")


# --- the rule sets ----------------------------------------------------------------------------

_RULES: dict[str, list[Rule]] = {
    "en": [
        _stars,
        _money_en,
        _percent_en,
        _scores_en,
        _times_en,
        _records_and_ranges_en,
        _decades_en,
        _dates_en,
        _ordinals_en,
        _abbreviations_en,
        _roman_en,
        _years_en,
        _numbers_en,
        _symbols_en,
        _pauses,
        _capitals,
        _drop_symbols,
    ],
    "de": [
        _stars,
        _scores_and_money_de,
        _times_de,
        _years_de,
        _ordinals_de,
        _abbreviations_de,
        _pauses,
        _capitals,
        _drop_symbols,
    ],
}
_NEUTRAL_RULES: list[Rule] = [_pauses, _drop_symbols]


# --- 4. tidy ----------------------------------------------------------------------------------


def _tidy(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"[ \t]+", " ", text)
        text = re.sub(r" *\n *", "\n", text)
        text = re.sub(r"\n{3,}", "\n\n", text)
        text = re.sub(r" +([,;!?)\]”])", r"\1", text)
        text = re.sub(r" +([.:])(?!\w)", r"\1", text)  # not " .com": joined, it is an address
        text = re.sub(r",(?:\s*,)+", ",", text)
        text = re.sub(r",\s*([.;:!?])", _keep_apart, text)
        text = re.sub(r"([.;:!?])\s*,", _keep_apart, text)
        text = re.sub(r"(\.)\.+", _keep_apart, text)
        text = re.sub(r"([!?])[!?]+", _keep_apart, text)
        text = re.sub(r"([(\[“]) +", r"\1", text)
        text = re.sub(r"(?m)^[ ,;]+", "", text)
        text = re.sub(r"(?m)[ ,;]+$", "", text)
    return text.strip()


def _keep_apart(match: re.Match[str]) -> str:
    """The first mark of a run of marks, and a space if a word follows ("A,.co" is no address)."""
    following = match.string[match.end() : match.end() + 1]
    return match[1] + (" " if following.isalnum() else "")
