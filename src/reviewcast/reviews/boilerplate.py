"""Recognising what a copied web page wraps around a review, so that nobody reads it out.

Shapes recognised (whole lines or blocks only, never text inside a sentence):

- the site's page-title line "Artist - Album - Reviews - Site" (→ artist, album);
- date lines: "This article was updated on October 12, 2025", "Published on …", "Posted …",
  "Updated: 2025-10-12", a date alone (→ date; a published date wins over an updated one);
- bylines: "By Maren Holt", "Posted by Maren Holt on March 5, 2024" (→ reviewer, date);
- the author's bio after the body: a short name line followed by first-person paragraphs
  ("I'm a …"), or an "About the author" heading (→ reviewer, bio);
- share links ("Share on Twitter", "Share this:", "Facebook Twitter Email"), "Tags: …",
  "Advertisement", "Read more" and similar lone lines;
- tails that end the article: "Comments", "Leave a reply", "Related posts", "You may also like".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reviewcast.models import Block
from reviewcast.reviews.metadata import Meta, find_date, parse_date

_NETWORKS = frozenset(
    {
        "facebook", "twitter", "x", "email", "e-mail", "mail", "reddit", "whatsapp", "telegram",
        "linkedin", "pinterest", "tumblr", "bluesky", "mastodon", "threads", "print", "pocket",
        "flipboard", "messenger", "sms", "tweet", "share", "copy", "link", "instagram",
        "youtube", "tiktok", "rss",
    }
)  # fmt: skip
_SHARE_FILLER = frozenset(
    {"on", "this", "via", "the", "article", "post", "page", "review", "it", "pin", "to"}
)
_SPLIT_SHARE = re.compile(r"[\s|·•,/]+")
_JUNK = re.compile(
    r"advertisements?|sponsored( content)?|read more|continue reading\b.*|skip to (main )?content"
    r"|back to top|loading(\.\.\.|…)?|like this:?|like loading(\.\.\.|…)?"
    r"|click to (share|email|print)\b.*|\(opens in new window\)|subscribe( now)?"
    r"|sign up (for|to) (our|the) newsletter\.?|follow us( on \w+)?"
    r"|(photo|image|picture)( credit)?s?:.*|credits?:.*",
    re.IGNORECASE,
)
_TAGS = re.compile(
    r"(tags?|tagged( with)?|categor(y|ies)|filed under|posted in|labels?|topics?"
    r"|schlagwörter|kategorien?)\s*:\s*\S.*",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r"(((\d+|no|one)\s+)?(comments?|responses?|replies)(\s+(so far|yet))?[.:]?"
    r"|(leave|post|add|write|submit) a (comment|reply|response)[.:]?"
    r"|comments? (are )?closed\.?|be the first to comment\.?"
    r"|\d+ (thoughts|responses|replies|comments) on [\"“‘'].*"
    r"|join the (discussion|conversation)|kommentare?( \(\d+\))?:?"
    r"|related( posts| articles| reviews| stories)?:?|you (may|might) also like:?"
    r"|more (reviews|like this)|more from (this|the) (author|site|blog|writer)"
    r"|read next:?|recommended for you:?)",
    re.IGNORECASE,
)
_DATE_VERB = re.compile(
    r"(?:this (?:article|post|review|entry|page|story) (?:was|has been) )?"
    r"(?:(?:last|first|originally) )?"
    r"(?P<verb>published|posted|updated|modified|written|edited|veröffentlicht|aktualisiert"
    r"|erschienen|publié|mis à jour)\b\s*:?\s*",
    re.IGNORECASE,
)
_UPDATED = frozenset({"updated", "modified", "edited", "aktualisiert", "mis à jour"})
# A person's name as bylines write it: capitalised words, with the usual particles between.
_NAME = (
    r"[A-ZÀ-Þ][\w'’.-]*(?:\s+(?:(?:van|von|de|der|den|da|di|du|la|le|and|und|&)\s+){0,2}"
    r"[A-ZÀ-Þ][\w'’.-]*){0,3}"
)
# Case matters in the name (so that "By the way" is no byline), not in the words before it.
_BYLINE = re.compile(
    r"(?i:by|words by|written by|review by|reviewed by|von|par|por|door)\s+"
    rf"(?P<name>{_NAME})(?:\s*(?:,|·|\||–|—|-|(?i:on|am|le))\s*(?P<rest>.+))?"
)
# After "Posted", "by" is unambiguous, and blogs sign with lower-case handles ("by bizzo").
_BY_HANDLE = re.compile(
    r"(?i:by)\s+(?P<name>[\w.'’@-]+(?:\s+[\w.'’@-]+){0,3}?)(?:\s+(?i:on|at|am|le))?"
)
_TIME = re.compile(r"(at\s+)?\d{1,2}[:.]\d{2}(\s*[ap]\.?m\.?)?(\s*[A-Z]{2,4})?", re.IGNORECASE)
_TITLE_SEPARATOR = re.compile(r"\s+(?:-|–|—|\||·|::|»)\s+")
_REVIEW_MARKER = re.compile(
    r"(?:(?:album|record|lp|ep)\s+)?(?:reviews?|kritik(?:en)?|rezension(?:en)?|critiques?"
    r"|recensione|reseña)",
    re.IGNORECASE,
)
_MARKER_SUFFIX = re.compile(
    r"(?P<album>.+?)\s+(?:\((?:album\s+)?review\)|(?:album\s+)?review|kritik|rezension)",
    re.IGNORECASE,
)
_MARKER_PREFIX = re.compile(r"(?:album\s+)?review:\s*(?P<artist>.+)", re.IGNORECASE)
_ALBUM_BY = re.compile(r"(?P<album>.+?)\s+by\s+(?P<artist>.+)")
_BIO_OPENER = re.compile(
    r"(?:I['’]m|I am|I['’]ve|I have been|I write|I work|I live|Ich bin|Je suis)\b"
)
_BIO_OPENER_STRONG = re.compile(r"(?:I['’]m|I am) an?\b")
_FIRST_PERSON = re.compile(r"\b(?:I|I['’](?:m|ve|d|ll)|my|me|mine)\b", re.IGNORECASE)
_ABOUT = re.compile(
    rf"(?:about (?:the )?(?:author|reviewer|writer)|about (?P<name>{_NAME})"
    r"|über (?:den|die) autor(?:in)?|à propos de l['’]auteur)[.:]?",
    re.IGNORECASE,
)
_NAME_LINE = re.compile(r"[^\W\d_][\w.'’@ -]{0,39}")
_TERMINAL = re.compile(r"[.!?…]+[\"”’'»)\]]*$")


def _words(text: str) -> int:
    return len(text.split())


def is_share_line(text: str) -> bool:
    """Whether ``text`` is a row of share links ("Share on Twitter", "Facebook Twitter Email")."""
    tokens = [t for t in _SPLIT_SHARE.split(text.lower().strip(" :")) if t]
    if not tokens or len(tokens) > 12:
        return False
    if not all(t in _NETWORKS or t in _SHARE_FILLER for t in tokens):
        return False
    return any(t in _NETWORKS for t in tokens)


def is_junk_line(text: str) -> bool:
    """Whether ``text`` is a lone page element: share links, tags, "Advertisement", "Read more"."""
    text = text.strip()
    if len(text) > 300:
        return False
    return bool(is_share_line(text) or _JUNK.fullmatch(text) or _TAGS.fullmatch(text))


def is_tail_start(text: str) -> bool:
    """Whether ``text`` starts what follows an article: comments, related posts."""
    return bool(_TAIL.fullmatch(text.strip()))


@dataclass(frozen=True)
class DateLine:
    """A line that dates the page; ``updated`` when it gives a revision date."""

    date: dt.date
    updated: bool = False
    reviewer: str | None = None


def date_line(text: str) -> DateLine | None:
    """The date a line such as "This article was updated on October 12, 2025" gives, or None."""
    text = text.strip()
    if _words(text) > 16:
        return None
    alone = parse_date(text, whole=True)
    if alone is not None:
        return DateLine(alone)
    verb = _DATE_VERB.match(text)
    if verb is None:
        return None
    rest = text[verb.end() :]
    hit = find_date(rest)
    if hit is None:
        return None
    value, start, end = hit
    name = None
    for part in (rest[:start], rest[end:]):
        part = part.strip(" ,.:·|–—-")
        if not part or _TIME.fullmatch(part) or re.fullmatch(r"(?i:on|at|am|le)", part):
            continue
        by = _BY_HANDLE.fullmatch(part)
        if by is None:
            return None  # more than a date: a sentence that happens to start like a date line
        name = by.group("name")
    updated = verb.group("verb").lower() in _UPDATED
    return DateLine(value, updated=updated, reviewer=name)


def byline(text: str) -> tuple[str, dt.date | None] | None:
    """(name, date) from "By Maren Holt" or "By Maren Holt, March 5, 2024"; None otherwise."""
    text = text.strip()
    if _words(text) > 12:
        return None
    match = _BYLINE.fullmatch(text)
    if match is None:
        return None
    rest = match.group("rest")
    when = None
    if rest:
        when = parse_date(rest.strip(" ,.·|–—-"), whole=True)
        if when is None:
            return None
    return match.group("name"), when


def page_title(text: str) -> tuple[str, str] | None:
    """(artist, album) from a page title such as "Artist - Album - Reviews - Site"; else None."""
    text = text.strip()
    if "\n" in text or len(text) > 200:
        return None
    parts = [p.strip() for p in _TITLE_SEPARATOR.split(text)]
    if len(parts) < 2 or not all(parts):
        return None
    for k, part in enumerate(parts):
        if _REVIEW_MARKER.fullmatch(part):
            if k >= 2:
                return parts[k - 2], parts[k - 1]
            if k == 1:
                by = _ALBUM_BY.fullmatch(parts[0])
                return (by.group("artist"), by.group("album")) if by else None
            return None
    # "Artist – Album review | Site" and "Album review: Artist – Album | Site".
    for k, part in enumerate(parts[1:], 1):
        suffix = _MARKER_SUFFIX.fullmatch(part)
        if suffix:
            return parts[k - 1], suffix.group("album")
    prefix = _MARKER_PREFIX.fullmatch(parts[0])
    if prefix:
        return prefix.group("artist"), parts[1]
    return None


def is_metadata_line(text: str) -> bool:
    """Whether a lone line is page furniture that must be set apart from the text around it."""
    return bool(
        is_junk_line(text)
        or is_tail_start(text)
        or date_line(text)
        or byline(text)
        or page_title(text)
    )


def is_headline(first: str, following: str | None) -> bool:
    """Whether the first line of a plain-text review is its headline rather than its opening."""
    if following is None or "\n" in first or len(first) > 150 or _words(first) > 20:
        return False
    if date_line(first) or byline(first) or page_title(first) or is_junk_line(first):
        return False
    if date_line(following) or byline(following) or page_title(following):
        return True
    return not _TERMINAL.search(first)


def _name_line(text: str) -> bool:
    text = text.strip()
    return (
        bool(_NAME_LINE.fullmatch(text))
        and 1 <= _words(text) <= 4
        and not _TERMINAL.search(text)
        and not is_junk_line(text)
        and not is_tail_start(text)
    )


def _person_like(text: str) -> bool:
    """A person's name ("Maren Holt") or a handle ("bizzo"), not a word such as "Lanterns"."""
    words = text.split()
    if len(words) == 1:
        return words[0].islower() or any(ch.isdigit() or ch in "_@" for ch in words[0])
    return bool(re.fullmatch(_NAME, text)) and len(words) <= 4


