"""Writing the PDF file: numbered objects, the cross-reference, embedded fonts with their
ToUnicode maps, and the visual layer's moved glyphs (``_VARIANTS``)."""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass, field

from wenxing.delivery.pdf.geometry import BODY_PT, CELL, PT
from wenxing.fingerprint import visual

MM = 72 / 25.4  # points per mm


def pdf_text(text: str) -> str:
    """A PDF text string: UTF-16BE with its byte-order mark, in hex."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


class Pdf:
    """The bytes of a PDF file being written: numbered objects and the cross-reference."""

    def __init__(self) -> None:
        self.parts: list[bytes] = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
        self.size = len(self.parts[0])
        self.offsets: dict[int, int] = {}
        self.count = 0

    def reserve(self, how_many: int = 1) -> int:
        """The number of the first of ``how_many`` new objects."""
        first = self.count + 1
        self.count += how_many
        return first

    def put(self, number: int, body: bytes | str) -> None:
        data = body.encode("latin-1") if isinstance(body, str) else body
        self.offsets[number] = self.size
        for part in (b"%d 0 obj\n" % number, data, b"\nendobj\n"):
            self.parts.append(part)
            self.size += len(part)

    def stream(self, number: int, entries: str, data: bytes) -> None:
        head = f"<<{entries} /Length {len(data)}>>\nstream\n".encode("latin-1")
        self.put(number, head + data + b"\nendstream")

    def finish(self, root: int, info: int, file_id: str) -> bytes:
        xref = self.size
        rows = ["xref", f"0 {self.count + 1}", "0000000000 65535 f "]
        rows += [f"{self.offsets[n]:010d} 00000 n " for n in range(1, self.count + 1)]
        rows += [
            "trailer",
            f"<< /Size {self.count + 1} /Root {root} 0 R /Info {info} 0 R /ID [{file_id}] >>",
            "startxref",
            str(xref),
            "%%EOF\n",
        ]
        self.parts.append("\n".join(rows).encode("latin-1"))
        return b"".join(self.parts)


@dataclass(frozen=True)
class Embedded:
    """A face cut down for a version's copies, compiled once into the PDF objects every copy
    of the version writes as they are: characters are numbered (CIDs) by code point, so the
    objects do not depend on which characters a copy draws or in what order."""

    name: str  # the subset's PostScript name, with its six-letter tag
    cids: dict[int, int]  # code point → CID
    widths: str  # the /W array
    descriptor: str  # the FontDescriptor's entries but /FontFile2
    font_file: bytes  # compressed
    font_length: int  # uncompressed
    to_unicode: bytes  # compressed
    cid_to_gid: bytes  # compressed
    shifted: dict[str, tuple[str, ...]] = field(default_factory=dict)  # moved glyphs' codes
    codes: dict[str, str] = field(default_factory=dict)  # character → its CID in hex

    def __post_init__(self) -> None:
        self.codes.update((chr(point), f"{cid:04X}") for point, cid in self.cids.items())

    def hex(self, text: str) -> str:
        codes = self.codes
        return "<" + "".join([codes.get(ch) or "0000" for ch in text]) + ">"

    def write(self, pdf: Pdf) -> int:
        """Write the font's objects; the number of the one a page's resources name."""
        n = pdf.reserve(6)
        pdf.put(
            n,
            f"<< /Type /Font /Subtype /Type0 /BaseFont /{self.name} /Encoding /Identity-H "
            f"/DescendantFonts [{n + 1} 0 R] /ToUnicode {n + 4} 0 R >>",
        )
        pdf.put(
            n + 1,
            f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{self.name} /CIDSystemInfo "
            f"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor "
            f"{n + 2} 0 R /DW 1000 /W {self.widths} /CIDToGIDMap {n + 5} 0 R >>",
        )
        pdf.put(n + 2, f"<< {self.descriptor} /FontFile2 {n + 3} 0 R >>")
        pdf.stream(n + 3, f" /Filter /FlateDecode /Length1 {self.font_length}", self.font_file)
        pdf.stream(n + 4, " /Filter /FlateDecode", self.to_unicode)
        pdf.stream(n + 5, " /Filter /FlateDecode", self.cid_to_gid)
        return n


# The visual layer's glyphs: every Han character of a face also as four composite glyphs,
# the plain one moved right by 0 or DX and up or down by DY (at the body's size and cell),
# a few bytes each. A copy draws a character's moved glyph in the character's own place,
# so its ink sits off the grid while text extraction sees the same glyph boxes, advances
# and Unicode as ever.
# (In the order of fingerprint.visual.variants: 2·(moved right) + (moved up).)
_VARIANTS = tuple((dx, dy) for dx in (0.0, visual.DX_MM) for dy in (-visual.DY_MM, visual.DY_MM))


def _with_shifted_glyphs(data: bytes) -> tuple[bytes, dict[int, list[int]]]:
    """The font with the moved glyphs added: its bytes, and the new glyphs' ids per code
    point (in the order of ``_VARIANTS``)."""
    # fontTools (with its subsetter, near a tenth of a second) loads with the first PDF copy,
    # not with every command that imports the delivery package.
    from fontTools import ttLib
    from fontTools.ttLib.tables._g_l_y_f import Glyph, GlyphComponent

    with ttLib.TTFont(io.BytesIO(data), recalcBBoxes=False, recalcTimestamp=False) as font:
        cmap = font.getBestCmap()
        units = font["head"].unitsPerEm
        glyf, hmtx = font["glyf"], font["hmtx"]
        order = font.getGlyphOrder()
        added: dict[int, list[str]] = {}
        for point, name in sorted(cmap.items()):
            if not visual.carries(chr(point)):
                continue
            base = glyf[name]
            if base.numberOfContours == 0:
                continue
            names = []
            for n, (dx, dy) in enumerate(_VARIANTS):
                glyph = Glyph()
                glyph.numberOfContours = -1
                component = GlyphComponent()
                component.glyphName = name
                component.x = round(dx / CELL * units)
                component.y = round(dy / (BODY_PT * PT) * units)
                component.flags = 0x2  # ARGS_ARE_XY_VALUES
                glyph.components = [component]
                if hasattr(base, "xMin"):
                    glyph.xMin, glyph.xMax = base.xMin + component.x, base.xMax + component.x
                    glyph.yMin, glyph.yMax = base.yMin + component.y, base.yMax + component.y
                variant = f"{name}.v{n}"
                glyf.glyphs[variant] = glyph
                advance, lsb = hmtx[name]
                hmtx[variant] = (advance, lsb + component.x)  # rasterisers place ink by lsb
                order.append(variant)
                names.append(variant)
            added[point] = names
        font.setGlyphOrder(order)
        glyf.glyphOrder = order
        maxp = font["maxp"]
        maxp.numGlyphs = len(order)
        maxp.maxComponentElements = max(getattr(maxp, "maxComponentElements", 0), 1)
        maxp.maxComponentDepth = max(getattr(maxp, "maxComponentDepth", 0), 1)
        out = io.BytesIO()
        font.save(out)
        ids = {point: [font.getGlyphID(v) for v in names] for point, names in added.items()}
    return out.getvalue(), ids


def compile_font(data: bytes) -> Embedded:
    from fontTools import ttLib

    data, moved = _with_shifted_glyphs(data)
    with ttLib.TTFont(io.BytesIO(data), lazy=True) as font:
        cmap = font.getBestCmap()
        units = font["head"].unitsPerEm
        head, hmtx, os2 = font["head"], font["hmtx"].metrics, font["OS/2"]
        points = sorted(cmap)
        glyph_ids = [font.getGlyphID(cmap[point]) for point in points]
        widths = [round(hmtx[cmap[point]][0] * 1000 / units) for point in points]
        # The moved glyphs: CIDs after the characters', each mapped to its character.
        extra = [(point, gid) for point in points for gid in moved.get(point, ())]
        widths += [round(hmtx[cmap[point]][0] * 1000 / units) for point, _gid in extra]
        family = (font["name"].getDebugName(6) or "Font").replace(" ", "")
        ascent, descent = os2.sTypoAscender, os2.sTypoDescender
        cap = getattr(os2, "sCapHeight", 0) or ascent
        box = [round(v * 1000 / units) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(data).digest()[:6])
    name = f"{tag}+{''.join(ch for ch in family if ch.isalnum()) or 'Font'}"
    all_gids = glyph_ids + [gid for _point, gid in extra]
    all_points = points + [point for point, _gid in extra]
    cid_to_gid = bytearray(2 * (len(all_gids) + 1))
    for cid, gid in enumerate(all_gids, start=1):
        cid_to_gid[2 * cid : 2 * cid + 2] = gid.to_bytes(2, "big")
    shifted: dict[str, tuple[str, ...]] = {}
    cid = len(points)
    for point in points:
        count = len(moved.get(point, ()))
        if count:
            shifted[chr(point)] = tuple(f"<{cid + 1 + n:04X}>" for n in range(count))
            cid += count
    to_unicode = _to_unicode(all_points)
    return Embedded(
        name=name,
        cids={point: cid for cid, point in enumerate(points, start=1)},
        widths=f"[1 [{' '.join(map(str, widths))}]]",
        descriptor=(
            f"/Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{' '.join(map(str, box))}] "
            f"/ItalicAngle 0 /Ascent {round(ascent * 1000 / units)} "
            f"/Descent {round(descent * 1000 / units)} /CapHeight {round(cap * 1000 / units)} "
            "/StemV 80 /MissingWidth 1000"
        ),
        font_file=zlib.compress(data, 6),
        font_length=len(data),
        to_unicode=zlib.compress(to_unicode.encode("ascii"), 6),
        cid_to_gid=zlib.compress(bytes(cid_to_gid), 6),
        shifted=shifted,
    )


def _to_unicode(points: list[int]) -> str:
    """The ToUnicode CMap: CID n (from 1) is the character ``points[n - 1]``, so text
    copied out of the PDF is the text (the moved glyphs' CIDs included)."""
    entries = []
    for cid, point in enumerate(points, start=1):
        entries.append(f"<{cid:04X}> <{chr(point).encode('utf-16-be').hex().upper()}>")
    blocks = []
    for at in range(0, len(entries), 100):
        chunk = entries[at : at + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    )
