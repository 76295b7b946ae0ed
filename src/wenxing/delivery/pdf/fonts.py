"""The faces a copy is set in, prepared once with fontTools: a glyph of its own for every
invisible mark and look-alike (the carriers), cut down per version and kept."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from collections import OrderedDict
from copy import deepcopy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from wenxing.delivery.marking import shipped_variants
from wenxing.delivery.pdf.geometry import HEI, KAI, SONG, SONG_BOLD
from wenxing.delivery.pdf.objects import Embedded, compile_font
from wenxing.fingerprint.plan import GLYPHS, VS_MARKS, ZW_MARKS

if TYPE_CHECKING:
    from fontTools import ttLib

# fontTools is imported where a font is read or cut (objects.py says why).

# --- Fonts -------------------------------------------------------------------------------

FONT_FORMAT = "wenxing-carriers-2"  # part of every prepared font's cache key: bump on change
# (2: eight variation selectors FE04–FE0B for tracing v2's selector places)
WIDE = "wide"  # WenQuanYi Micro Hei whole, for characters the other faces lack


class FontMissing(RuntimeError):
    """A font file the .pdf format needs is not installed."""


@dataclass(frozen=True)
class Face:
    key: str
    path: Path
    package: str  # the Debian package that installs the file
    number: int = 0  # face in a TrueType collection
    gb2312: bool = False  # keep only the GB 2312 repertoire (a sixth of the glyphs to load)


_WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FACES: dict[str, Face] = {
    SONG: Face(
        SONG,
        Path("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"),
        "fonts-arphic-gbsn00lp",
    ),
    KAI: Face(
        KAI,
        Path("/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf"),
        "fonts-arphic-gkai00mp",
    ),
    HEI: Face(HEI, _WQY, "fonts-wqy-microhei", gb2312=True),
    WIDE: Face(WIDE, _WQY, "fonts-wqy-microhei"),
}
FACE_OF_STYLE = {SONG: SONG, SONG_BOLD: SONG, KAI: KAI, HEI: HEI}
# Tables a copy needs; the rest (vertical metrics, OpenType layout, Apple's mort) are dropped.
# (The hinting tables stay for FreeType, which draws the watermark; copies go without.)
_KEEP_TABLES = frozenset(
    {"head", "hhea", "maxp", "OS/2", "hmtx", "cmap", "loca", "glyf", "name", "post"}
    | {"fpgm", "prep", "cvt ", "gasp"}
)


def font_cache_dir() -> Path:
    """Where prepared fonts are kept: ``$WENXING_CACHE_DIR/fonts`` or the user's cache."""
    root = os.environ.get("WENXING_CACHE_DIR")
    if root:
        return Path(root) / "fonts"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "wenxing" / "fonts"


def prepared_font(face: Face) -> Path:
    """The face with its carrier glyphs, made on first use and cached on disk.

    The cache key holds the source's size and mtime, so an upgraded Debian package is
    prepared again; the file is written atomically, so concurrent processes never read half
    of one.
    """
    try:
        stat = face.path.stat()
    except OSError:
        raise FontMissing(
            f"font file {face.path} is missing: install the Debian package {face.package}"
        ) from None
    ident = f"{FONT_FORMAT}|{face.path}|{face.number}|{face.gb2312}"
    digest = hashlib.sha256(ident.encode()).hexdigest()[:12]
    target = font_cache_dir() / f"{face.key}-{digest}-{stat.st_size}-{stat.st_mtime_ns}.ttf"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        data = _carrier_font(face)
        fd, part = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                os.fchmod(fd, 0o644)  # shared by every user of the cache, like the source
                out.write(data)
            os.replace(part, target)
        except BaseException:
            Path(part).unlink(missing_ok=True)
            raise
    return target


