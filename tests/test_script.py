from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reviewcast.config import config_from_mapping
from reviewcast.errors import ConfigError
from reviewcast.models import Block, Review, Track
from reviewcast.script import build_script, split_sentences


def review(*paragraphs: str, **meta: object) -> Review:
    return Review(
        source=Path("r.txt"),
        format="text",
        blocks=tuple(Block(p) for p in paragraphs),
        **meta,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        (
            "It's fine, i.e., the job they hired him to do. Next.",
            ["It's fine, i.e., the job they hired him to do.", "Next."],
        ),
        ("A duet feat. Bowie is here. Then more.", ["A duet feat. Bowie is here.", "Then more."]),
        ("A rock vs. pop record. Done", ["A rock vs. pop record.", "Done"]),
        ('He said, "We have it." Then left.', ['He said, "We have it."', "Then left."]),
        ("No end punctuation at all", ["No end punctuation at all"]),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == expected
    for s in sentences:
        assert text[s.start : s.end] == s.text


def test_script_orders_intro_review_cues_outro(tmp_path: Path) -> None:
    config = config_from_mapping(tmp_path, {"title": "Spin Cycle"}, tmp_path)
    r = review(
        'An opening thought. Then "Init" starts it all.',
        'Later, "Nemesis" and "Init" again.',
        title="A headline",
        artist="Nine Inch Nails",
        album="TRON: Ares",
        reviewer="bizzo",
        date=dt.date(2025, 10, 12),
    )
    init = Track("Init", 1, 0, 26, 32, '"Init"', "exact")
    nemesis = Track("Nemesis", 21, 1, 7, 16, '"Nemesis"', "exact")
    script = build_script(config, r, None, (init, nemesis))
    kinds = [s.kind for s in script.segments]
    assert kinds[0] == "intro" and kinds[-1] == "outro"
    intro = " ".join(s.text for s in script.segments if s.kind == "intro")
    assert "Spin Cycle" in intro and "bizzo" in intro and "TRON: Ares" in intro
    assert "Nine Inch Nails" in intro
    body = [(s.kind, s.text) for s in script.segments if s.kind in ("review", "cue")]
    assert body == [
        ("review", "An opening thought."),
        ("cue", "Init"),  # at the start of the sentence that mentions it, not mid-sentence
        ("review", 'Then "Init" starts it all.'),
        ("cue", "Nemesis"),
        ("review", 'Later, "Nemesis" and "Init" again.'),  # Init is cued once only
    ]
    outro = " ".join(s.text for s in script.segments if s.kind == "outro")
    assert "bizzo" in outro and "subscribe" in outro
    # pauses: longer between paragraphs than between sentences, a beat around the review
    by_text = {s.text: s.pause_after for s in script.segments}
    assert by_text["An opening thought."] < by_text['Then "Init" starts it all.']
    last_intro = [s for s in script.segments if s.kind == "intro"][-1]
    assert last_intro.pause_after > by_text['Then "Init" starts it all.']


def test_unknown_metadata_is_never_invented(tmp_path: Path) -> None:
    config = config_from_mapping(tmp_path, {"title": "Spin Cycle"}, tmp_path)
    script = build_script(config, review("Just some words here."), None, ())
    spoken = " ".join(s.text for s in script.segments)
    assert " by " not in spoken.split("subscribe")[0]
    assert "None" not in spoken


def test_show_templates_override_packaged_ones(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "intro.txt.j2").write_text(
        "Hello from {{ show.title }}, reviewing {{ review.album }}.", encoding="utf-8"
    )
    config = config_from_mapping(tmp_path, {"title": "Spin Cycle"}, tmp_path)
    script = build_script(config, review("Words.", album="Homogenic"), None, ())
    assert script.segments[0].text == "Hello from Spin Cycle, reviewing Homogenic."


def test_template_mistake_names_the_template(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "outro.txt.j2").write_text("Bye {{ review.albun }}", encoding="utf-8")
    config = config_from_mapping(tmp_path, {}, tmp_path)
    with pytest.raises(ConfigError, match="albun"):
        build_script(config, review("Words."), None, ())


def test_announcement_follows_the_cue_when_enabled(tmp_path: Path) -> None:
    config = config_from_mapping(tmp_path, {"announce_tracks": True}, tmp_path)
    track = Track("Crystalised", 3, 0, 0, 11, "Crystalised", "exact")
    script = build_script(config, review("Crystalised is lovely."), None, (track,))
    body = [(s.kind, s.text) for s in script.segments if s.kind in ("cue", "announce", "review")]
    assert body == [
        ("cue", "Crystalised"),
        ("announce", "Track 3: Crystalised."),
        ("review", "Crystalised is lovely."),
    ]
