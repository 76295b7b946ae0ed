"""Text out of the other formats resellers and publishers use (issue 27).

* .odt (OpenDocument): ``content.xml`` read directly (headings, paragraphs, lists, tables,
  spaces and tabs), and the page headers and footers in ``styles.xml``;
* .epub: the spine's XHTML documents in reading order, through an HTML-to-text reader;
* .rtf: read by the small RTF reader of ``rtf.py``;
* .doc and .wps (old Word / WPS binary files): converted to .docx by LibreOffice headless
  (``soffice``, a documented runtime dependency: ``libreoffice-writer-nogui``), with a
  profile of its own in a temporary folder, then read as a .docx. Evidence runs this in
  the sandbox (``wenxing.sandbox``): LibreOffice inherits its memory and CPU limits and is
  killed with it.

Every failure is a ``ReadError`` with a one-line English reason.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

from lxml import etree

from wenxing.materials.source import ReadError

CONVERT_TIMEOUT = 120.0
_ODT_MIME = b"application/vnd.oasis.opendocument.text"
_EPUB_MIME = b"application/epub+zip"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_SAFE = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, dtd_validation=False, load_dtd=False
)


def zip_kind(data: bytes) -> str | None:
    """What a zip archive holds, by its ``mimetype`` member or its parts: odt, epub, pages
    (Apple Pages), images (a zip of pictures), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            mime = archive.read("mimetype").strip() if "mimetype" in names else b""
    except Exception:
        return None
    if mime.startswith(_ODT_MIME):
        return "odt"
    if mime == _EPUB_MIME:
        return "epub"
    if "index.xml" in names or any(n.startswith("Index/") and n.endswith(".iwa") for n in names):
        return "pages"
    pictures = [n for n in names if not n.endswith("/")]
    if pictures and all(
        re.search(r"\.(png|jpe?g|gif|webp|bmp|tiff?|heic)$", n, re.I) for n in pictures
    ):
        return "images"
    return None


# --- .odt --------------------------------------------------------------------------------


def odt_text(data: bytes) -> str:
    """The text of an OpenDocument text file: its body, then its page headers and footers."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read("content.xml")
            styles = archive.read("styles.xml") if "styles.xml" in archive.namelist() else b""
    except KeyError:
        raise ReadError("damaged .odt file (no content.xml)") from None
    except Exception:
        raise ReadError("damaged .odt file (not a readable zip archive)") from None
    lines = _odt_blocks(_parse(content, ".odt"))
    if styles:
        root = _parse(styles, ".odt")
        for part in root.iter(f"{{{_STYLE}}}header", f"{{{_STYLE}}}footer"):
            lines.extend(_odt_blocks(part))
    return "\n".join(lines)


def parse_xml(xml: bytes, what: str):
    """An XML part parsed without entities, DTDs or the network; ReadError when damaged."""
    return _parse(xml, what)


def _parse(xml: bytes, what: str):
    try:
        return etree.fromstring(xml, _SAFE)
    except etree.XMLSyntaxError as exc:
        raise ReadError(f"damaged {what} file ({str(exc)[:80]})") from None


def _odt_blocks(root) -> list[str]:
    lines: list[str] = []
    for element in root.iter(f"{{{_TEXT}}}p", f"{{{_TEXT}}}h"):
        if _inside_block(element):
            continue  # a paragraph inside a note is read with the note's own paragraph
        lines.append(_odt_inline(element))
    return lines


def _inside_block(element) -> bool:
    parent = element.getparent()
    while parent is not None:
        if parent.tag in (f"{{{_TEXT}}}p", f"{{{_TEXT}}}h"):
            return True
        parent = parent.getparent()
    return False


def _odt_inline(element) -> str:
    parts: list[str] = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == f"{{{_TEXT}}}s":
            parts.append(" " * int(child.get(f"{{{_TEXT}}}c", "1")))
        elif tag == f"{{{_TEXT}}}tab":
            parts.append("\t")
        elif tag == f"{{{_TEXT}}}line-break":
            parts.append("\n")
        elif tag in (f"{{{_TEXT}}}note",):
            body = child.find(f"{{{_TEXT}}}note-body")
            if body is not None:
                parts.append("\n" + "\n".join(_odt_inline(p) for p in body.iter(f"{{{_TEXT}}}p")))
        elif tag in (f"{{{_TEXT}}}p", f"{{{_TEXT}}}h"):
            parts.append(_odt_inline(child))
        else:
            parts.append(_odt_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


# --- .epub -------------------------------------------------------------------------------


HTML_BLOCKS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "section",
        "article",
        "header",
        "footer",
        "blockquote",
    ]
)


class PageText(HTMLParser):
    """The text of an HTML document: what ``SKIPPED`` elements hold left out, each of the
    ``BLOCKS`` on lines of its own (``parts``, joined by the caller). The .epub reader's
    settings; evidence's page reader (reports/evidence_markup.py) changes them."""

    SKIPPED: frozenset[str] = frozenset({"script", "style", "head"})
    BLOCKS: frozenset[str] = HTML_BLOCKS

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self._skip:
            self._skip -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_text(markup: str) -> str:
    page = PageText()
    page.feed(markup)
    page.close()
    return "".join(page.parts)


def epub_text(data: bytes) -> str:
    """The text of an EPUB: its spine's documents in reading order."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            container = _parse(archive.read("META-INF/container.xml"), ".epub")
            rootfile = container.find(".//{*}rootfile")
            if rootfile is None:
                raise ReadError("damaged .epub file (no rootfile)")
            opf_path = rootfile.get("full-path", "")
            opf = _parse(archive.read(opf_path), ".epub")
            base = PurePosixPath(opf_path).parent
            manifest = {
                item.get("id"): item.get("href", "")
                for item in opf.iter("{*}item")
                if item.get("id")
            }
            texts = []
            for ref in opf.iter("{*}itemref"):
                href = manifest.get(ref.get("idref"))
                if not href:
                    continue
                name = str(base / href) if str(base) != "." else href
                texts.append(html_text(archive.read(name).decode("utf-8", "replace")))
    except ReadError:
        raise
    except KeyError as exc:
        raise ReadError(f"damaged .epub file (missing {exc})") from None
    except Exception as exc:
        raise ReadError(f"damaged .epub file ({type(exc).__name__})") from None
    return "\n".join(texts)


# --- .doc and .wps through LibreOffice ------------------------------------------------------


def soffice() -> str | None:
    """The LibreOffice program, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(data: bytes, suffix: str, timeout: float = CONVERT_TIMEOUT) -> bytes:
    """An old Word/WPS (or any LibreOffice can open) document converted to .docx."""
    program = soffice()
    if program is None:
        raise ReadError("reading .doc needs LibreOffice (soffice), which is not installed")
    with tempfile.TemporaryDirectory(prefix="wenxing-convert-") as folder:
        root = Path(folder)
        source = root / ("in" + suffix)
        source.write_bytes(data)
        out = root / "out"
        command = [
            program,
            f"-env:UserInstallation={(root / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(out),
            str(source),
        ]
        env = {**os.environ, "HOME": str(root), "SAL_USE_VCLPLUGIN": "svp"}
        try:
            subprocess.run(
                command, capture_output=True, timeout=timeout, env=env, check=False,
                start_new_session=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ReadError(f"converting the document took longer than {timeout:g} s") from None
        except OSError as exc:
            raise ReadError(f"LibreOffice could not be started ({exc.strerror or exc})") from None
        converted = out / "in.docx"
        if not converted.exists():
            raise ReadError("LibreOffice could not read the document (damaged or unsupported)")
        return converted.read_bytes()
