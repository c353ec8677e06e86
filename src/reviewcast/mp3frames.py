"""Layer III frames as LAME writes them for reviewcast: count what they decode to, and lower the
gain of single granules in place, losslessly (as mp3gain does for whole files).

A Layer III granule (576 samples) carries an 8-bit ``global_gain`` in its frame's side
information; the decoder scales all of the granule's spectral values by 2^(global_gain / 4), so
lowering it by one step scales what the granule contributes to the output by 2^(−1/4), −1.505
dB, and changes nothing else: the Huffman data, the bit reservoir and every other frame stay as
they were. reviewcast uses it where LAME's quantisation noise lifted a peak over the show's
true-peak limit: lowering the few granules around that peak takes it back under, where encoding
the whole piece again behind a lower limiter costs as much as encoding it the first time.

Gains are changed only in what reviewcast's encoder writes: mono, without CRC; anything else
raises ValueError (the caller then encodes again).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

#: The change in level of one global_gain step.
STEP_DB = 20 * math.log10(2**0.25)
GRANULE_SAMPLES = 576

_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2 and 2.5
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


class FrameError(ValueError):
    """The bytes are not Layer III frames of the kind expected; the message says where."""


@dataclass(frozen=True)
class Frame:
    offset: int  # its first byte
    size: int  # bytes
    rate: int  # Hz
    bitrate: int  # bit/s
    mpeg1: bool  # MPEG-1: two granules, 1152 samples; MPEG-2 and 2.5: one, 576
    crc: bool
    mono: bool

    @property
    def samples(self) -> int:
        return 1152 if self.mpeg1 else 576


def frames(data: bytes | bytearray) -> Iterator[Frame]:
    """The Layer III frames of ``data``, which must hold nothing else (no tags)."""
    at = 0
    while at + 4 <= len(data):
        h = int.from_bytes(data[at : at + 4], "big")
        version = (h >> 19) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        if h >> 21 != 0x7FF or version == 1 or (h >> 17) & 3 != 1:
            raise FrameError(f"not an MP3 frame at byte {at}")
        bitrate = _BITRATES[1 if version == 3 else 2][(h >> 12) & 15] * 1000
        rate_index = (h >> 10) & 3
        if bitrate == 0 or rate_index == 3:
            raise FrameError(f"a frame of no fixed size at byte {at}")
        rate = _RATES[version][rate_index]
        per_frame = 1152 if version == 3 else 576
        size = per_frame // 8 * bitrate // rate + ((h >> 9) & 1)
        yield Frame(at, size, rate, bitrate, version == 3, not (h >> 16) & 1, (h >> 6) & 3 == 3)
        at += size


def gain_fields(data: bytes | bytearray) -> list[int]:
    """The bit offset of each granule's global_gain, in the order the granules are decoded:
    granule ``g`` becomes output samples ``576 g`` to ``576 g + 575`` and, through the
    decoder's overlapping windows and filter bank, reaches into the next two granules' (by
    ffmpeg's decoder: samples 576 g + 101 to 576 g + 1566 change when its gain does)."""
    offsets: list[int] = []
    for frame in frames(data):
        if frame.crc:
            raise FrameError("the frames carry a CRC, which a gain change would break")
        if not frame.mono:
            raise FrameError("not a mono stream")
        if frame.offset + frame.size > len(data):
            raise FrameError(f"the frame at byte {frame.offset} is cut short")
        side = (frame.offset + 4) * 8  # the side information follows the header
        if frame.mpeg1:
            # main_data_begin 9, private_bits 5, scfsi 4; then per granule part2_3_length 12
            # and big_values 9 before global_gain; a granule's side information is 59 bits
            offsets += [side + 39, side + 39 + 59]
        else:
            # main_data_begin 8, private_bits 1; one granule: part2_3_length 12, big_values 9
            offsets.append(side + 30)
    return offsets


def lower_granules(data: bytearray, steps: Mapping[int, int]) -> None:
    """Lower granule ``g``'s global_gain by ``steps[g]`` steps of STEP_DB (never below 0);
    granules the stream does not have (before the first, after the last) are passed over."""
    fields = gain_fields(data)
    for granule, count in steps.items():
        if count <= 0 or not 0 <= granule < len(fields):
            continue
        byte, shift = divmod(fields[granule], 8)
        word = int.from_bytes(data[byte : byte + 2], "big")
        place = 8 - shift  # the field's lowest bit within the 16-bit word
        value = (word >> place) & 0xFF
        word = (word & ~(0xFF << place)) | (max(0, value - count) << place)
        data[byte : byte + 2] = word.to_bytes(2, "big")


def global_gains(data: bytes | bytearray) -> list[int]:
    """Every granule's global_gain, in decoding order."""
    gains = []
    for offset in gain_fields(data):
        byte, shift = divmod(offset, 8)
        word = int.from_bytes(data[byte : byte + 2], "big")
        gains.append((word >> (8 - shift)) & 0xFF)
    return gains
