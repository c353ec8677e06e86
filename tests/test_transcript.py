"""Transcripts and JSON chapters, read back by a real WebVTT/SRT parser and against the spec."""

from __future__ import annotations

import html
import io
import itertools
import json
import re

import pytest
import webvtt
from hypothesis import given
from hypothesis import strategies as st

from reviewcast.models import Chapter, Cue
from reviewcast.transcript import LINE_LENGTH, MAX_LINES, chapters_json, format_timestamp, srt
from reviewcast.transcript import webvtt as to_webvtt

LONG = (
    "Björk's third album opens with strings that sound like weather, and by the time the "
    "beats arrive the record has already told you where it is going: somewhere cold, bright "
    "and very close to the microphone."
)


def cues() -> list[Cue]:
    return [
        Cue(0.0, 2.5, "Welcome to the show.", "intro"),
        Cue(2.5, 12.25, LONG, "review"),
        Cue(12.25, 13.0, "", "cue"),  # a silent music cue: nothing to caption
        Cue(13.0, 14.5, "Rock & roll <live> --> 100%", "quote"),
        Cue(3725.5, 3727.125, "An hour in.", "outro"),
    ]


def parse_vtt(text: str) -> list[webvtt.Caption]:
    return webvtt.from_string(text).captions


def vtt_text(caption: webvtt.Caption) -> str:
    """A caption's text as a player shows it: entities decoded."""
    return html.unescape(caption.raw_text)


def parse_srt(text: str) -> list[webvtt.Caption]:
    return webvtt.from_buffer(io.StringIO(text), format="srt").captions


def seconds(clock: str) -> float:
    hours, minutes, rest = clock.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


# -- WebVTT ----------------------------------------------------------------------------------


def test_webvtt_has_header_and_exact_timings() -> None:
    text = to_webvtt(cues())
    assert text.startswith("WEBVTT\n\n")
    captions = parse_vtt(text)
    assert (captions[0].start, captions[0].end, captions[0].text) == (
        "00:00:00.000",
        "00:00:02.500",
        "Welcome to the show.",
    )
    assert (captions[-1].start, captions[-1].end) == ("01:02:05.500", "01:02:07.125")
    assert "\n\n\n" not in text


def test_webvtt_wraps_long_cues_into_two_line_captions_that_keep_every_word() -> None:
    captions = parse_vtt(to_webvtt(cues()))
    long_parts = [c for c in captions if 2.5 <= seconds(c.start) < 12.25]
    assert len(long_parts) > 1  # 200 characters do not fit in one caption of 2 × 42
    for caption in long_parts:
        lines = caption.text.split("\n")
        assert 1 <= len(lines) <= MAX_LINES
        assert all(len(line) <= LINE_LENGTH for line in lines)
    assert " ".join(c.text.replace("\n", " ") for c in long_parts) == LONG
    # The pieces share the cue's time, end to end.
    assert long_parts[0].start == "00:00:02.500"
    assert long_parts[-1].end == "00:00:12.250"
    for before, after in itertools.pairwise(long_parts):
        assert before.end == after.start


def test_webvtt_escapes_markup_and_skips_empty_cues() -> None:
    text = to_webvtt(cues())
    assert "Rock &amp; roll &lt;live&gt; --&gt; 100%" in text
    assert "<live>" not in text
    captions = parse_vtt(text)
    assert all(c.text.strip() for c in captions)
    assert not any(seconds(c.start) == 12.25 for c in captions)  # the empty cue
    # Decoded, the caption says what the cue said.
    assert any(vtt_text(c) == "Rock & roll <live> --> 100%" for c in captions)


def test_overlapping_cues_are_moved_not_dropped() -> None:
    overlapping = [
        Cue(0.0, 3.0, "First sentence.", "review"),
        Cue(2.0, 4.0, "Second, starting early.", "review"),
        Cue(2.5, 2.6, "Third, inside the second.", "review"),
    ]
    captions = parse_vtt(to_webvtt(overlapping))
    assert [c.text for c in captions] == [
        "First sentence.",
        "Second, starting early.",
        "Third, inside the second.",
    ]
    for before, after in itertools.pairwise(captions):
        assert seconds(before.end) <= seconds(after.start)
    assert all(seconds(c.end) > seconds(c.start) for c in captions)
    assert (captions[1].start, captions[1].end) == ("00:00:03.000", "00:00:04.000")