@cache
def _gb2312() -> frozenset[int]:
    """Code points of GB 2312 (symbols and both levels of Han characters) and of ASCII."""
    points = set(range(0x20, 0x7F))
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((row, cell)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(points)


def _carrier_font(face: Face) -> bytes:
    """The face's font with an empty zero-advance glyph for every invisible mark and a copy
    of the plain glyph for every look-alike it lacks, each mapped in the cmap."""
    from fontTools import subset as ftsubset
    from fontTools import ttLib

    # recalcBBoxes=False: outlines are copied as they are, not decoded and rebuilt
    with ttLib.TTFont(
        face.path, fontNumber=face.number, recalcBBoxes=False, recalcTimestamp=False
    ) as font:
        for tag in set(font.keys()) - _KEEP_TABLES - {"GlyphOrder"}:
            del font[tag]
        if face.gb2312:
            options = ftsubset.Options(
                glyph_names=True, notdef_outline=True, name_IDs=["*"], name_languages=["*"]
            )
            subsetter = ftsubset.Subsetter(options)
            subsetter.populate(unicodes=_gb2312())
            subsetter.subset(font)
        _add_carriers(font)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()


def _add_carriers(font: ttLib.TTFont) -> None:
    from fontTools.ttLib.tables._g_l_y_f import Glyph

    glyf, hmtx = font["glyf"], font["hmtx"]
    order = font.getGlyphOrder()
    cmap = font.getBestCmap()
    added: dict[int, str] = {}

    def add(codepoint: int, glyph: Glyph, metrics: tuple[int, int]) -> None:
        name = f"wx{codepoint:04X}"
        order.append(name)
        glyf[name] = glyph
        hmtx[name] = metrics
        added[codepoint] = name

    for mark in ZW_MARKS + VS_MARKS:
        add(ord(mark), Glyph(), (0, 0))
    for plain, alikes in GLYPHS.items():
        source = cmap.get(ord(plain))
        for alike in alikes:
            if source is not None and ord(alike) not in cmap:
                add(ord(alike), deepcopy(glyf[source]), hmtx[source])
    font.setGlyphOrder(order)
    for table in font["cmap"].tables:
        if table.isUnicode() and table.format in (4, 12):
            table.cmap.update(added)


class _LoadedFace:
    """A prepared face: its file, and its glyphs' advances (em) by code point."""

    def __init__(self, face: Face) -> None:
        from fontTools import ttLib

        self.face = face
        self.path = prepared_font(face)
        with ttLib.TTFont(self.path, lazy=True) as font:
            units, metrics = font["head"].unitsPerEm, font["hmtx"].metrics
            cmap = font.getBestCmap()
        self.advance = {point: metrics[name][0] / units for point, name in cmap.items()}


@cache
def shared_characters() -> frozenset[int]:
    """Characters every subset holds whether a copy uses them or not: ASCII (member numbers,
    dates), the marks and look-alikes, and the words of every wording variant. What one
    recipient's copy uses and another's does not is almost always among them, so one subset
    per face serves every copy of a version."""
    chars = set(range(0x20, 0x7F)) | {ord(mark) for mark in ZW_MARKS + VS_MARKS}
    for plain, alikes in GLYPHS.items():
        chars.update(map(ord, plain + "".join(alikes)))
    for group in shipped_variants().groups:
        chars.update(ord(ch) for form in group for ch in form)
    return frozenset(chars)


def _subset(path: Path, codepoints: frozenset[int]) -> bytes:
    from fontTools import subset as ftsubset
    from fontTools import ttLib

    # Without hinting: PDF viewers do not run TrueType instructions, and they are a fifth of
    # the data.
    subsetter = ftsubset.Subsetter(ftsubset.Options(notdef_outline=True, hinting=False))
    subsetter.populate(unicodes=codepoints)
    out = io.BytesIO()
    with ttLib.TTFont(path, lazy=True, recalcBBoxes=False, recalcTimestamp=False) as font:
        subsetter.subset(font)
        font.save(out)
    return out.getvalue()


class FontBook:
    """The prepared faces of this process, and the subsets cut from them for copies."""

    def __init__(self, limit: int = 48) -> None:
        self._lock = threading.Lock()
        self._faces: dict[Face, _LoadedFace] = {}
        self._subsets: OrderedDict[tuple[Face, frozenset[int]], bytes] = OrderedDict()
        self._compiled: OrderedDict[tuple[Face, frozenset[int]], Embedded] = OrderedDict()
        self._limit = limit

    def face(self, key: str) -> _LoadedFace:
        face = FACES[key]
        with self._lock:
            loaded = self._faces.get(face)
            if loaded is None:
                loaded = self._faces[face] = _LoadedFace(face)
            return loaded

    def subset(self, key: str, codepoints: frozenset[int]) -> bytes:
        """The face cut down to ``codepoints`` (plus .notdef), as a font file."""
        loaded = self.face(key)
        cache_key = (loaded.face, codepoints)
        with self._lock:
            data = self._subsets.get(cache_key)
            if data is not None:
                self._subsets.move_to_end(cache_key)
                return data
        data = _subset(loaded.path, codepoints)
        with self._lock:
            self._subsets[cache_key] = data
            while len(self._subsets) > self._limit:
                self._subsets.popitem(last=False)
        return data

    def embedded(self, key: str, codepoints: frozenset[int]) -> Embedded:
        """The subset of :meth:`subset` compiled into PDF objects (once per version)."""
        cache_key = (FACES[key], codepoints)
        with self._lock:
            found = self._compiled.get(cache_key)
            if found is not None:
                self._compiled.move_to_end(cache_key)
                return found
        found = compile_font(self.subset(key, codepoints))
        with self._lock:
            self._compiled[cache_key] = found
            while len(self._compiled) > self._limit:
                self._compiled.popitem(last=False)
        return found


FONTS = FontBook()
