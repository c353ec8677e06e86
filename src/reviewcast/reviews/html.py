"""HTML reviews: a whole page (the article found by trafilatura) or a fragment (read with lxml)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any, Literal

import lxml.etree  # type: ignore[import-untyped, unused-ignore]
import lxml.html  # type: ignore[import-untyped, unused-ignore]
import trafilatura
from trafilatura.settings import Document, set_date_params

from reviewcast.models import Block, BlockKind
from reviewcast.reviews.blocks import BlockBuilder, Parsed, clean_title, take_headline
from reviewcast.reviews.boilerplate import bio_from_blocks, page_title, strip_boilerplate
from reviewcast.reviews.metadata import Meta, language_code

Role = Literal[
    "skip",
    "container",
    "heading",
    "paragraph",
    "quote",
    "list",
    "item",
    "cell",
    "inline",
    "emphasis",
    "break",
]

_HTML_ROLES: dict[str, Role] = {
    **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "heading"),
    **dict.fromkeys(("p", "dt", "dd", "caption", "summary", "address", "figcaption"), "paragraph"),
    **dict.fromkeys(
        (
            "div",
            "section",
            "article",
            "main",
            "body",
            "html",
            "header",
            "center",
            "details",
            "hgroup",
            "fieldset",
            "dl",
        ),
        "container",
    ),
    "blockquote": "quote",
    **dict.fromkeys(("ul", "ol", "menu", "table"), "list"),
    **dict.fromkeys(("li", "tr"), "item"),
    **dict.fromkeys(("td", "th"), "cell"),
    **dict.fromkeys(("em", "i", "b", "strong"), "emphasis"),
    **dict.fromkeys(("br", "hr"), "break"),
    # Nothing in these is read out: code, scripts, forms, media and the page's furniture.
    **dict.fromkeys(
        (
            "script",
            "style",
            "noscript",
            "template",
            "nav",
            "aside",
            "form",
            "button",
            "select",
            "textarea",
            "input",
            "label",
            "iframe",
            "svg",
            "canvas",
            "img",
            "picture",
            "video",
            "audio",
            "object",
            "embed",
            "head",
            "title",
            "meta",
            "link",
            "figure",
            "pre",
            "footer",
            "map",
            "math",
            "code",
            "dialog",
        ),
        "skip",
    ),
}

# trafilatura's own XML: <head> is a heading, <hi rend="#i"> italics, <lb/> a line break.
_XML_ROLES: dict[str, Role] = {
    "head": "heading",
    "p": "paragraph",
    "quote": "quote",
    "list": "list",
    "table": "list",
    "item": "item",
    "row": "item",
    "cell": "cell",
    "lb": "break",
    "code": "skip",
    "graphic": "skip",
    "doc": "container",
    "body": "container",
    "main": "container",
    "div": "container",
}


def _html_role(element: Any) -> Role:
    tag = element.tag
    if not isinstance(tag, str):
        return "skip"  # comments and processing instructions
    return _HTML_ROLES.get(tag.lower().rpartition("}")[2], "inline")


def _xml_role(element: Any) -> Role:
    tag = element.tag
    if not isinstance(tag, str):
        return "skip"
    if tag == "hi":
        return "emphasis" if element.get("rend") in ("#i", "#b") else "inline"
    return _XML_ROLES.get(tag, "inline")


class _TreeWalker:
    """Turns an element tree (HTML, or trafilatura's XML) into Blocks."""

    def __init__(self, role: Callable[[Any], Role]) -> None:
        self._role = role
        self.blocks: list[Block] = []
        self.first_is_heading = False
        self._out: BlockBuilder | None = None
        self._out_kind: BlockKind = "paragraph"
        self._list: BlockBuilder | None = None
        self._quote = 0
        self._cells = 0

    def walk(self, element: Any) -> list[Block]:
        self._element(element)
        self._flush()
        return self.blocks

    def _add(self, block: Block | None) -> None:
        if block is not None:
            if not self.blocks:
                self.first_is_heading = block.kind == "heading"
            self.blocks.append(block)

    def _flush(self) -> None:
        if self._out is not None:
            self._add(self._out.build(self._out_kind))
            self._out = None

    def _target(self) -> BlockBuilder:
        if self._list is not None:
            return self._list
        if self._out is None:
            self._out = BlockBuilder()
            self._out_kind = "quote" if self._quote else "paragraph"
        return self._out

    def _content(self, element: Any) -> None:
        if element.text:
            self._target().text(element.text)
        for child in element:
            self._element(child)
            if child.tail:
                self._target().text(child.tail)

    def _element(self, element: Any) -> None:
        role = self._role(element)
        if role == "skip":
            return
        if role == "inline":
            self._content(element)
        elif role == "emphasis":
            target = self._target()
            target.open_emphasis()
            self._content(element)
            target.close_emphasis()
        elif role == "break":
            self._target().space()
        elif self._list is not None:
            self._in_list(element, role)
        elif role == "list" and not self._quote:
            self._flush()
            self._list = BlockBuilder()
            self._cells = 0
            self._content(element)
            self._add(self._list.build("list"))
            self._list = None
        elif role == "quote":
            self._flush()
            self._quote += 1
            self._content(element)
            self._flush()
            self._quote -= 1
        elif role in ("heading", "paragraph", "item", "cell"):
            self._flush()
            self._out = BlockBuilder()
            self._out_kind = (
                "quote" if self._quote else "heading" if role == "heading" else ("paragraph")
            )
            self._content(element)
            self._flush()
        else:  # a container, or a list inside a quote
            self._flush()
            self._content(element)
            self._flush()

    def _in_list(self, element: Any, role: Role) -> None:
        assert self._list is not None
        if role == "item":
            self._list.newline()
            self._cells = 0
        elif role == "cell":
            if self._cells:
                self._list.text(", ")
            self._cells += 1
        else:
            self._list.space()
        self._content(element)


def _parser() -> Any:
    # The text is already decoded; an explicit encoding keeps lxml from obeying a <meta charset>
    # or an XML declaration that no longer describes the bytes it is given.
    return lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)