@given(
    st.lists(
        st.tuples(
            st.floats(0, 10_000, allow_nan=False),
            st.floats(0, 60, allow_nan=False),
            st.text(min_size=0, max_size=300),
        ),
        max_size=12,
    )
)
def test_any_cues_give_parseable_ordered_captions(raw: list[tuple[float, float, str]]) -> None:
    made = [Cue(start, start + length, text, "review") for start, length, text in raw]
    text = to_webvtt(made)
    captions = parse_vtt(text)
    in_order = sorted(made, key=lambda c: (c.start, c.end))
    assert [w for c in captions for w in vtt_text(c).split()] == [
        w for cue in in_order for w in cue.text.split()
    ]
    for caption in captions:
        assert seconds(caption.end) > seconds(caption.start)
        assert len(caption.raw_text.split("\n")) <= MAX_LINES
    for before, after in itertools.pairwise(captions):
        assert seconds(before.end) <= seconds(after.start)
    if captions:
        assert [(c.start, c.end, c.raw_text) for c in parse_srt(srt(made))] == [
            (c.start, c.end, vtt_text(c)) for c in captions
        ]


# -- SRT ---------------------------------------------------------------------------------------


def test_srt_is_numbered_with_comma_milliseconds_and_round_trips() -> None:
    text = srt(cues())
    blocks = text.strip().split("\n\n")
    assert [block.split("\n")[0] for block in blocks] == [str(n) for n in range(1, len(blocks) + 1)]
    assert re.fullmatch(
        r"\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}", blocks[0].split("\n")[1]
    )
    assert blocks[0] == "1\n00:00:00,000 --> 00:00:02,500\nWelcome to the show."
    # The same captions as the WebVTT, timing for timing (SRT is not markup: no escaping).
    from_srt = parse_srt(text)
    from_vtt = parse_vtt(to_webvtt(cues()))
    assert [(c.start, c.end, c.raw_text) for c in from_srt] == [
        (c.start, c.end, vtt_text(c)) for c in from_vtt
    ]
    assert "Rock & roll <live> --> 100%" in text


def test_empty_transcripts() -> None:
    assert parse_vtt(to_webvtt([])) == []
    assert srt([]) == ""


# -- JSON chapters -------------------------------------------------------------------------------

SPEC_CHAPTER_FIELDS = {"startTime", "title", "img", "url", "toc", "endTime", "location"}
SPEC_TOP_FIELDS = {
    "version",
    "chapters",
    "author",
    "title",
    "podcastName",
    "description",
    "fileName",
    "waypoints",
}


def test_chapters_json_follows_the_podcast_namespace_spec() -> None:
    chapters = [
        Chapter("Outro", 301.5, 320.0),
        Chapter("Intro", 0.0, 12.3456),
        Chapter("Jóga — “Homogenic”", 12.3456, 301.5, track_number=2),
    ]
    text = chapters_json(chapters, title="Björk: Homogenic", image_url="https://x.test/c.jpg")
    document = json.loads(text)
    # Required fields, right types, and nothing the spec does not define.
    assert document["version"] == "1.2.0"
    assert set(document) <= SPEC_TOP_FIELDS
    assert document["title"] == "Björk: Homogenic"
    for entry in document["chapters"]:
        assert isinstance(entry["startTime"], int | float)
        assert set(entry) <= SPEC_CHAPTER_FIELDS
        assert entry["img"] == "https://x.test/c.jpg"
    # In ascending startTime, with millisecond precision.
    assert [(c["startTime"], c["endTime"], c["title"]) for c in document["chapters"]] == [
        (0, 12.346, "Intro"),
        (12.346, 301.5, "Jóga — “Homogenic”"),
        (301.5, 320, "Outro"),
    ]
    assert "Jóga — “Homogenic”" in text  # not \\u-escaped
    assert text.index('"startTime"') < text.index('"endTime"') < text.index('"title": "Intro"')


def test_chapters_json_minimal_and_stable() -> None:
    chapters = [Chapter("Intro", 0.0, 5.0)]
    text = chapters_json(chapters)
    assert json.loads(text) == {
        "version": "1.2.0",
        "chapters": [{"startTime": 0, "endTime": 5, "title": "Intro"}],
    }
    assert text == chapters_json(list(chapters))
    assert text.endswith("\n")


# -- show-note timestamps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "00:00"),
        (59.999, "00:59"),
        (60, "01:00"),
        (754.9, "12:34"),
        (3599.99, "59:59"),
        (3600, "01:00:00"),
        (3725.7, "01:02:05"),
        (36000 + 61, "10:01:01"),
        (-3, "00:00"),
    ],
)
def test_format_timestamp(value: float, expected: str) -> None:
    assert format_timestamp(value) == expected
