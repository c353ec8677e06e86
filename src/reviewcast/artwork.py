"""Cover art: a generated cover for a show, an episode's variant of it, and checks on a user's own.

Podcast apps want square JPEG or PNG art of 1400–3000 px (Apple's rule) and small files; Pocket
Casts only shows art that is embedded in the MP3, so every episode carries a copy.
"""

from __future__ import annotations

import colorsys
import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.resources
import io
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from reviewcast.errors import ConfigError, ReviewcastError
from reviewcast.fsutil import atomic_write_bytes

#: Apple Podcasts' bounds for the side of square artwork, in pixels.
MIN_SIDE = 1400
MAX_SIDE = 3000
#: Apple recommends small artwork; generated JPEGs stay well below this.
MAX_JPEG_BYTES = 500_000

#: Where a generated cover's title ends, as a fraction of the side: clear of episode bands.
_TITLE_BOTTOM = 0.76

_MIMES = {"JPEG": "image/jpeg", "PNG": "image/png"}
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_RGB = tuple[int, int, int]


#: Text set on a cover is cut to this many characters before it is fitted: no 1400 px cover can
#: show more legibly, and fitting a 10,000-character name took 27 s.
MAX_COVER_TEXT = 200

#: Where drawn covers are kept, under the show folder: drawing the show's cover took 0.5 s and
#: an episode's 0.24 s of CPU, on every render. Entries are named by a digest of what they are
#: drawn from, so a changed title, album or show art simply misses.
ART_CACHE = Path(".reviewcast") / "cache" / "art"
#: Part of every entry's name: change it whenever a change here draws different pixels.
DRAWING_VERSION = "2"


def show_cover(title: str, size: int = MIN_SIDE, *, cache_in: Path | None = None) -> bytes:
    """A generated square JPEG cover for a show: the title on a gradient derived from it.

    Deterministic: the same title and size give the same bytes on the same Pillow and font.
    With ``cache_in`` (a show folder), a cover drawn before is read from its ART_CACHE.
    """
    if cache_in is not None:
        key = ("show", title, str(size))
        return _cached(cache_in, key, lambda: show_cover(title, size))
    digest = hashlib.sha256(title.strip().encode("utf-8")).digest()
    top, bottom, accent = _palette(digest)
    image = _gradient(size, top, bottom, angle=digest[3] / 255 * 90)
    _rings(image, accent, digest)

    draw = ImageDraw.Draw(image)
    scale = size / MIN_SIDE
    margin = round(120 * scale)
    _podcast_mark(draw, (margin, margin), round(44 * scale))

    text = _renderable(title[:MAX_COVER_TEXT], _font(bold=True, size=100))
    if text:
        box_width = size - 2 * margin
        # The title ends above the bottom fifth, which episode_cover() fills with its band.
        text_bottom = round(size * _TITLE_BOTTOM)
        box_height = text_bottom - round(size * 0.2)
        font, lines = _fit_text(text, box_width, box_height, max_size=round(190 * scale))
        line_height = _line_height(font)
        y = text_bottom - line_height * len(lines)
        for line in lines:
            # A dark drop shadow keeps white type readable on the lighter end of the gradient.
            shadow = max(2, round(4 * scale))
            draw.text((margin + shadow, y + shadow), line, font=font, fill=(0, 0, 0))
            draw.text((margin, y), line, font=font, fill=(255, 255, 255))
            y += line_height
    return _jpeg(image)


