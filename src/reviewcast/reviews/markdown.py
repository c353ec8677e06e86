"""Markdown reviews with optional YAML front matter, parsed with markdown-it-py (CommonMark)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from reviewcast.errors import ReviewError
from reviewcast.models import Block, BlockKind
from reviewcast.reviews.blocks import BlockBuilder, Parsed, take_headline
from reviewcast.reviews.boilerplate import strip_boilerplate
from reviewcast.reviews.metadata import Meta, meta_from_mapping

_FENCE = re.compile(r"---[ \t]*")
_FENCE_END = re.compile(r"(?:---|\.\.\.)[ \t]*")
_EMPHASIS_TAGS = frozenset({"em", "i", "b", "strong"})


def read_markdown(text: str, path: Path) -> Parsed:
    """Blocks and metadata of a Markdown review; ReviewError for bad front matter."""
    front, body, body_line = _split_front_matter(text)
    meta = _front_matter(front, path) if front is not None else Meta()
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    try:
        tokens = md.parse(body)
    except RecursionError:
        raise ReviewError(
            f"line {body_line}: the Markdown is nested too deeply to read", path=path
        ) from None
    walker = _Walker()
    walker.walk(tokens)
    blocks, title = take_headline(walker.blocks, walker.first_is_heading, meta.title)
    stripped = strip_boilerplate(blocks)
    meta = meta.override(Meta(title=title)).fill(stripped.meta)
    return Parsed(stripped.blocks, meta, tuple(walker.removed) + stripped.removed)


def _split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(front matter or None, Markdown body, line number where the body starts)."""
    lines = text.split("\n")
    if not lines or not _FENCE.fullmatch(lines[0]):
        return None, text, 1
    for end in range(1, len(lines)):
        if _FENCE_END.fullmatch(lines[end]):
            return "\n".join(lines[1:end]), "\n".join(lines[end + 1 :]), end + 2
    # No closing fence: the leading "---" was a thematic break, not front matter.
    return None, text, 1


#: Front matter longer than this is refused: its metadata and even a tracklist of
#: MAX_TRACKS long titles fit easily, and parsing YAML is slow (about 1 s per 300 KB).
MAX_FRONT_MATTER_BYTES = 1024 * 1024
# libyaml's parser where PyYAML has it (its wheels do): about six times as fast.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _front_matter(front: str, path: Path) -> Meta:
    if len(front.encode("utf-8", "surrogatepass")) > MAX_FRONT_MATTER_BYTES:
        raise ReviewError(
            f"the front matter is larger than {MAX_FRONT_MATTER_BYTES // 1024} KB; it holds "
            "only the review's metadata: is the closing '---' line missing?",
            path=path,
        )
    try:
        data: Any = yaml.load(front, Loader=_LOADER)  # safe: C or Python SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 2}: " if mark is not None else ""
        problem = " ".join((exc.problem or exc.context or "syntax error").split())
        raise ReviewError(f"{where}front matter is not valid YAML: {problem}", path=path) from None
    except Exception as exc:
        # PyYAML's constructors raise what they meet on odd values: ValueError for 2025-02-30,
        # KeyError for "!!bool x", AttributeError for "!!timestamp x"; ReaderError spans lines.
        problem = " ".join(str(exc).split()) or type(exc).__name__
        raise ReviewError(f"front matter is not valid YAML: {problem}", path=path) from None
    if data is None:
        return Meta()
    if not isinstance(data, dict):
        raise ReviewError(
            "the front matter between the --- lines must hold 'key: value' lines "
            "such as 'artist: Nine Inch Nails'",
            path=path,
        )
    return meta_from_mapping(data, path=path, what="front matter", error=ReviewError, strict=False)


