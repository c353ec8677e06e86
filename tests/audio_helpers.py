"""Helpers for tests that look into decoded audio."""

from __future__ import annotations

import numpy as np


def find_cue(
    audio: np.ndarray, cue: np.ndarray, around: float, rate: int, window: float = 1.0
) -> float:
    """Where ``cue`` starts in ``audio`` near ``around`` seconds (normalised cross-correlation)."""
    lo = max(0, int((around - window) * rate))
    hi = min(len(audio), int((around + window) * rate) + len(cue))
    segment = audio[lo:hi].astype(np.float64)
    template = cue.astype(np.float64)
    template = (template - template.mean()) / (np.linalg.norm(template) or 1.0)
    n = len(segment) + len(template)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(segment, size) * np.conj(np.fft.rfft(template, size)), size)
    corr = corr[: len(segment) - len(template) + 1]
    # normalise by the local energy so loud speech does not win over a quieter cue
    energy = np.sqrt(np.convolve(segment**2, np.ones(len(template)), "valid")) + 1e-9
    score = corr / energy
    return (lo + int(np.argmax(score))) / rate
