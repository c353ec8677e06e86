"""Review files → :class:`~reviewcast.models.Review`: the first stage of the pipeline.

    read_review(path) ─▶ bytes (size guard) ─▶ text (encoding, NFC) ─▶ format reader
        ─▶ blocks + metadata + removed boilerplate ─▶ sidecar overrides ─▶ Review

Formats: ``.txt`` (plain text, often pasted from a web page), ``.md``/``.markdown`` (CommonMark
with optional YAML front matter) and ``.html``/``.htm`` (a whole page or a fragment).
A sidecar ``<stem>.toml`` beside the review sets or overrides any metadata key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from reviewcast.errors import ReviewError
from reviewcast.models import Review
from reviewcast.reviews.blocks import Parsed
from reviewcast.reviews.decode import MAX_REVIEW_BYTES, decode, read_bytes
from reviewcast.reviews.language import detect_language
from reviewcast.reviews.metadata import KEYS, Meta, load_sidecar, parse_date, sidecar_path

__all__ = [
    "KEYS",
    "MAX_REVIEW_BYTES",
    "SUPPORTED_EXTENSIONS",
    "parse_date",
    "read_review",
    "sidecar_path",
]

Format = Literal["text", "markdown", "html"]
# What str.isalnum() accepts: word characters less the underscore. A regex scans 4 MB at once.
_ALNUM = re.compile(r"[^\W_]")

#: File extensions reviewcast reads, and the format of each.
SUPPORTED_EXTENSIONS: dict[str, Format] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}


def read_review(path: Path) -> Review:
    """Read a review file and its sidecar; ReviewError if unusable, ConfigError for the sidecar."""
    path = Path(path)
    suffix = path.suffix.lower()
    form = SUPPORTED_EXTENSIONS.get(suffix)
    if form is None:
        shown = f"'{path.suffix}'" if path.suffix else "(none)"
        raise ReviewError(
            f"unsupported file type {shown}; reviewcast reads .txt, .md and .html", path=path
        )
    text = decode(read_bytes(path), path)
    parsed = _parse(form, text, path)
    sidecar = load_sidecar(path)
    meta = parsed.meta.override(sidecar)
    if not any(_ALNUM.search(block.text) for block in parsed.blocks):
        if parsed.removed:
            raise ReviewError(
                "no words left to read once page furniture (titles, dates, share links, "
                "the author's bio) is set aside",
                path=path,
            )
        raise ReviewError("holds no words to read (only markup or punctuation)", path=path)
    if meta.language is None:
        meta = meta.fill(Meta(language=detect_language(" ".join(b.text for b in parsed.blocks))))
    return Review(
        source=path,
        format=form,
        blocks=parsed.blocks,
        title=meta.title,
        artist=meta.artist,
        album=meta.album,
        reviewer=meta.reviewer,
        date=meta.date,
        language=meta.language,
        bio=meta.bio,
        source_url=meta.source_url,
        tracklist=meta.tracklist,
        removed=parsed.removed,
        lexicon=meta.lexicon or (),
    )


def _parse(form: Format, text: str, path: Path) -> Parsed:
    # Imported here so that reading a text review does not load trafilatura.
    if form == "text":
        from reviewcast.reviews.text import read_text

        return read_text(text)
    if form == "markdown":
        from reviewcast.reviews.markdown import read_markdown

        return read_markdown(text, path)
    from reviewcast.reviews.html import read_html

    return read_html(text)
