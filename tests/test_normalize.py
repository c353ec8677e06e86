"""Text normalisation: the golden tables (one test per case) and properties over any text."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewcast.speech.lexicon import Entry, Lexicon, packaged_lexicon
from reviewcast.speech.normalize import base_language, normalize

GOLDEN = Path(__file__).parent / "data" / "normalize"


def _unescape(field: str) -> str:
    return field.replace("\\t", "\t").replace("\\n", "\n")


def _golden_cases() -> list[tuple[str, str, str, str]]:
    """(language, written, spoken, test id) for every case of every table."""
    cases = []
    for table in sorted(GOLDEN.glob("*.tsv")):
        language = table.stem
        for number, line in enumerate(table.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            written, tab, spoken = line.partition("\t")
            assert tab, f"{table.name}:{number}: no TAB between written and spoken text"
            case_id = f"{language}:{number}:{written[:40]}"
            cases.append((language, _unescape(written), _unescape(spoken), case_id))
    return cases


GOLDEN_CASES = _golden_cases()


@pytest.mark.parametrize(
    ("language", "written", "spoken"),
    [case[:3] for case in GOLDEN_CASES],
    ids=[case[3] for case in GOLDEN_CASES],
)
def test_golden(language: str, written: str, spoken: str) -> None:
    assert normalize(written, language=language) == spoken


def test_the_tables_are_big_enough() -> None:
    languages = [case[0] for case in GOLDEN_CASES]
    assert languages.count("en") >= 150
    assert languages.count("de") >= 40


def test_language_tags_are_reduced_to_the_language() -> None:
    assert base_language("en-GB") == "en"
    assert base_language("de_AT") == "de"
    assert base_language("EN") == "en"
    assert normalize("in 1999", language="en-GB") == "in nineteen ninety-nine"
    assert normalize("1999", language="de-AT") == "neunzehnhundertneunundneunzig"


def test_other_languages_keep_numbers_and_get_lexicon_addresses_and_pauses() -> None:
    said = normalize("MGMT — en 1999 (live) sur noencores.neocities.org 🔥", language="fr")
    assert said == "M-G-M-T, en 1999, live, sur noencores.neocities.org"


def test_no_lexicon_means_general_rules_only() -> None:
    # Six consonants in a row is no word to read: spelled, where the lexicon says "Churches".
    assert normalize("CHVRCHES", lexicon=Lexicon()) == "C-H-V-R-C-H-E-S"
    assert normalize("an EP", lexicon=Lexicon()) == "an E-P"  # the capitals rule still spells it


def test_phoneme_entries_are_eSpeak_phoneme_input_only_when_asked() -> None:
    lexicon = Lexicon((Entry("Sade", say="Shah-day", phonemes="SA:d'eI", case_sensitive=True),))
    assert normalize("Sade sings.", lexicon=lexicon) == "Shah-day sings."
    assert normalize("Sade sings.", lexicon=lexicon, phonemes=True) == "[[SA:d'eI]] sings."


def test_brackets_in_text_never_become_phoneme_input() -> None:
    assert "[[" not in normalize("the [[sic]] mix [[h@l'oU]]", phonemes=True)
    assert normalize("[[sic]]", phonemes=True) == "sic"  # even where dropping [sic] leaves nothing


def test_lexicon_beats_the_general_rules() -> None:
    lexicon = packaged_lexicon().extended([Entry("1999", say="the year of the album")])
    assert normalize("In 1999 they split.", lexicon=lexicon) == (
        "In the year of the album they split."
    )


def test_paragraph_breaks_are_kept() -> None:
    assert normalize("First  part.\n\n\nSecond part.") == "First part.\n\nSecond part."


def test_packaged_lexicon_says_what_normalize_leaves_alone() -> None:
    # A review normalised twice (preview, then render) must not drift: what an entry says is
    # already in its spoken form.
    for entry in packaged_lexicon():
        spoken = entry.spoken(entry.written)
        assert normalize(spoken) == spoken, entry


# --- properties ----------------------------------------------------------------------------

# Text that looks like reviews: words, capitals, numbers and the punctuation the rules read.
review_like = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "the",
                "I",
                "LOVE",
                "EP",
                "feat.",
                "vs.",
                "—",
                "...",
                "(",
                ")",
                "&",
                "A",
                "Side",
                "in",
                "Part",
                "II",
                "'90s",
                "1999",
                "4:32",
                "8.5/10",
                "$15",
                "3rd",
                "#1",
                "No.",
                "e.g.",
                "etc.",
                "!!!",
                "MGMT",
                "★★★☆☆",
                "🔥",
                "x.com",
                "a@b.org",
                ",",
                ".",
                "?",
            ]
        ),
        st.text(alphabet=string.ascii_letters, min_size=1, max_size=8),
        st.integers(min_value=0, max_value=10**7).map(str),
    ),
    max_size=25,
).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=80), review_like), st.sampled_from(["en", "de", "fr"]))
def test_never_raises_and_never_drops_every_letter(text: str, language: str) -> None:
    spoken = normalize(text, language=language)
    assert isinstance(spoken, str)
    if any(ch.isalpha() for ch in text):
        assert any(ch.isalpha() for ch in spoken)


plain_ascii = st.text(alphabet=string.ascii_letters + " .,;:!?'\"()-&/@#", max_size=60)


@settings(max_examples=150, deadline=None)
@given(st.one_of(plain_ascii, review_like.filter(lambda t: not any(c.isdigit() for c in t))))
def test_idempotent_on_text_without_digits(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=100, deadline=None)
@given(review_like)
def test_output_has_no_digits_in_english(text: str) -> None:
    # Every number is said in words, however it was written.
    spoken = normalize(text)
    assert not any(ch.isdigit() for ch in spoken), spoken
