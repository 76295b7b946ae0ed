"""The .pdf format of a copy: an A4 document set like GB/T 9704, fingerprint and all.

The page follows the official-document layout that members know from Word: 22 lines of 28
characters in a 156 × 225 mm type area, the title in 22 pt, the body in 16 pt Song, headings
in Hei, Kai or bold by rank, page numbers ``— 1 —`` at the foot. Lines are set on that grid
here (not by a word-wrapper) so that the invisible marks never take a cell and every copy of
a version breaks its lines at the same places; the usual Chinese line-breaking rules apply:
no line starts with closing punctuation or ends with opening punctuation.

The fingerprint must survive text extraction, so the fonts are prepared once with fontTools:
every invisible mark gets an empty zero-advance glyph of its own and every look-alike its own
copy of the plain glyph, all mapped in the cmap, and the ToUnicode map written here gives
the marks back to ``pdftotext``, pypdf or a reader's copy-and-paste. The member number is
also stamped across every page as a pale watermark image: part of every print and
screenshot, never part of the extracted text. The page itself carries the code too (the
visual layer, :mod:`wenxing.fingerprint.visual`): body characters are drawn with glyphs
moved a fifth of a millimetre, see ``objects._VARIANTS``.

The file is written here rather than by a PDF library: a CJK face is several megabytes, and
what costs is cutting it down and compiling it, which is the same for every copy of a
version and done once (``FontBook.embedded``); so are the paragraphs' line breaks. A copy
then costs setting its pages' text and compressing it (a few tens of milliseconds for the
6,000-character sample, where fpdf2 took 175 ms).

The package, in the order a copy is made: ``geometry`` (the page and the type styles),
``lines`` (breaking on the grid), ``pages`` (composing pages), ``fonts`` (the prepared
faces), ``objects`` (the PDF file and its embedded fonts), ``stamp`` (the watermark) and
``render`` (:class:`PdfFormat`, which the other formats sit beside in ``delivery.issue``).
"""

from wenxing.delivery.pdf.fonts import FACES, FONTS, FontMissing, prepared_font
from wenxing.delivery.pdf.geometry import (
    BOTTOM,
    CELLS,
    HEI,
    KAI,
    LINES,
    PAGE_H,
    PT,
    SONG,
    SONG_BOLD,
    TOP,
)
from wenxing.delivery.pdf.lines import NO_END, NO_START, Line, break_lines, clusters_of, may_break
from wenxing.delivery.pdf.pages import (
    PreparedPdf,
    compose,
    header_lines,
    paragraph_lines,
    title_lines,
)
from wenxing.delivery.pdf.render import Advances, PdfFormat, font_for

__all__ = [
    "BOTTOM",
    "CELLS",
    "FACES",
    "FONTS",
    "HEI",
    "KAI",
    "LINES",
    "NO_END",
    "NO_START",
    "PAGE_H",
    "PT",
    "SONG",
    "SONG_BOLD",
    "TOP",
    "Advances",
    "FontMissing",
    "Line",
    "PdfFormat",
    "PreparedPdf",
    "break_lines",
    "clusters_of",
    "compose",
    "font_for",
    "header_lines",
    "may_break",
    "paragraph_lines",
    "prepared_font",
    "title_lines",
]