def _parse(text: str) -> Any | None:
    try:
        return lxml.html.fromstring(text.encode("utf-8"), parser=_parser())
    except (lxml.etree.ParserError, lxml.etree.XMLSyntaxError, ValueError):
        return None  # lxml's "Document is empty": nothing but comments or whitespace


def blocks_from_fragment(text: str) -> list[Block]:
    """Blocks of an HTML fragment (no page around it), e.g. a raw HTML block inside Markdown."""
    root = _parse(text)
    return [] if root is None else _TreeWalker(_html_role).walk(root)


def read_html(text: str) -> Parsed:
    """Blocks and metadata of an HTML review: a whole page or a fragment of one."""
    root = _parse(text)
    if root is None:
        return Parsed(())
    if root.tag != "html":
        walker = _TreeWalker(_html_role)
        return _finish(walker.walk(root), walker.first_is_heading, Meta())
    meta = _page_meta(root)
    name, bio, box = _take_author_box(root)
    extracted = _extract(root)
    if extracted is not None:
        blocks, first_is_heading, found = extracted
        meta = found.fill(meta)
    else:
        # trafilatura found no article: read the page's main part without its furniture.
        main = next(iter(root.xpath("//article | //main | //body")), root)
        walker = _TreeWalker(_html_role)
        blocks, first_is_heading = walker.walk(main), walker.first_is_heading
    parsed = _finish(blocks, first_is_heading, meta.fill(Meta(reviewer=name, bio=bio)))
    return Parsed(parsed.blocks, parsed.meta, box + parsed.removed)


# Themes put the author's bio in a box: "author-box", "author-bio", "about-author", "bio".
_AUTHOR_BOX = "//*[re:test(@class, '{0}') or re:test(@id, '{0}')]".format(
    r"(?i)author[-_ ]?(bio|box|info|about|description|card|profile)"
    r"|about[-_ ]?(the[-_ ]?)?author|(^|\s)(bio|saboxplugin-wrap)(\s|$)"
)


def _take_author_box(root: Any) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(name, bio, its texts) from the page's author box, which is removed from ``root``."""
    try:
        boxes = root.xpath(_AUTHOR_BOX, namespaces={"re": "http://exslt.org/regular-expressions"})
    except lxml.etree.XPathError:
        return None, None, ()
    name = bio = None
    texts: list[str] = []
    for box in boxes:
        if box.getparent() is None or not isinstance(box.tag, str) or box.tag in ("html", "body"):
            continue
        blocks = _TreeWalker(_html_role).walk(box)
        found_name, found_bio = bio_from_blocks(blocks)
        if found_bio is None:
            continue
        name, bio = name or found_name, bio or found_bio
        texts.extend(b.text for b in blocks)
        box.drop_tree()
    return name, bio, tuple(texts)