@dataclass(frozen=True)
class Stripped:
    """Blocks with boilerplate removed, what was removed, and the metadata it gave."""

    blocks: tuple[Block, ...]
    removed: tuple[str, ...]
    meta: Meta


def strip_boilerplate(blocks: Sequence[Block]) -> Stripped:
    """Remove page furniture from ``blocks``, harvesting artist, album, reviewer, date and bio."""
    kept: list[Block] = []
    removed: list[str] = []
    meta = Meta()
    updated: dt.date | None = None  # a revision date counts only when no published date shows
    body_seen = False  # a block of the review itself has been kept
    after_furniture = False  # the block before this one was removed furniture
    i = 0
    while i < len(blocks):
        text = blocks[i].text
        if body_seen and is_tail_start(text):
            removed.extend(b.text for b in blocks[i:])
            break
        bio = _bio_at(blocks, i, body_seen=body_seen, after_furniture=after_furniture)
        if bio is not None:
            name, paragraphs, used = bio
            meta = meta.fill(Meta(reviewer=name, bio="\n\n".join(paragraphs)))
            removed.extend(b.text for b in blocks[i : i + used])
            i += used
            after_furniture = True
            continue
        found = _furniture(text, top=not body_seen)
        if found is None:
            kept.append(blocks[i])
            body_seen, after_furniture = True, False
        else:
            gives, revised = found
            meta = meta.fill(gives)
            updated = updated or revised
            removed.append(text)
            after_furniture = True
        i += 1
    meta = meta.fill(Meta(date=updated))
    return Stripped(tuple(kept), tuple(removed), meta)


