# mutagen ships py.typed but leaves its functions unannotated; calling them is fine here.
# mypy: disallow-untyped-calls=False
"""ID3 tags for an episode's MP3: title, show, date, notes, embedded cover art and chapters.

ID3v2.3 rather than 2.4: every player reads 2.3, while support for 2.4 is still uneven;
chapters follow the ID3v2 Chapter Frame Addendum (one top-level CTOC, one CHAP per chapter),
which is what podcast apps that read chapters from the file understand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TCON,
    TDRC,
    TIT2,
    TLAN,
    TPE1,
    TRCK,
    CTOCFlags,
    Encoding,
    ID3v1SaveOptions,
    PictureType,
)
from mutagen.id3._tags import save_frame

from reviewcast.errors import AudioError
from reviewcast.models import Chapter

#: ISO 639-1 → ISO 639-2/T, for TLAN and COMM, which want three letters.
#: Generated from Debian's iso-codes (iso_639-2.json): every language that has a two-letter code.
_ISO_639_PAIRS = (
    "aaaar ababk aeave afafr akaka amamh anarg arara asasm avava ayaym azaze babak bebel "
    "bgbul bhbih bibis bmbam bnben bobod brbre bsbos cacat ceche chcha cocos crcre csces "
    "cuchu cvchv cycym dadan dedeu dvdiv dzdzo eeewe elell eneng eoepo esspa etest eueus "
    "fafas ffful fifin fjfij fofao frfra fyfry gagle gdgla glglg gngrn guguj gvglv hahau "
    "heheb hihin hohmo hrhrv hthat huhun hyhye hzher iaina idind ieile igibo iiiii ikipk "
    "ioido isisl itita iuiku jajpn jvjav kakat kgkon kikik kjkua kkkaz klkal kmkhm knkan "
    "kokor krkau kskas kukur kvkom kwcor kykir lalat lbltz lglug lilim lnlin lolao ltlit "
    "lulub lvlav mgmlg mhmah mimri mkmkd mlmal mnmon mrmar msmsa mtmlt mymya nanau nbnob "
    "ndnde nenep ngndo nlnld nnnno nonor nrnbl nvnav nynya ococi ojoji omorm orori ososs "
    "papan pipli plpol pspus ptpor quque rmroh rnrun roron rurus rwkin sasan scsrd sdsnd "
    "sesme sgsag sisin skslk slslv smsmo snsna sosom sqsqi srsrp ssssw stsot susun svswe "
    "swswa tatam tetel tgtgk ththa titir tktuk tltgl tntsn toton trtur tstso tttat twtwi "
    "tytah uguig ukukr ururd uzuzb veven vivie vovol wawln wowol xhxho yiyid yoyor zazha "
    "zhzho zuzul"
)
_ISO_639_2 = {pair[:2]: pair[2:] for pair in _ISO_639_PAIRS.split()}

#: CHAP start/end byte offsets: this value means "not given, use the times".
_NO_OFFSET = 0xFFFFFFFF


def write_tags(
    mp3: Path,
    *,
    title: str,
    show: str,
    date: dt.date,
    comment: str,
    cover_jpeg: bytes,
    chapters: Sequence[Chapter],
    language: str | None = None,
    track_number: int | None = None,
) -> None:
    """Replace the ID3 tag of ``mp3`` with an ID3v2.3 tag holding the episode's metadata.

    The file is changed in place; any earlier tag (such as the encoder's) is dropped, so the
    result depends only on the arguments.
    """
    # A fresh tag: saving replaces whatever tag the file has (mutagen measures the old one).
    tags = _TimeOrderedID3()
    lang = iso_639_2(language)
    # UTF-8 frames are rewritten as UTF-16 when saved as v2.3, which has no UTF-8.
    tags.add(TIT2(encoding=Encoding.UTF8, text=[title]))
    tags.add(TPE1(encoding=Encoding.UTF8, text=[show]))
    tags.add(TALB(encoding=Encoding.UTF8, text=[show]))
    tags.add(TCON(encoding=Encoding.UTF8, text=["Podcast"]))
    # TDRC is 2.4's date; update_to_v23() below turns it into 2.3's TYER + TDAT.
    tags.add(TDRC(encoding=Encoding.UTF8, text=[date.isoformat()]))
    if comment:
        tags.add(COMM(encoding=Encoding.UTF8, lang=lang or "XXX", desc="", text=[comment]))
    if lang:
        tags.add(TLAN(encoding=Encoding.UTF8, text=[lang]))
    if track_number is not None:
        tags.add(TRCK(encoding=Encoding.UTF8, text=[str(track_number)]))
    tags.add(
        APIC(
            encoding=Encoding.UTF8,
            mime=_image_mime(cover_jpeg),
            type=PictureType.COVER_FRONT,
            desc="Cover",
            data=cover_jpeg,
        )
    )
    _add_chapters(tags, chapters)
    # mutagen converts frames only when asked: TDRC → TYER + TDAT, and the same in chapters.
    tags.update_to_v23()

    try:
        tags.save(mp3, v2_version=3, v1=ID3v1SaveOptions.REMOVE)
    except (OSError, MutagenError) as exc:
        raise AudioError(f"cannot write ID3 tags: {exc}", path=mp3) from exc


def iso_639_2(language: str | None) -> str | None:
    """A language code as ID3 wants it (three letters, ISO 639-2), or None when unknown.

    Accepts "en", "en-GB", "en_US" or a three-letter code such as "eng".
    """
    if not language:
        return None
    primary = language.strip().replace("_", "-").split("-")[0].lower()
    if len(primary) == 3 and primary.isascii() and primary.isalpha():
        return primary
    return _ISO_639_2.get(primary)


def _add_chapters(tags: ID3, chapters: Sequence[Chapter]) -> None:
    if not chapters:
        return
    ordered = sorted(chapters, key=lambda chapter: chapter.start)
    ids = [f"chp{index}" for index in range(len(ordered))]
    tags.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[],
        )
    )
    for element_id, chapter in zip(ids, ordered, strict=True):
        start = _ms(chapter.start)
        end = max(start, _ms(chapter.end))
        tags.add(
            CHAP(
                element_id=element_id,
                start_time=start,
                end_time=end,
                start_offset=_NO_OFFSET,
                end_offset=_NO_OFFSET,
                sub_frames=[TIT2(encoding=Encoding.UTF8, text=[chapter.title])],
            )
        )


class _TimeOrderedID3(ID3):
    """An ID3 tag that writes its chapter frames in time order.

    mutagen orders frames by size, so CHAP frames would land in the file in any order.
    Readers that ignore the CTOC, ffmpeg among them, list chapters in file order.
    """

    _TEXT_FIRST = ("TIT2", "TPE1", "TRCK", "TALB", "TDRC", "TYER", "TDAT", "TCON")

    def _write(self, config: Any) -> bytearray:
        def key(frame: Any) -> tuple[int, int, str]:
            if frame.FrameID in self._TEXT_FIRST:
                return 0, self._TEXT_FIRST.index(frame.FrameID), frame.HashKey
            # Compared by FrameID: isinstance() would narrow to classes whose attributes
            # mutagen does not declare.
            if frame.FrameID == "CTOC":
                return 2, 0, frame.HashKey
            if frame.FrameID == "CHAP":
                return 3, frame.start_time, frame.HashKey
            if frame.FrameID == "APIC":  # large, so last, as mutagen does
                return 4, 0, frame.HashKey
            return 1, 0, frame.HashKey

        frames = sorted(self.values(), key=key)
        return bytearray().join(save_frame(frame, config=config) for frame in frames)


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _image_mime(data: bytes) -> str:
    # The caller normally passes JPEG, but a user's PNG artwork is embedded as it is.
    return "image/png" if data.startswith(b"\x89PNG\r\n\x1a\n") else "image/jpeg"
