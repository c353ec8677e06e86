"""Reading review files (.txt, .md, .html) into Reviews: body, metadata, boilerplate, errors."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewcast.errors import ConfigError, ReviewcastError, ReviewError
from reviewcast.models import Block, Review
from reviewcast.reviews import MAX_REVIEW_BYTES, SUPPORTED_EXTENSIONS, parse_date, read_review

DATA = Path(__file__).parent / "data" / "reviews"
SAMPLE = DATA / "tron-ares-ost.txt"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def emphasised(block: Block) -> list[str]:
    return [block.text[start:end] for start, end in block.emphasis]


def blocks_of(review: Review, kind: str) -> list[Block]:
    return [b for b in review.blocks if b.kind == kind]


BODY = (
    "The second record by Low Tide is warmer than the first, and the band sounds at ease in a "
    "way that was missing before. The songs are shorter and the drums are louder."
)

# -- the real sample ----------------------------------------------------------------------------


def test_sample_metadata() -> None:
    review = read_review(SAMPLE)
    assert review.format == "text"
    assert review.source == SAMPLE
    assert review.title == "\"TRON: ARES OST\": It's not Trent's fault."
    assert review.artist == "Nine Inch Nails"
    assert review.album == "TRON: Ares (Original Motion Picture Soundtrack)"
    assert review.reviewer == "bizzo"
    assert review.date == dt.date(2025, 10, 12)
    assert review.language == "en"
    assert review.tracklist is None


def test_sample_body_is_only_the_review() -> None:
    review = read_review(SAMPLE)
    assert review.blocks[0].text.startswith("Sometimes there's a benefit to procrastination.")
    assert review.blocks[-1].text == "(Stream it on Youtube if you must.)"
    assert len(review.blocks) == 11
    assert all(b.kind == "paragraph" for b in review.blocks)
    for furniture in ("Reviews - Album of The Year", "updated on", "bizzo", "greyhound", "\xa0"):
        assert furniture not in review.text
    # Quotation marks stay in the text; the no-break space after "milieus." goes.
    assert review.blocks[3].text.startswith('"Init" and "Forked Reality" begin')
    assert review.blocks[3].text.endswith("promising milieus.")


def test_sample_bio_and_removed() -> None:
    review = read_review(SAMPLE)
    assert review.bio is not None
    assert review.bio.startswith("I'm a recovering former music journo")
    assert review.bio.endswith("time with my wonderful greyhound.")
    assert review.removed[:3] == (
        "Nine Inch Nails - TRON: Ares (Original Motion Picture Soundtrack) - Reviews - "
        "Album of The Year",
        "This article was updated on October 12, 2025",
        "bizzo",
    )
    assert len(review.removed) == 5


# -- plain text ---------------------------------------------------------------------------------


def test_text_joins_wrapped_lines_and_keeps_paragraphs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.txt",
        "The second record by Low Tide is warmer than the first,\nand the band sounds at ease.\n"
        "\n \n\nThe songs are shorter and\nthe drums are louder than ever before on a record.\n",
    )
    review = read_review(path)
    assert [b.text for b in review.blocks] == [
        "The second record by Low Tide is warmer than the first, and the band sounds at ease.",
        "The songs are shorter and the drums are louder than ever before on a record.",
    ]
    assert review.title is None  # the first line ends a sentence: the review's opening


def test_text_with_one_paragraph_a_line(tmp_path: Path) -> None:
    long = "The songs are shorter and the drums are louder, and the singer lets her voice crack"
    path = write(
        tmp_path,
        "r.txt",
        f"{long} when the words demand it.\n{long}\nat last, on the final song.\n{long}.\n",
    )
    review = read_review(path)
    assert [b.text for b in review.blocks] == [
        f"{long} when the words demand it.",
        f"{long} at last, on the final song.",
        f"{long}.",
    ]


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("Published on March 5, 2024", dt.date(2024, 3, 5)),
        ("Posted 5 March 2024", dt.date(2024, 3, 5)),
        ("Updated: 2024-03-05", dt.date(2024, 3, 5)),
        ("Posted by Maren Holt on March 5th, 2024", dt.date(2024, 3, 5)),
        ("Tuesday, March 5, 2024", dt.date(2024, 3, 5)),
    ],
)
def test_text_date_lines_give_the_date_and_are_not_read(
    tmp_path: Path, line: str, date: dt.date
) -> None:
    review = read_review(write(tmp_path, "r.txt", f"Lanterns in the rain\n\n{line}\n\n{BODY}\n"))
    assert review.date == date
    assert review.title == "Lanterns in the rain"
    assert review.text == BODY
    assert line in review.removed


def test_text_published_date_wins_over_updated(tmp_path: Path) -> None:
    text = f"Published on March 5, 2024\n\n{BODY}\n\nUpdated: 2024-04-01\n"
    assert read_review(write(tmp_path, "r.txt", text)).date == dt.date(2024, 3, 5)


def test_text_share_tags_and_comments_are_set_aside(tmp_path: Path) -> None:
    text = (
        f"{BODY}\n\nShare this:\nFacebook Twitter Email\n\nShare on Twitter\n\n\xa0\n\n"
        "Tags: Low Tide, ambient, reviews\n\n3 Comments\n\nGreat review, I agree with every word!"
        "\n\nAdvertisement\n"
    )
    review = read_review(write(tmp_path, "r.txt", text))
    assert review.text == BODY
    assert review.removed == (
        "Share this:",
        "Facebook Twitter Email",
        "Share on Twitter",
        "Tags: Low Tide, ambient, reviews",
        "3 Comments",
        "Great review, I agree with every word!",
        "Advertisement",
    )


def test_text_byline_gives_reviewer(tmp_path: Path) -> None:
    review = read_review(write(tmp_path, "r.txt", f"By Maren Holt, March 5, 2024\n\n{BODY}\n"))
    assert (review.reviewer, review.date) == ("Maren Holt", dt.date(2024, 3, 5))
    assert review.text == BODY


def test_text_headline_alone_gives_no_artist(tmp_path: Path) -> None:
    review = read_review(write(tmp_path, "r.txt", f"Low Tide - Harbour Lights\n\n{BODY}\n"))
    assert review.title == "Low Tide - Harbour Lights"
    assert review.artist is None and review.album is None
    assert review.text == BODY


def test_text_first_person_review_is_not_mistaken_for_a_bio(tmp_path: Path) -> None:
    text = f"{BODY}\n\nLanterns\n\nI'm a fan of this band, and I will be for a long time.\n"
    review = read_review(write(tmp_path, "r.txt", text))
    assert review.bio is None and review.reviewer is None
    assert "I'm a fan" in review.text


@pytest.mark.parametrize(
    ("tail", "reviewer"),
    [
        ("Maren Holt\n\nI'm a writer from Leeds. My first love is dub.", "Maren Holt"),
        ("About the author\n\nMaren Holt writes about quiet music from Leeds.", None),
        ("About Maren Holt\n\nShe writes about quiet music from Leeds.", "Maren Holt"),
        ("Share on Twitter\n\nI'm a writer from Leeds. My first love is dub.", None),
    ],
)
def test_text_bio_at_the_end(tmp_path: Path, tail: str, reviewer: str | None) -> None:
    review = read_review(write(tmp_path, "r.txt", f"{BODY}\n\n{tail}\n"))
    assert review.text == BODY
    assert review.reviewer == reviewer
    assert review.bio == tail.split("\n\n")[-1]


def test_text_lists_quotes_and_headings(tmp_path: Path) -> None:
    text = (
        f"{BODY}\n\nThe songs\n\n> We wanted it to sound\n> like the sea.\n\n"
        f"- Salt Road\n- Breakwater\n  (the single)\n\n{BODY}\n"
    )
    review = read_review(write(tmp_path, "r.txt", text))
    assert [(b.kind, b.text) for b in review.blocks[1:4]] == [
        ("heading", "The songs"),
        ("quote", "We wanted it to sound like the sea."),
        ("list", "Salt Road\nBreakwater (the single)"),
    ]


# -- Markdown -----------------------------------------------------------------------------------


def test_markdown_front_matter_metadata() -> None:
    review = read_review(DATA / "harbour-lights.md")
    assert review.format == "markdown"
    assert review.title == "Low Tide: Harbour Lights"
    assert (review.artist, review.album) == ("Low Tide", "Harbour Lights")
    assert review.reviewer == "Maren Holt"
    assert review.date == dt.date(2024, 3, 5)
    assert review.language == "en"  # "en-GB" in the front matter
    assert review.source_url == "https://quietear.example/reviews/harbour-lights"
    assert review.tracklist == ("Salt Road", "Breakwater", "Lanterns", "Harbour Lights")


def test_markdown_body_blocks_and_emphasis() -> None:
    review = read_review(DATA / "harbour-lights.md")
    kinds = [b.kind for b in review.blocks]
    assert kinds == ["paragraph", "heading", "paragraph", "quote", "list", "paragraph"]
    first, _, songs, quote, items, _ = review.blocks
    assert first.text.startswith("There is a moment on Harbour Lights where")
    assert "room breathe" in first.text  # the soft line break became a space
    assert emphasised(first) == ["Harbour Lights"]
    assert emphasised(songs) == ["single organ chord", "one take"]
    assert 'The opener, "Salt Road", drifts' in songs.text
    assert "read our interview for how" in songs.text
    assert quote.text == "We wanted it to sound like the sea at four in the morning."
    assert items.text == "Best track: Salt Road\nSkip: nothing"
    assert emphasised(items) == ["nothing"]


def test_markdown_drops_images_code_comments_and_link_targets() -> None:
    review = read_review(DATA / "harbour-lights.md")
    for gone in ("pier", "ffmpeg", "editor", "https://", "# Low Tide", "*", "[", "]"):
        assert gone not in review.text
    assert "Low Tide: Harbour Lights" not in review.text  # the headline is the title
    assert "$ ffmpeg -i lanterns.wav lanterns.mp3" in review.removed


def test_markdown_without_front_matter_takes_title_from_heading(tmp_path: Path) -> None:
    text = (
        "# Lanterns in the rain\n\n"
        + BODY
        + " ***All of it*** is <em>good</em>, **even *this* part**.\n"
    )
    review = read_review(write(tmp_path, "r.md", text))
    assert review.title == "Lanterns in the rain"
    assert review.artist is None
    (block,) = review.blocks
    assert block.text.endswith("All of it is good, even this part.")
    # ***x*** is emphasis and strong emphasis over the same words: one span.
    assert emphasised(block) == ["All of it", "good", "even this part", "this"]


def test_markdown_nested_emphasis_spans() -> None:
    from reviewcast.reviews.markdown import read_markdown

    parsed = read_markdown("**bold *and italic* text** then ***both***", Path("x.md"))
    (block,) = parsed.blocks
    assert block.text == "bold and italic text then both"
    assert block.emphasis == ((0, 20), (5, 15), (26, 30))


def test_markdown_front_matter_wrong_type_names_key(tmp_path: Path) -> None:
    path = write(tmp_path, "r.md", f"---\nartist: [a, b]\n---\n\n{BODY}\n")
    with pytest.raises(ReviewError, match=r"r\.md: front matter key 'artist' must be text"):
        read_review(path)


def test_markdown_leading_rule_without_closing_fence_is_not_front_matter(tmp_path: Path) -> None:
    review = read_review(write(tmp_path, "r.md", f"---\n\n{BODY}\n"))
    assert review.text == BODY


# -- HTML ---------------------------------------------------------------------------------------


def test_html_page_metadata() -> None:
    review = read_review(DATA / "quiet-ear-page.html")
    assert review.format == "html"
    assert review.title == "Low Tide: Harbour Lights"
    assert (review.artist, review.album) == ("Low Tide", "Harbour Lights")  # from <title>
    assert review.reviewer == "Maren Holt"
    assert review.date == dt.date(2024, 3, 5)
    assert review.language == "en"
    assert review.source_url == "https://quietear.example/reviews/harbour-lights"


def test_html_page_body_without_furniture() -> None:
    review = read_review(DATA / "quiet-ear-page.html")
    text = review.text
    for furniture in (
        "Home", "About us", "Search", "Most read", "Ten ambient records", "Privacy",
        "All rights reserved", "dataLayer", "Share this", "Facebook", "By Maren Holt",
    ):  # fmt: skip
        assert furniture not in text
    assert text.startswith("There is a moment on Harbour Lights where everything goes quiet.")
    assert [b.kind for b in review.blocks] == [
        "paragraph", "heading", "paragraph", "quote", "paragraph", "list",
    ]  # fmt: skip
    assert emphasised(review.blocks[0]) == ["Harbour Lights"]
    assert emphasised(review.blocks[2]) == ["single organ chord"]
    assert emphasised(review.blocks[4]) == ["Harbour Lights", "patient"]
    assert review.blocks[5].text == "Best track: Salt Road\nSkip: nothing"


def test_html_blog_page_of_the_sample() -> None:
    # The sample's text in a typical blog theme: author box, share links, comments, related.
    review = read_review(DATA / "tron-ares-ost-blog.html")
    assert review.title == "\"TRON: ARES OST\": It's not Trent's fault."
    assert (review.artist, review.album) == (
        "Nine Inch Nails",
        "TRON: Ares (Original Motion Picture Soundtrack)",
    )
    assert (review.reviewer, review.date) == ("bizzo", dt.date(2025, 10, 12))
    assert review.bio == (
        "I'm a recovering former music journo, news guy, and attorney.\n\n"
        "When I'm not rambling about music, I enjoy TTRPGs."
    )
    assert review.blocks[0].text.startswith("Sometimes there's a benefit")
    assert review.blocks[-1].text == "(Stream it on Youtube if you must.)"
    for furniture in ("updated on", "Share", "Twitter", "Comments", "Great review", "Related"):
        assert furniture not in review.text
    assert "This article was updated on October 12, 2025" in review.removed


def test_html_author_that_is_a_sentence_is_refused() -> None:
    from reviewcast.reviews.html import _author

    assert _author("Maren Holt") == "Maren Holt"
    assert _author("Ann Smith; Bob Jones") == "Ann Smith and Bob Jones"
    assert _author("Bizzo I'M A Recovering Former Music Journo; News Guy") is None
    assert _author(" ; ") is None


def test_html_fragment() -> None:
    review = read_review(DATA / "fragment.html")
    assert review.title == "Harbour Lights"
    assert [(b.kind, b.text, emphasised(b)) for b in review.blocks] == [
        (
            "paragraph",
            "There is a moment on Harbour Lights where everything goes quiet.",
            ["Harbour Lights"],
        ),
        ("quote", "We wanted it to sound like the sea.", []),
        (
            "paragraph",
            "The second side is quieter still, and better for it.",
            ["quieter", "better"],
        ),
        ("list", "Salt Road\nBreakwater", []),
    ]
    assert "CMS" not in review.text


def test_html_json_ld_and_lang_meta(tmp_path: Path) -> None:
    page = f"""<html><head>
    <meta http-equiv="Content-Language" content="de-DE">
    <script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Review",
      "itemReviewed": {{"@type": "MusicAlbum", "name": "Kreise",
        "byArtist": {{"@type": "MusicGroup", "name": "Nachtfahrt"}}}}}}</script>
    </head><body><article><p>{BODY}</p><p>{BODY}</p></article></body></html>"""
    review = read_review(write(tmp_path, "r.html", page))
    assert (review.artist, review.album, review.language) == ("Nachtfahrt", "Kreise", "de")


def test_html_with_xml_declaration_and_latin1_meta(tmp_path: Path) -> None:
    page = (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n<html><head>'
        '<meta charset="iso-8859-1"></head>'
        f"<body><p>Caf\u00e9 \u201cNoir\u201d \u2014 {BODY}</p></body></html>"
    )
    review = read_review(write(tmp_path, "r.htm", page.encode("utf-8")))
    assert review.text.startswith("Café “Noir” — The second record")


# -- German -------------------------------------------------------------------------------------


def test_german_review() -> None:
    review = read_review(DATA / "nachtfahrt.txt")
    assert review.title == "Nachtfahrt: „Kreise“ ist ein stilles Meisterwerk"
    assert review.language == "de"
    assert review.reviewer == "Jana Weber"
    assert review.date == dt.date(2024, 3, 3)
    assert review.artist is None
    assert len(review.blocks) == 3
    assert review.blocks[0].text.startswith("Manche Platten brauchen Zeit, und „Kreise“")
    assert "Tags" not in review.text and "Veröffentlicht" not in review.text


def test_language_left_unknown_when_unsure(tmp_path: Path) -> None:
    review = read_review(write(tmp_path, "r.txt", "Salt Road. Breakwater. Lanterns.\n"))
    assert review.language is None


# -- sidecar ------------------------------------------------------------------------------------


def test_sidecar_sets_metadata() -> None:
    review = read_review(DATA / "sidecar-review.txt")
    assert review.title == "Low Tide: Lanterns"  # overrides the headline
    assert (review.artist, review.album, review.reviewer) == ("Low Tide", "Lanterns", "Maren Holt")
    assert review.date == dt.date(2024, 11, 2)
    assert review.source_url == "https://quietear.example/reviews/lanterns"
    assert review.tracklist == ("Rain", "Lanterns", "Harbour Wall")
    assert review.text.startswith("The second record by Low Tide")


def test_sidecar_overrides_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "r.md", f"---\nartist: Low Tyde\nalbum: Lanterns\n---\n{BODY}\n")
    write(tmp_path, "r.toml", 'artist = "Low Tide"\ndate = "2 November 2024"\n')
    review = read_review(tmp_path / "r.md")
    assert (review.artist, review.album) == ("Low Tide", "Lanterns")
    assert review.date == dt.date(2024, 11, 2)


@pytest.mark.parametrize(
    ("sidecar", "message"),
    [
        ('artist = "Low Tide"\nalbum = = 3', r"r\.toml: the sidecar is not valid TOML: .*line 2"),
        ('artist = "Low Tide', r"r\.toml: the sidecar is not valid TOML: Unterminated string"),
        ('tracklist = "Rain", 2', r"r\.toml: the sidecar is not valid TOML"),
        ("tracklist = [1.5, true]", r"r\.toml: sidecar key 'tracklist' must be a list of track"),
        ("date = 12", r"r\.toml: sidecar key 'date' must be a date"),
        ('date = "soon"', r"r\.toml: sidecar key 'date' must be a date .* not 'soon'"),
        ("artist = 3.5e400\nalbum = []", r"r\.toml: sidecar key 'album' must be text"),
        ('language = "English please"', r"r\.toml: sidecar key 'language' must be a language code"),
        ('artits = "Low Tide"', r"r\.toml: unknown key 'artits'"),
    ],
)
def test_bad_sidecar(tmp_path: Path, sidecar: str, message: str) -> None:
    write(tmp_path, "r.txt", BODY)
    write(tmp_path, "r.toml", sidecar)
    with pytest.raises(ConfigError, match=message) as info:
        read_review(tmp_path / "r.txt")
    assert "\n" not in str(info.value)


# -- decoding -----------------------------------------------------------------------------------

SMART = "“Harbour Lights” is the band’s best record — it’s quiet… and you’ll love it, café."


@pytest.mark.parametrize(
    "data",
    [
        SMART.encode("utf-8"),
        b"\xef\xbb\xbf" + SMART.encode("utf-8"),
        SMART.encode("utf-16"),  # with a BOM, in the machine's byte order
        b"\xfe\xff" + SMART.encode("utf-16-be"),
        b"\xff\xfe" + SMART.encode("utf-16-le"),
        SMART.encode("cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-be", "utf-16-le", "windows-1252"],
)
def test_encodings(tmp_path: Path, data: bytes) -> None:
    assert read_review(write(tmp_path, "r.txt", data)).text == SMART


def test_utf16_without_bom(tmp_path: Path) -> None:
    assert read_review(write(tmp_path, "r.txt", SMART.encode("utf-16-le"))).text == SMART
    assert read_review(write(tmp_path, "r.txt", SMART.encode("utf-16-be"))).text == SMART


def test_utf8_with_stray_windows_1252_bytes(tmp_path: Path) -> None:
    data = "Café Noir and Señor Coconut. ".encode() + b"\x93Lanterns\x94 is lovely."
    text = read_review(write(tmp_path, "r.txt", data)).text
    assert text == "Café Noir and Señor Coconut. “Lanterns” is lovely."


def test_latin1_german(tmp_path: Path) -> None:
    text = "Die Platte klingt großartig. Über allem schwebt eine Stimme, schön und müde."
    assert read_review(write(tmp_path, "r.txt", text.encode("latin-1"))).text == text


def test_cyrillic_windows_1251(tmp_path: Path) -> None:
    text = "Это очень хороший альбом, и мне он нравится. Вторая сторона ещё лучше первой."
    assert read_review(write(tmp_path, "r.txt", text.encode("cp1251"))).text == text


def test_line_endings_and_nfc(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "Café Noir")
    data = f"{nfd} is good\r\nand calm.\r\n\r\nSecond\rparagraph here.".encode()
    review = read_review(write(tmp_path, "r.txt", data))
    assert [b.text for b in review.blocks] == [
        "Café Noir is good and calm.",
        "Second paragraph here.",
    ]
    assert review.blocks[0].text[3] == "\u00e9"


# -- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2025-10-12",
        "October 12, 2025",
        "Oct. 12, 2025",
        "12 October 2025",
        "12th of October 2025",
        "12. Oktober 2025",
        "Sunday, October 12, 2025",
        "2025-10-12T08:30:00+02:00",
    ],
)
def test_parse_date(text: str) -> None:
    assert parse_date(text, whole=True) == dt.date(2025, 10, 12)


@pytest.mark.parametrize("text", ["soon", "2025-13-12", "October 32, 2025", "12 October 2025 ish"])
def test_parse_date_refuses(text: str) -> None:
    assert parse_date(text, whole=True) is None


# -- bad input ----------------------------------------------------------------------------------


def check_error(path: Path, message: str) -> None:
    with pytest.raises(ReviewError) as info:
        read_review(path)
    text = str(info.value)
    assert text.startswith(f"{path}: "), text
    assert message in text
    assert "\n" not in text


def test_empty_file(tmp_path: Path) -> None:
    check_error(write(tmp_path, "x.txt", b""), "the file is empty")


def test_whitespace_only(tmp_path: Path) -> None:
    check_error(write(tmp_path, "x.md", " \n\t\r\n\xa0\n"), "nothing but whitespace")


def test_binary_nul_bytes(tmp_path: Path) -> None:
    check_error(write(tmp_path, "x.txt", b"ID3\x04\x00\x00\x00\x00\x00#TSSE"), "binary file")


def test_binary_control_bytes(tmp_path: Path) -> None:
    check_error(write(tmp_path, "x.html", bytes(range(1, 32)) * 4), "binary file")


def test_undecodable_bytes(tmp_path: Path) -> None:
    check_error(write(tmp_path, "x.md", bytes(range(128, 256)) * 3), "is not text in any encoding")


def test_undecodable_utf16(tmp_path: Path) -> None:
    check_error(write(tmp_path, "x.txt", b"\xff\xfe\x00\xd8a"), "not valid UTF-16-LE")


def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "x.docx", BODY)
    with pytest.raises(ReviewError) as info:
        read_review(path)
    assert str(info.value) == (
        f"{path}: unsupported file type '.docx'; reviewcast reads .txt, .md and .html"
    )
    assert set(SUPPORTED_EXTENSIONS) == {".txt", ".md", ".markdown", ".html", ".htm"}


def test_invalid_yaml_front_matter_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x.md", f"---\ntitle: Lanterns\nartist: Low: Tide: x\n---\n{BODY}")
    check_error(path, "line 3: front matter is not valid YAML: mapping values are not allowed")


def test_impossible_date_in_front_matter(tmp_path: Path) -> None:
    check_error(write(tmp_path, "x.md", f"---\ndate: 2025-02-30\n---\n{BODY}"), "front matter")


def test_front_matter_that_is_not_a_mapping(tmp_path: Path) -> None:
    check_error(write(tmp_path, "x.md", f"---\njust text\n---\n{BODY}"), "key: value")


def test_no_words_left(tmp_path: Path) -> None:
    text = "Published on March 5, 2024\n\nShare on Twitter\n\nTags: ambient\n"
    check_error(write(tmp_path, "x.txt", text), "no words left")


def test_markup_only(tmp_path: Path) -> None:
    check_error(write(tmp_path, "x.html", "<div><img src='a.png'><!-- hi --></div>"), "no words")


def test_file_not_found(tmp_path: Path) -> None:
    check_error(tmp_path / "missing.txt", "file not found")


def test_folder(tmp_path: Path) -> None:
    (tmp_path / "dir.md").mkdir()
    check_error(tmp_path / "dir.md", "is a folder")


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, whom chmod does not stop: refuse the open itself.
    path = write(tmp_path, "x.txt", BODY)
    real_open = Path.open

    def deny(self: Path, *args: object, **kwargs: object) -> object:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", deny)
    check_error(path, "cannot be read: permission denied")


def test_too_big(tmp_path: Path) -> None:
    path = write(tmp_path, "x.txt", b"a" * (MAX_REVIEW_BYTES + 1))
    check_error(path, "larger than 5 MB")


def test_exactly_at_the_limit_is_read(tmp_path: Path) -> None:
    line = (BODY + "\n\n").encode()
    data = line * (MAX_REVIEW_BYTES // len(line))
    review = read_review(write(tmp_path, "x.txt", data))
    assert len(review.blocks) == MAX_REVIEW_BYTES // len(line)


# -- anything at all ----------------------------------------------------------------------------

_fragments = st.sampled_from(
    [
        "---\n", "title: x\n", "# ", "*", "**", "_", "> ", "- ", "1. ", "<em>", "</em>", "<p>",
        "<html lang='de'>", "<body>", "<!--", "-->", "```\n", "\n\n", "\r\n", "\xa0", "Share on",
        "Posted on October 12, 2025\n", "By Maren Holt\n", "I'm a ", "Comments\n", "\x00",
        "\ufeff", "[link](http://x)", "![i](a.png)", "<script>", "&amp;", "\u201c", "é",
    ]
)  # fmt: skip
_noise = st.one_of(
    st.binary(max_size=400),
    st.lists(st.one_of(_fragments, st.text(max_size=30)), max_size=30).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=_noise, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_any_bytes_give_a_review_or_a_reviewcast_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = write(tmp_path, "fuzz" + suffix, data)
    try:
        review = read_review(path)
    except ReviewcastError as error:
        assert "\n" not in str(error)
    else:
        assert review.blocks
        assert all(b.text and b.text == b.text.strip() for b in review.blocks)
        for block in review.blocks:
            assert all(0 <= s < e <= len(block.text) for s, e in block.emphasis)
