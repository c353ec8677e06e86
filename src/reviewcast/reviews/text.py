"""Plain-text reviews: paragraphs separated by blank lines, often pasted from a web page."""

from __future__ import annotations

import itertools
import re

from reviewcast.models import Block, BlockKind
from reviewcast.reviews.blocks import Parsed, clean_title, plain_block
from reviewcast.reviews.boilerplate import is_headline, is_metadata_line, strip_boilerplate
from reviewcast.reviews.metadata import Meta

_LIST_ITEM = re.compile(r"(?:[-*•·–]|\d{1,3}[.)])\s+(?P<text>.*)")
_QUOTE_LINE = re.compile(r">\s?(?P<text>.*)")
_ENDS_SENTENCE = re.compile(r"[.!?…:]+[\"”’'»)\]]*$")
#: Lines longer than this are not hard-wrapped: the text was pasted with one line a paragraph.
UNWRAPPED_LINE = 100


def read_text(text: str) -> Parsed:
    """Blocks and metadata of a plain-text review (already decoded, ``\\n`` line endings)."""
    groups = [lines for para in _paragraphs(text) for lines in _split_furniture(para)]
    blocks = [block for group in groups if (block := _block(group)) is not None]
    title = None
    if blocks and is_headline(blocks[0].text, blocks[1].text if len(blocks) > 1 else None):
        title = clean_title(blocks[0].text)
        blocks = blocks[1:]
    blocks = _mark_headings(blocks)
    stripped = strip_boilerplate(blocks)
    return Parsed(stripped.blocks, stripped.meta.override(Meta(title=title)), stripped.removed)


def _paragraphs(text: str) -> list[list[str]]:
    """Lines grouped by blank lines (a line of only spaces or no-break spaces is blank)."""
    paragraphs: list[list[str]] = [[]]
    for line in text.split("\n"):
        line = line.strip()
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _split_furniture(lines: list[str]) -> list[list[str]]:
    """Set lines such as "Share on Twitter" or a date line apart from the lines around them."""
    if len(lines) == 1:
        return [lines]
    groups: list[list[str]] = [[]]
    for line in lines:
        if is_metadata_line(line):
            groups.extend([[line], []])
        else:
            groups[-1].append(line)
    groups = [g for g in groups if g]
    if max(len(line) for line in lines) <= UNWRAPPED_LINE:
        return groups
    # One paragraph a line, with the odd line break inside a sentence.
    split: list[list[str]] = []
    for group in groups:
        split.append([group[0]])
        for before, line in itertools.pairwise(group):
            if _ENDS_SENTENCE.search(before) or not line[0].islower():
                split.append([line])
            else:
                split[-1].append(line)
    return split


def _block(lines: list[str]) -> Block | None:
    items = [_LIST_ITEM.fullmatch(line) for line in lines]
    if items[0] is not None and (len(lines) > 1 or lines[0][0] in "-*•"):
        # A list: every line with a marker starts an item; others continue the item before.
        entries: list[str] = []
        for line, item in zip(lines, items, strict=True):
            if item is not None or not entries:
                entries.append(item.group("text") if item else line)
            else:
                entries[-1] += " " + line
        texts = [" ".join(e.split()) for e in entries if e.strip()]
        return Block("\n".join(texts), kind="list") if texts else None
    quoted = [_QUOTE_LINE.fullmatch(line) for line in lines]
    if all(quoted):
        return plain_block(" ".join(q.group("text") for q in quoted if q), "quote")
    return plain_block(" ".join(lines))


def _mark_headings(blocks: list[Block]) -> list[Block]:
    """Short lone lines without a full stop between paragraphs are subheadings."""
    marked: list[Block] = []
    for i, block in enumerate(blocks):
        kind: BlockKind = block.kind
        text = block.text
        if (
            kind == "paragraph"
            and 0 < i < len(blocks) - 1
            and len(text.split()) <= 8
            and text[0].isupper()
            and not re.search(r"[.!?…:;,\"”’'»)\]]$", text)
        ):
            kind = "heading"
        marked.append(Block(text, kind=kind, emphasis=block.emphasis))
    return marked