def _finish(blocks: list[Block], first_is_heading: bool, meta: Meta) -> Parsed:
    blocks, title = take_headline(blocks, first_is_heading, meta.title)
    stripped = strip_boilerplate(blocks)
    meta = meta.override(Meta(title=title)).fill(stripped.meta)
    return Parsed(stripped.blocks, meta, stripped.removed)


def _extract(root: Any) -> tuple[list[Block], bool, Meta] | None:
    """The article trafilatura finds in the page, with its metadata; None if it finds none."""
    try:
        document = trafilatura.bare_extraction(
            lxml.html.fromstring(lxml.html.tostring(root), parser=_parser()),
            include_formatting=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            include_tables=True,
            with_metadata=True,
            # Only dates the page states as its own: an extensive search also takes
            # "released on 19 September 2025" from the review's text.
            date_extraction_params=set_date_params(extensive=False),
        )
    except Exception:
        # trafilatura (and htmldate, courlan) can trip over odd markup in many ways;
        # a page it cannot handle is still read, with lxml, rather than refused.
        return None
    if not isinstance(document, Document) or document.body is None:
        return None
    walker = _TreeWalker(_xml_role)
    blocks = walker.walk(document.body)
    if not blocks:
        return None
    meta = Meta(
        title=clean_title(document.title) if document.title else None,
        reviewer=_author(document.author),
        date=_iso_date(document.date),
        source_url=_clean(document.url),
    )
    return blocks, walker.first_is_heading, meta


def _author(value: str | None) -> str | None:
    """trafilatura's author ("A; B"), or None when it took a sentence for a name."""
    if not value:
        return None
    names = [" ".join(part.split()) for part in value.split(";")]
    names = [n for n in names if n]
    if not names or any(len(n.split()) > 4 or len(n) > 40 for n in names):
        return None
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _clean(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None


def _iso_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _page_meta(root: Any) -> Meta:
    """What the page's markup says beyond trafilatura's fields: language, artist and album."""
    language = None
    for value in _attrs(
        root,
        "/html/@lang",
        "/html/@xml:lang",
        "//meta[translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')"
        "='content-language']/@content",
        "//meta[@name='language' or @name='dc.language' or @name='DC.language']/@content",
        "//meta[@property='og:locale']/@content",
    ):
        language = language_code(value)
        if language:
            break
    artist, album = _json_ld_album(root)
    artist = artist or next(_attrs(root, "//meta[@name='artist']/@content"), None)
    album = album or next(_attrs(root, "//meta[@name='album']/@content"), None)
    if artist is None and album is None:
        for value in _attrs(root, "//meta[@property='og:title']/@content", "//title/text()"):
            shaped = page_title(value)
            if shaped:
                artist, album = shaped
                break
    return Meta(artist=_clean(artist), album=_clean(album), language=language)


def _attrs(root: Any, *paths: str) -> Iterator[str]:
    for path in paths:
        try:
            values = root.xpath(path, namespaces={"xml": "http://www.w3.org/XML/1998/namespace"})
        except lxml.etree.XPathError:
            continue
        for value in values:
            text = " ".join(str(value).split())
            if text:
                yield text


def _json_ld_album(root: Any) -> tuple[str | None, str | None]:
    """Artist and album of a schema.org Review of a MusicAlbum, as music sites publish them."""
    for script in root.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text_content())
        except (ValueError, RecursionError):
            continue
        for item in _json_items(data):
            reviewed = item.get("itemReviewed")
            if isinstance(reviewed, list) and reviewed:
                reviewed = reviewed[0]
            if isinstance(reviewed, dict) and "Music" in str(reviewed.get("@type", "")):
                album = reviewed.get("name")
                artist = reviewed.get("byArtist")
                if isinstance(artist, list) and artist:
                    artist = artist[0]
                if isinstance(artist, dict):
                    artist = artist.get("name")
                return (
                    artist if isinstance(artist, str) else None,
                    album if isinstance(album, str) else None,
                )
    return None, None


def _json_items(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 4:
        return
    if isinstance(data, list):
        for entry in data:
            yield from _json_items(entry, depth + 1)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _json_items(data["@graph"], depth + 1)
