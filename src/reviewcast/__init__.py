"""reviewcast: music reviews in, a real podcast out."""

from __future__ import annotations

__version__ = "0.1.0"
