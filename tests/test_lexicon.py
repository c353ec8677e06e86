"""Pronunciation lexicons: the file format, the three layers and how entries are matched."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewcast.errors import ConfigError
from reviewcast.speech.lexicon import (
    Entry,
    Lexicon,
    load_lexicon,
    packaged_lexicon,
    parse_lexicon,
    review_lexicon,
)
from reviewcast.speech.normalize import normalize


def _show(tmp_path: Path, lexicon_toml: str | bytes) -> Path:
    voices = tmp_path / "voices"
    voices.mkdir(parents=True, exist_ok=True)
    target = voices / "lexicon.toml"
    if isinstance(lexicon_toml, bytes):
        target.write_bytes(lexicon_toml)
    else:
        target.write_text(lexicon_toml, encoding="utf-8")
    return tmp_path


def _say(lexicon: Lexicon, text: str, *, phonemes: bool = False) -> str:
    return normalize(text, lexicon=lexicon, phonemes=phonemes)


# --- the packaged lexicon ------------------------------------------------------------------


def test_packaged_lexicon_loads_and_names_the_usual_suspects() -> None:
    lexicon = packaged_lexicon()
    assert len(lexicon) >= 40
    assert lexicon.lookup("CHVRCHES") == Entry("CHVRCHES", say="Churches")
    mgmt = lexicon.lookup("MGMT")
    assert mgmt is not None and mgmt.spell
    assert lexicon.lookup("Nothing Like This") is None


def test_without_a_show_or_review_only_the_packaged_lexicon_applies(tmp_path: Path) -> None:
    assert load_lexicon(None) == packaged_lexicon()
    assert load_lexicon(tmp_path) == packaged_lexicon()  # no voices/lexicon.toml: fine


# --- layers --------------------------------------------------------------------------------


def test_review_beats_show_beats_packaged(tmp_path: Path) -> None:
    show = _show(
        tmp_path,
        '"CHVRCHES" = "the show\'s Churches"\n"Sufjan" = "Soof-yan"\n"Mogwai" = "Mog-why"\n',
    )
    lexicon = load_lexicon(show, [("sufjan", "the review's Sufjan")])
    assert _say(lexicon, "CHVRCHES") == "the show's Churches"  # show over packaged
    assert _say(lexicon, "Sufjan") == "the review's Sufjan"  # review over show, whatever the case
    assert _say(lexicon, "Mogwai") == "Mog-why"  # the show's own entry
    assert _say(lexicon, "MGMT") == "M-G-M-T"  # packaged entries the show left alone
    # One entry per written form: the override replaced it rather than adding a rival.
    assert [e.written.casefold() for e in lexicon].count("sufjan") == 1


def test_a_later_layer_can_turn_spelling_into_saying(tmp_path: Path) -> None:
    show = _show(tmp_path, '"NIN" = "Nine Inch Nails"\n')
    assert _say(load_lexicon(show), "NIN live") == "Nine Inch Nails live"


def test_review_entries_are_plain_written_to_spoken() -> None:
    lexicon = load_lexicon(
        None, [("Boards of Canada", "Boards of Canada"), ("Ólafur", "Oh-la-fur")]
    )
    assert _say(lexicon, "Ólafur Arnalds") == "Oh-la-fur Arnalds"


# --- reading an entry ----------------------------------------------------------------------


def test_say_spell_word_and_phonemes() -> None:
    lexicon = Lexicon(
        (
            Entry("CHVRCHES", say="Churches"),
            Entry("MGMT", spell=True),
            Entry("NASA", as_word=True),
            Entry("Sade", phonemes="SA:d'eI", case_sensitive=True),
            Entry("Björk", say="Byerk", phonemes="bj'3:k"),
        )
    )
    assert _say(lexicon, "CHVRCHES and MGMT") == "Churches and M-G-M-T"
    assert _say(lexicon, "NASA tapes") == "Nasa tapes"
    # phonemes only for engines that take them; otherwise the fallback (say, or the text).
    assert _say(lexicon, "Sade and Björk") == "Sade and Byerk"
    assert _say(lexicon, "Sade and Björk", phonemes=True) == "[[SA:d'eI]] and [[bj'3:k]]"


def test_spelled_entries_take_plurals_and_possessives() -> None:
    lexicon = Lexicon((Entry("EP", spell=True), Entry("AC/DC", spell=True)))
    assert _say(lexicon, "two EPs, the EP's cover") == "two E-P's, the E-P's cover"
    assert _say(lexicon, "AC/DC's riffs") == "A-C-D-C's riffs"


def test_case_sensitivity() -> None:
    lexicon = Lexicon(
        (
            Entry("OST", say="soundtrack", case_sensitive=True),
            Entry("Sufjan", say="Soofyan"),
        )
    )
    assert _say(lexicon, "the OST") == "the soundtrack"
    assert _say(lexicon, "in Ost-Berlin") == "in Ost-Berlin"
    assert _say(lexicon, "SUFJAN and sufjan") == "Soofyan and Soofyan"


def test_whole_words_and_phrases_only() -> None:
    lexicon = Lexicon(
        (
            Entry("NIN", spell=True, case_sensitive=True),
            Entry("!!!", say="chik chik chik"),
            Entry("Bon Iver", say="Bon Ee-vair"),
        )
    )
    assert _say(lexicon, "NINJA Tune") == "ninja Tune"  # not N-I-N inside a word
    assert _say(lexicon, "Wow!!! Really") == "Wow! Really"
    assert _say(lexicon, "(!!!)") == "chik chik chik"
    assert _say(lexicon, "Bon  Iver live") == "Bon Ee-vair live"  # any run of spaces
    assert _say(lexicon, "Bon\nIver") == "Bon Ee-vair"
    assert _say(lexicon, "Bonny Iverson") == "Bonny Iverson"


def test_the_longest_entry_wins_where_two_could_match() -> None:
    lexicon = Lexicon((Entry("Sunn", say="Sun"), Entry("Sunn O)))", say="Sunn O")))
    assert _say(lexicon, "Sunn O))) and Sunn") == "Sunn O and Sun"


def test_typographic_apostrophes_match_straight_ones() -> None:
    lexicon = Lexicon((Entry("Guns N' Roses", say="Guns N Roses"),))
    assert _say(lexicon, "Guns N’ Roses") == "Guns N Roses"


def test_extended_replaces_entries_for_the_same_written_form() -> None:
    base = Lexicon((Entry("OK", say="okay", case_sensitive=True), Entry("MGMT", spell=True)))
    extended = base.extended([Entry("ok", say="oh kay")])
    assert len(extended) == 2
    assert _say(extended, "OK") == "oh kay"


# --- bad files -----------------------------------------------------------------------------


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    show = _show(tmp_path, '"MGMT" = { spell = true\n')
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_lexicon(show)
    assert caught.value.path == show / "voices" / "lexicon.toml"
    assert "lexicon.toml" in str(caught.value)


def test_every_bad_entry_is_named_at_once() -> None:
    text = "\n".join(
        [
            '"MGMT" = { spell = "yes" }',
            '"CHVRCHES" = ""',
            '"NASA" = { word = true, say = "nasa" }',
            '"Sade" = { phonemes = "[[SA:d\'eI]]" }',
            '"Björk" = { sound = "Byerk" }',
            '"!!!" = { spell = true }',
            '"Low" = 3',
            '"Empty" = {}',
            '"Fine" = "fine"',
        ]
    )
    with pytest.raises(ConfigError) as caught:
        parse_lexicon(text, "show/voices/lexicon.toml")
    message = str(caught.value)
    assert message.startswith("show/voices/lexicon.toml: ")
    for expected in (
        "entry 'MGMT': 'spell' should be true or false, not 'yes'",
        "entry 'CHVRCHES': say how to pronounce it",
        "entry 'NASA': choose one of say or word",
        "entry 'Sade': write 'phonemes' without the [[ ]]",
        "entry 'Björk': unknown key 'sound'",
        "entry '!!!': has no letters or digits to spell",
        "entry 'Low': should be a text (how to say it) or a table",
        "entry 'Empty': give 'say', 'spell = true', 'word = true' or 'phonemes'",
    ):
        assert expected in message
    assert "Fine" not in message


def test_an_unquoted_dotted_name_gets_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"quote a written form that contains dots"):
        parse_lexicon('N.E.R.D = "nerd"\n', "lexicon.toml")


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    show = _show(tmp_path, b'"Bj\xf6rk" = "Byerk"\n')
    with pytest.raises(ConfigError, match="cannot read the lexicon"):
        load_lexicon(show)


def test_a_review_entry_without_a_pronunciation_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"the review's lexicon: entry 'MGMT': say how"):
        review_lexicon([("MGMT", "  ")])
    with pytest.raises(ConfigError, match="written form is empty"):
        load_lexicon(None, [("", "nothing")])


def test_a_valid_file_gives_its_entries_in_order() -> None:
    entries = parse_lexicon(
        '"Sade" = { say = "Shah-day", phonemes = "SA:d\'eI", case_sensitive = true }\n'
        '"NASA" = { word = true }\n',
        "lexicon.toml",
    )
    assert entries == (
        Entry("Sade", say="Shah-day", phonemes="SA:d'eI", case_sensitive=True),
        Entry("NASA", as_word=True),
    )