def _furniture(text: str, *, top: bool) -> tuple[Meta, dt.date | None] | None:
    """(what a furniture line gives, a revision date it gives) or None for the review's text."""
    dated = date_line(text)
    if dated is not None:
        if dated.updated:
            return Meta(reviewer=dated.reviewer), dated.date
        return Meta(reviewer=dated.reviewer, date=dated.date), None
    by = byline(text)
    if by is not None:
        return Meta(reviewer=by[0], date=by[1]), None
    if is_junk_line(text):
        return Meta(), None
    # The site's title line only stands above the review, never inside it.
    titled = page_title(text) if top else None
    if titled is not None:
        return Meta(artist=titled[0], album=titled[1]), None
    return None


def _bio_at(
    blocks: Sequence[Block], i: int, *, body_seen: bool, after_furniture: bool
) -> tuple[str | None, list[str], int] | None:
    """(name, bio paragraphs, blocks used) when an author's bio starts at ``blocks[i]``."""
    if not body_seen:
        return None
    text = blocks[i].text.strip()
    about = _ABOUT.fullmatch(text) if _words(text) <= 6 else None
    if about is not None:
        name = about.group("name")
        start = i + 1
        if start + 1 < len(blocks) and _name_line(blocks[start].text):
            name = name or blocks[start].text.strip()
            start += 1
        paragraphs = _bio_paragraphs(blocks, start, first_person_only=False)
        if paragraphs:
            return name, paragraphs, start - i + len(paragraphs)
        return None
    if _name_line(text) and i + 1 < len(blocks) and _BIO_OPENER.match(blocks[i + 1].text):
        paragraphs = _bio_paragraphs(blocks, i + 1, first_person_only=True)
        rest = blocks[i + 1 + len(paragraphs) :]
        # A subheading then "I'm a fan …" can end a review too: take a bio only where a page
        # puts one (after the article's furniture), or at the very end under a person's name.
        at_end = all(is_junk_line(b.text) or is_tail_start(b.text) for b in rest)
        if after_furniture or (at_end and _person_like(text)):
            return text, paragraphs, 1 + len(paragraphs)
        return None
    if after_furniture and _BIO_OPENER_STRONG.match(text):
        paragraphs = _bio_paragraphs(blocks, i, first_person_only=True)
        return None, paragraphs, len(paragraphs)
    return None


def bio_from_blocks(blocks: Sequence[Block]) -> tuple[str | None, str | None]:
    """(name, bio) from the blocks of a page's author box; bio is None when it holds none."""
    texts = [b.text.strip() for b in blocks]
    if texts and _ABOUT.fullmatch(texts[0]) and _words(texts[0]) <= 6:
        about = _ABOUT.fullmatch(texts[0])
        name = about.group("name") if about else None
        texts = texts[1:]
    else:
        name = None
    if len(texts) > 1 and _name_line(texts[0]):
        name, texts = name or texts[0], texts[1:]
    texts = [t for t in texts if not is_junk_line(t)]
    if not texts or sum(_words(t) for t in texts) < 5:
        return name, None
    return name, "\n\n".join(texts)


def _bio_paragraphs(blocks: Sequence[Block], start: int, *, first_person_only: bool) -> list[str]:
    paragraphs: list[str] = []
    for block in blocks[start:]:
        text = block.text
        if is_junk_line(text) or is_tail_start(text) or date_line(text):
            break
        if first_person_only and paragraphs and not _FIRST_PERSON.search(text):
            break
        paragraphs.append(text)
    return paragraphs