class _InlineTags(HTMLParser):
    """Tells which tags an inline HTML snippet of Markdown opens and closes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("open", tag))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("empty", tag))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("close", tag))


def _inline_tags(snippet: str) -> list[tuple[str, str]]:
    parser = _InlineTags()
    parser.feed(snippet)
    parser.close()
    return parser.events


class _Walker:
    """Turns markdown-it's token stream into Blocks."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.removed: list[str] = []
        self.first_is_heading = False
        self._quote = 0
        self._heading = False
        self._list: BlockBuilder | None = None
        self._list_depth = 0
        self._item_started = False
        self._cell = 0

    def _add(self, block: Block | None, *, heading: bool = False) -> None:
        if block is None:
            return
        if not self.blocks:
            self.first_is_heading = heading
        self.blocks.append(block)

    def walk(self, tokens: Sequence[Token]) -> None:
        for token in tokens:
            kind = token.type
            if kind == "blockquote_open":
                self._quote += 1
            elif kind == "blockquote_close":
                self._quote -= 1
            elif kind in ("bullet_list_open", "ordered_list_open", "table_open"):
                if self._list_depth == 0 and not self._quote:
                    self._list = BlockBuilder()
                self._list_depth += 1
            elif kind in ("bullet_list_close", "ordered_list_close", "table_close"):
                self._list_depth -= 1
                if self._list_depth == 0 and self._list is not None:
                    self._add(self._list.build("list"))
                    self._list = None
            elif kind in ("list_item_open", "tr_open"):
                self._item_started = True
                self._cell = 0
                if self._list is not None:
                    self._list.newline()
            elif kind in ("th_open", "td_open"):
                if self._list is not None and self._cell:
                    self._list.text(", ")
                self._cell += 1
            elif kind == "heading_open":
                self._heading = True
            elif kind == "heading_close":
                self._heading = False
            elif kind == "inline":
                self._inline(token)
            elif kind in ("fence", "code_block"):
                self.removed.append(token.content.strip())
            elif kind == "html_block":
                self._html_block(token.content)

    def _inline(self, token: Token) -> None:
        if self._list is not None:
            if not self._item_started:
                self._list.space()  # a second paragraph of the same item
            self._item_started = False
            _render_inline(token.children or [], self._list)
            return
        builder = BlockBuilder()
        _render_inline(token.children or [], builder)
        kind: BlockKind = "quote" if self._quote else "heading" if self._heading else "paragraph"
        self._add(builder.build(kind), heading=self._heading and not self._quote)

    def _html_block(self, content: str) -> None:
        stripped = content.strip()
        if stripped.startswith("<!--"):
            self.removed.append(stripped)
            return
        # Imported here: only Markdown with raw HTML blocks needs lxml and trafilatura loaded.
        from reviewcast.reviews.html import blocks_from_fragment

        kind: BlockKind | None = "quote" if self._quote else None
        for block in blocks_from_fragment(content):
            if self._list is not None:
                self._list.newline()
                self._list.text(block.text)
            else:
                self._add(Block(block.text, kind or block.kind, block.emphasis))


def _render_inline(children: Sequence[Token], builder: BlockBuilder) -> None:
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            builder.text(child.content)
        elif kind in ("softbreak", "hardbreak"):
            builder.space()
        elif kind in ("em_open", "strong_open"):
            builder.open_emphasis()
        elif kind in ("em_close", "strong_close"):
            builder.close_emphasis()
        elif kind == "html_inline":
            # <em>/<i>/<b>/<strong> written as HTML inside Markdown are emphasis too;
            # other inline HTML (spans, comments, <br>) carries nothing to read out.
            for event, tag in _inline_tags(child.content):
                if tag in _EMPHASIS_TAGS and event == "open":
                    builder.open_emphasis()
                elif tag in _EMPHASIS_TAGS and event == "close":
                    builder.close_emphasis()
                elif tag == "br":
                    builder.space()
        # link_open/link_close: the link's text is read, its address is not;
        # image: an image has nothing to say aloud; s_open/s_close: struck text is still text.
