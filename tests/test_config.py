from __future__ import annotations

from pathlib import Path

import pytest

from reviewcast.config import (
    config_from_mapping,
    load_config,
    render_show_toml,
)
from reviewcast.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_rendered_show_toml_round_trips(tmp_path: Path) -> None:
    (tmp_path / "show.toml").write_text(render_show_toml(title="Spin Cycle"), encoding="utf-8")
    config = load_config(tmp_path)
    assert config.title == "Spin Cycle"
    assert config.base_url == "http://127.0.0.1:8000/"
    assert config.categories == ("Music", "Music Commentary")


def test_all_problems_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping(
            tmp_path,
            {"bitrate": "loud", "base_url": "example.org", "titel": "x", "language": "English"},
            tmp_path / "show.toml",
        )
    message = str(info.value)
    assert "'bitrate' should be int" in message
    assert "'base_url' must be an absolute http(s) URL" in message
    assert "unknown setting 'titel' (did you mean title?)" in message
    assert "'language'" in message
    assert "show.toml" in message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "show.toml").write_text("title = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"show\.toml: not valid TOML"):
        load_config(tmp_path)


def test_missing_show_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="reviewcast init"):
        load_config(tmp_path)


def test_podcast_guid_matches_the_namespace_example(tmp_path: Path) -> None:
    # The Podcasting 2.0 spec's example: the feed https://podnews.net/rss has this guid.
    config = config_from_mapping(tmp_path, {"base_url": "https://podnews.net/"}, tmp_path)
    assert config.feed_url == "https://podnews.net/feed/feed.xml"
    import uuid

    from reviewcast.config import PODCAST_GUID_NAMESPACE

    assert str(uuid.uuid5(PODCAST_GUID_NAMESPACE, "podnews.net/rss")) == (
        "9b024349-ccf0-5f69-a609-6b82873eab3c"
    )
    assert config.podcast_guid == str(
        uuid.uuid5(PODCAST_GUID_NAMESPACE, "podnews.net/feed/feed.xml")
    )


def test_a_title_of_only_control_characters_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'title' must have letters or digits"):
        config_from_mapping(tmp_path, {"title": "\x01\x02 \u200b"}, tmp_path / "show.toml")