def episode_cover(
    base: bytes,
    album: str | None,
    artist: str | None,
    size: int = MIN_SIDE,
    *,
    cache_in: Path | None = None,
) -> bytes:
    """The show's art with the album and artist set in a band along the bottom, as JPEG.

    With ``cache_in`` (a show folder), a cover drawn before is read from its ART_CACHE.
    """
    if cache_in is not None:
        key = ("episode", hashlib.sha256(base).hexdigest(), repr(album), repr(artist), str(size))
        return _cached(cache_in, key, lambda: episode_cover(base, album, artist, size))
    try:
        with Image.open(io.BytesIO(base)) as opened:
            image = ImageOps.fit(opened.convert("RGB"), (size, size), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as exc:
        raise ConfigError(f"the show's artwork cannot be read as an image: {exc}") from exc

    lines = [
        (text[:MAX_COVER_TEXT], bold)  # no cover shows more; fitting longer text is quadratic
        for text, bold in ((album, True), (artist, False))
        if text and _renderable(text[:MAX_COVER_TEXT], _font(bold=bold, size=100))
    ]
    if not lines:
        return _jpeg(image)

    scale = size / MIN_SIDE
    pad = round(60 * scale)
    sizes = [round(96 * scale) if bold else round(68 * scale) for _, bold in lines]
    gap = round(16 * scale)
    band_height = 2 * pad + sum(sizes) + gap * (len(lines) - 1)

    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rectangle((0, size - band_height, size, size), fill=(0, 0, 0, 200))
    image = Image.alpha_composite(image.convert("RGBA"), overlay)
    draw = ImageDraw.Draw(image)
    y = size - band_height + pad
    for (text, bold), font_size in zip(lines, sizes, strict=True):
        font = _font(bold=bold, size=font_size)
        # Long names shrink a little before they lose their end to an ellipsis.
        for smaller in (round(font_size * 0.85), round(font_size * 0.72)):
            if font.getlength(_renderable(text, font)) <= size - 2 * pad:
                break
            font = _font(bold=bold, size=smaller)
        shown = _ellipsize(_renderable(text, font), font, size - 2 * pad)
        colour = (255, 255, 255) if bold else (225, 225, 225)
        # Anchor "ls" (left, baseline) keeps the baseline where the size budget put it.
        draw.text((pad, y + font_size * 0.8), shown, font=font, fill=colour, anchor="ls")
        y += font_size + gap
    return _jpeg(image.convert("RGB"))


def check_artwork(path: Path) -> tuple[bytes, str]:
    """A user's artwork file as (bytes, MIME type), once it meets podcast apps' rules."""
    hint = "or leave `artwork` empty in show.toml to use generated art"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"artwork file not found; fix the path, {hint}.", path=path) from None
    except OSError as exc:
        raise ConfigError(f"artwork file cannot be read: {exc.strerror}.", path=path) from exc
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decodes the pixels, so that truncated files fail here
            kind, (width, height), mode = image.format or "", image.size, image.mode
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ConfigError(
            f"is not an image that can be read ({exc}); "
            f"podcast apps need a JPEG or PNG file, {hint}.",
            path=path,
        ) from exc
    if kind not in _MIMES:
        raise ConfigError(
            f"is a {kind or 'unknown'} image; podcast apps need JPEG or PNG. Convert it, {hint}.",
            path=path,
        )
    if width != height or not MIN_SIDE <= width <= MAX_SIDE:
        raise ConfigError(
            f"is {width}×{height} px; podcast apps need a square image of "
            f"{MIN_SIDE}–{MAX_SIDE} px. Resize or crop it, {hint}.",
            path=path,
        )
    if mode == "CMYK":
        raise ConfigError(
            f"is a CMYK JPEG; podcast apps need RGB colour. Save it as RGB, {hint}.",
            path=path,
        )
    return data, _MIMES[kind]


# -- the cache -----------------------------------------------------------------------------


def cache_path(show: Path, key: tuple[str, ...]) -> Path:
    """The ART_CACHE entry of the cover drawn from ``key``, by this drawing code and Pillow."""
    h = hashlib.sha256()
    for part in (DRAWING_VERSION, PIL.__version__, _font_version(), *key):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big") + data)
    name = h.hexdigest()
    return show / ART_CACHE / name[:2] / f"{name}.art"


