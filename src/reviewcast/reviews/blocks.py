"""Building Blocks from marked-up text: whitespace collapsed, emphasis kept as character spans."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reviewcast.models import Block, BlockKind
from reviewcast.reviews.metadata import Meta

_TOKEN = re.compile(r"\S+|\s+")


class BlockBuilder:
    """Collects the text of one block piece by piece, with emphasis spans into the final text.

    Whitespace runs collapse to one space (or to one newline where :meth:`newline` asks, as
    between list items), and the text is stripped; emphasis spans are measured in that final
    text, so they never start or end on whitespace. Unclosed or empty emphasis is dropped.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._separator = ""  # what goes before the next word: "", " " or "\n"
        self._open: list[list[int]] = []  # each [start] or [] while no word has been seen yet
        self._spans: set[tuple[int, int]] = set()

    def text(self, value: str) -> None:
        """Append text; its whitespace collapses."""
        for match in _TOKEN.finditer(value):
            token = match.group()
            if token.isspace():
                if self._length and self._separator != "\n":
                    self._separator = " "
                continue
            if self._separator:
                self._parts.append(self._separator)
                self._length += 1
                self._separator = ""
            for start in self._open:
                if not start:
                    start.append(self._length)
            self._parts.append(token)
            self._length += len(token)

    def space(self) -> None:
        """Separate what follows by a space (e.g. for a line break or a block boundary)."""
        self.text(" ")

    def newline(self) -> None:
        """Separate what follows by a newline (list items), unless nothing has been written."""
        if self._length:
            self._separator = "\n"

    def open_emphasis(self) -> None:
        """Start an emphasis span at the next word."""
        self._open.append([])

    def close_emphasis(self) -> None:
        """End the innermost open emphasis span here; ignored when none is open."""
        if not self._open:
            return
        start = self._open.pop()
        if start and start[0] < self._length:
            self._spans.add((start[0], self._length))

    @property
    def empty(self) -> bool:
        """Whether no word has been written."""
        return self._length == 0

    def build(self, kind: BlockKind = "paragraph") -> Block | None:
        """The block, or None when it holds no text."""
        if not self._length:
            return None
        return Block(text="".join(self._parts), kind=kind, emphasis=tuple(sorted(self._spans)))


def plain_block(text: str, kind: BlockKind = "paragraph") -> Block | None:
    """A block of plain text without emphasis; None when it holds no text."""
    builder = BlockBuilder()
    builder.text(text)
    return builder.build(kind)


@dataclass(frozen=True)
class Parsed:
    """What a format reader found: the body, the metadata in the file, and what it set aside."""

    blocks: tuple[Block, ...]
    meta: Meta = field(default_factory=Meta)
    removed: tuple[str, ...] = ()


_OUTER_QUOTES = {'"': '"', "“": "”", "„": "“", "«": "»", "‘": "’", "'": "'"}


def clean_title(title: str) -> str | None:
    """A title with whitespace collapsed and quotes around all of it removed; None if empty."""
    title = " ".join(title.split())
    if len(title) > 2:
        close = _OUTER_QUOTES.get(title[0], "")
        inner = title[1:-1]
        # Only quotes that wrap the whole title: '"TRON: ARES OST": It's…' keeps its quotes.
        if close and title[-1] == close and title[0] not in inner and close not in inner:
            title = inner.strip()
    return title or None


def _fold(text: str | None) -> str:
    return "".join(ch for ch in (text or "").casefold() if ch.isalnum())


def take_headline(
    blocks: list[Block], first_is_heading: bool, title: str | None
) -> tuple[list[Block], str | None]:
    """(blocks, title) with a leading heading taken as the title, or dropped as its repeat.

    A page's title often adds the site's name ("Harbour Lights | The Quiet Ear"), so a heading
    whose words all appear in the title counts as the same headline.
    """
    if not blocks or not first_is_heading:
        return blocks, title
    first = clean_title(blocks[0].text)
    folded = _fold(first)
    if title is None or (folded and folded in _fold(title)):
        return blocks[1:], title or first
    return blocks, title
