"""Generated covers and checks on a user's own artwork."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from reviewcast.artwork import MAX_JPEG_BYTES, check_artwork, episode_cover, show_cover
from reviewcast.errors import ConfigError


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture(scope="module")
def cover() -> bytes:
    return show_cover("Sigur Rós & Friends: a Review Podcast")


def test_show_cover_is_a_square_jpeg_of_apples_minimum_size(cover: bytes) -> None:
    image = open_image(cover)
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    assert image.size == (1400, 1400)
    assert len(cover) < MAX_JPEG_BYTES
    assert image.info.get("progressive") is None  # baseline: some old players need it


def test_show_cover_is_deterministic_and_depends_on_the_title(cover: bytes) -> None:
    assert show_cover("Sigur Rós & Friends: a Review Podcast") == cover
    other = open_image(show_cover("Completely Different Show"))
    difference = ImageChops.difference(open_image(cover), other)
    # Different colours, not just different words: the whole picture changes.
    assert sum(ImageStat.Stat(difference).mean) > 30


def test_show_cover_carries_the_title_as_bright_type(cover: bytes) -> None:
    image = open_image(cover).convert("L")
    band = image.crop((100, 500, 1300, 1070))  # where the title is set
    plain = open_image(show_cover("")).convert("L").crop((100, 500, 1300, 1070))
    # White type: many near-white pixels with the title, almost none without it.
    assert sum(band.histogram()[230:]) > 20_000
    assert sum(plain.histogram()[230:]) < 2_000


@pytest.mark.parametrize(
    "title",
    [
        "X",
        "A" * 300,  # one enormous word
        " ".join(["Supercalifragilistic"] * 40),  # far too many words
        "Björk — Ágætis 🎵 中文 שלום",  # glyphs the font lacks are left out, not boxed
    ],
)
def test_awkward_titles_still_give_a_valid_cover(title: str) -> None:
    image = open_image(show_cover(title))
    assert image.size == (1400, 1400)


def test_larger_sizes_scale(cover: bytes) -> None:
    data = show_cover("Sigur Rós & Friends: a Review Podcast", size=3000)
    assert open_image(data).size == (3000, 3000)
    assert len(data) < MAX_JPEG_BYTES


def test_episode_cover_sets_album_and_artist_in_a_dark_band(cover: bytes) -> None:
    data = episode_cover(cover, "Ágætis byrjun", "Sigur Rós")
    image = open_image(data)
    assert (image.format, image.size) == ("JPEG", (1400, 1400))
    assert len(data) < MAX_JPEG_BYTES
    grey = image.convert("L")
    base = open_image(cover).convert("L")
    band, above = (0, 1150, 1400, 1400), (0, 0, 1400, 1000)
    # The band is darker than the art it covers, and holds white type.
    assert ImageStat.Stat(grey.crop(band)).median[0] < ImageStat.Stat(base.crop(band)).median[0]
    assert sum(grey.crop(band).histogram()[220:]) > 3_000
    # The rest of the art is left as it was (up to JPEG noise).
    assert ImageStat.Stat(ImageChops.difference(grey.crop(above), base.crop(above))).mean[0] < 2
    assert episode_cover(cover, "Ágætis byrjun", "Sigur Rós") == data
    assert episode_cover(cover, "Another Album", "Sigur Rós") != data


def test_episode_cover_without_album_or_artist_is_the_plain_art(cover: bytes) -> None:
    plain = open_image(episode_cover(cover, None, None))
    difference = ImageChops.difference(plain.convert("L"), open_image(cover).convert("L"))
    assert ImageStat.Stat(difference).mean[0] < 2


def test_episode_cover_fits_user_art_of_any_size() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (2000, 1500), (10, 120, 200, 255)).save(out, "PNG")
    image = open_image(episode_cover(out.getvalue(), "A very long album title " * 6, None))
    assert (image.format, image.size) == ("JPEG", (1400, 1400))


# -- a user's artwork ------------------------------------------------------------------------


def save(path: Path, size: tuple[int, int], kind: str, mode: str = "RGB") -> Path:
    Image.new(mode, size, "teal" if mode == "RGB" else 0).save(path, kind)
    return path


def test_check_artwork_accepts_square_png_and_jpeg(tmp_path: Path) -> None:
    png = save(tmp_path / "art.png", (1400, 1400), "PNG")
    assert check_artwork(png) == (png.read_bytes(), "image/png")
    jpeg = save(tmp_path / "art.jpg", (3000, 3000), "JPEG")
    assert check_artwork(jpeg) == (jpeg.read_bytes(), "image/jpeg")


@pytest.mark.parametrize(
    ("size", "shown"),
    [((800, 600), "800×600"), ((1000, 1000), "1000×1000"), ((3200, 3200), "3200×3200"),
     ((1400, 1500), "1400×1500")],
)  # fmt: skip
def test_check_artwork_refuses_wrong_sizes(
    tmp_path: Path, size: tuple[int, int], shown: str
) -> None:
    path = save(tmp_path / "art.png", size, "PNG")
    with pytest.raises(ConfigError) as caught:
        check_artwork(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"is {shown} px" in message
    assert "square image of 1400–3000 px" in message


def test_check_artwork_refuses_other_formats(tmp_path: Path) -> None:
    path = save(tmp_path / "art.gif", (1400, 1400), "GIF", mode="P")
    with pytest.raises(ConfigError, match=r"is a GIF image; podcast apps need JPEG or PNG"):
        check_artwork(path)


def test_check_artwork_refuses_cmyk(tmp_path: Path) -> None:
    path = tmp_path / "art.jpg"
    Image.new("CMYK", (1400, 1400), (0, 0, 0, 0)).save(path, "JPEG")
    with pytest.raises(ConfigError, match="CMYK"):
        check_artwork(path)


def test_check_artwork_refuses_what_is_not_an_image(tmp_path: Path) -> None:
    text = tmp_path / "art.png"
    text.write_text("not a picture", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not an image that can be read") as caught:
        check_artwork(text)
    assert str(text) in str(caught.value)

    truncated = tmp_path / "cut.png"
    truncated.write_bytes(save(tmp_path / "whole.png", (1400, 1400), "PNG").read_bytes()[:200])
    with pytest.raises(ConfigError, match="is not an image that can be read"):
        check_artwork(truncated)


def test_check_artwork_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="artwork file not found") as caught:
        check_artwork(tmp_path / "nope.jpg")
    assert "leave `artwork` empty" in str(caught.value)
    assert caught.value.exit_code == 2