def _cached(show: Path, key: tuple[str, ...], draw: Callable[[], bytes]) -> bytes:
    """The cover from the cache, else drawn and kept. An entry is the SHA-256 of the JPEG and
    the JPEG: one that is empty, cut short or damaged fails the check and is drawn again."""
    path = cache_path(show, key)
    try:
        entry = path.read_bytes()
    except OSError:
        entry = b""
    jpeg = entry[32:]
    if jpeg and hashlib.sha256(jpeg).digest() == entry[:32]:
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the cache's pruning removes it last
        return jpeg
    jpeg = draw()
    # Not fsynced: after a power cut the check above catches a damaged entry. A cache that
    # cannot be written (a full disk) only means drawing the cover again next time.
    with contextlib.suppress(ReviewcastError):
        atomic_write_bytes(path, hashlib.sha256(jpeg).digest() + jpeg, durable=False)
    return jpeg


@functools.cache
def _font_version() -> str:
    try:
        return "font-source-sans-pro " + importlib.metadata.version("font-source-sans-pro")
    except importlib.metadata.PackageNotFoundError:
        return "Pillow's font"


# -- drawing -------------------------------------------------------------------------------


def _palette(digest: bytes) -> tuple[_RGB, _RGB, _RGB]:
    """Two gradient colours and an accent, dark enough under white type, from a title's hash."""
    hue = int.from_bytes(digest[:2], "big") / 65535
    spread = 0.08 + digest[2] / 255 * 0.14  # a neighbouring hue, never a clashing one

    def rgb(h: float, s: float, v: float) -> _RGB:
        r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
        return round(r * 255), round(g * 255), round(b * 255)

    return rgb(hue, 0.70, 0.52), rgb(hue + spread, 0.80, 0.22), rgb(hue - spread, 0.45, 0.80)


def _gradient(size: int, top: _RGB, bottom: _RGB, angle: float) -> Image.Image:
    """A square linear gradient from ``top`` to ``bottom``, tilted by ``angle`` degrees."""
    # The ramp runs down a square 1.5 times the side, turned about the centre (as Pillow's
    # rotate would turn it, to a grey level, at a tenth of the cost).
    centred = np.arange(size) - (size - 1) / 2
    turn = math.radians(angle)
    along = (math.sin(turn) * centred)[None, :] + (math.cos(turn) * centred)[:, None]
    levels = np.clip(np.round(along / (size * 3 // 2) * 256 + 127.5), 0, 255)
    mask = Image.fromarray(levels.astype(np.uint8), "L")
    return Image.composite(
        Image.new("RGB", (size, size), bottom), Image.new("RGB", (size, size), top), mask
    )


def _rings(image: Image.Image, accent: _RGB, digest: bytes) -> None:
    """Faint concentric rings, like a record's grooves or a sound wave, off to one corner."""
    size = image.width
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    cx = round(size * (0.70 + digest[4] / 255 * 0.25))
    cy = round(size * (0.05 + digest[5] / 255 * 0.25))
    width = max(2, size // 140)
    for i in range(1, 9):
        radius = round(size * 0.09 * i)
        alpha = max(14, 70 - 7 * i)
        draw.ellipse(
            (cx - radius, cy - radius, cx + radius, cy + radius),
            outline=(*accent, alpha),
            width=width,
        )
    image.paste(Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB"))


def _podcast_mark(draw: ImageDraw.ImageDraw, origin: tuple[int, int], height: int) -> None:
    """A small microphone-and-waves glyph and the word PODCAST."""
    x, y = origin
    white = (255, 255, 255)
    stroke = max(2, height // 10)
    # The microphone: a capsule, a cradle and a stand.
    cap_w = height * 2 // 5
    draw.rounded_rectangle((x, y, x + cap_w, y + height * 3 // 5), radius=cap_w // 2, fill=white)
    cradle = (x - stroke * 2, y + height // 4, x + cap_w + stroke * 2, y + height * 4 // 5)
    draw.arc(cradle, start=0, end=180, fill=white, width=stroke)
    mid = x + cap_w // 2
    draw.line((mid, y + height * 4 // 5, mid, y + height), fill=white, width=stroke)
    font = _font(bold=True, size=height * 3 // 4)
    text_x = x + cap_w + height // 2
    for letter in "PODCAST":  # letter-spaced by hand: Pillow has no tracking setting
        draw.text((text_x, y + height // 2), letter, font=font, fill=white, anchor="lm")
        text_x += round(font.getlength(letter) + height * 0.18)


def _fit_text(text: str, width: int, height: int, max_size: int) -> tuple[_Font, list[str]]:
    """The largest font (down to a floor) whose wrapped lines fit the box, and those lines."""
    size = max_size
    while True:
        font = _font(bold=True, size=size)
        lines = _wrap(text, font, width)
        fits = _line_height(font) * len(lines) <= height and all(
            font.getlength(line) <= width for line in lines
        )
        if fits or size <= 40:
            if not fits:
                # Still too long at the smallest size: keep what fits and mark the cut.
                lines = lines[: max(1, height // _line_height(font))]
                lines[-1] = _ellipsize(lines[-1] + " …", font, width)
            return font, lines
        size = round(size * 0.92)


def _wrap(text: str, font: _Font, width: int) -> list[str]:
    """Greedy word wrap by rendered width; a word wider than a line is split by characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while font.getlength(current) > width and len(current) > 1:
            cut = len(current) - 1
            while cut > 1 and font.getlength(current[:cut] + "-") > width:
                cut -= 1
            lines.append(current[:cut] + "-")
            current = current[cut:]
    if current:
        lines.append(current)
    return lines


def _ellipsize(text: str, font: _Font, width: int) -> str:
    """``text`` cut at a word (or character) so that it and an ellipsis fit ``width``."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text.rstrip() + "…") > width:
        text = text[:-1]
    return text.rstrip(" ,;:-–—") + "…"


def _line_height(font: _Font) -> int:
    ascent, descent = font.getmetrics() if isinstance(font, ImageFont.FreeTypeFont) else (10, 2)
    return round((ascent + descent) * 1.02)


def _renderable(text: str, font: _Font) -> str:
    """``text`` without the characters the font has no glyph for (emoji, scripts it lacks).

    A missing glyph draws as the font's empty box, which looks broken on a cover; leaving the
    character out keeps the rest readable.
    """
    missing = _missing_glyph(font)
    kept = "".join(ch for ch in text if ch.isspace() or _glyph(font, ch) != missing)
    return " ".join(kept.split())


def _glyph(font: _Font, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def _missing_glyph(font: _Font) -> tuple[tuple[int, int], bytes]:
    # A private-use code point no font maps, so it renders as the .notdef glyph.
    return _glyph(font, "\U0010fffd")


@functools.lru_cache(maxsize=64)
def _font(*, bold: bool, size: int) -> _Font:
    """Source Sans Pro from the font-source-sans-pro package, else Pillow's built-in font.

    A font shipped as a Python package keeps covers identical on every machine; system fonts
    would differ from one to the next. Pillow's own font lacks accented letters, hence the
    package.
    """
    name = "SourceSansPro-Bold.ttf" if bold else "SourceSansPro-Regular.ttf"
    try:
        font_file = importlib.resources.files("font_source_sans_pro") / "files" / name
        with importlib.resources.as_file(font_file) as path:
            return ImageFont.truetype(str(path), size)
    except (ModuleNotFoundError, OSError):
        return ImageFont.load_default(size=size)


def _jpeg(image: Image.Image) -> bytes:
    """Baseline JPEG without metadata, small enough for podcast apps."""
    for quality in (90, 85, 80, 70, 60):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, optimize=True, subsampling="4:2:0")
        if out.tell() <= MAX_JPEG_BYTES:
            break
    return out.getvalue()
