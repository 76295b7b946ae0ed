"""The paragraph ids of a .docx copy: the ``w14:paraId`` of every body paragraph is derived
from the copy tag, so a forwarded file names its recipient in its own structure whatever is
done to its text (:mod:`wenxing.delivery.docx` writes them; the tracer reads them back).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import zipfile

from lxml import etree

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"


def paragraph_ids(copy_tag: str, count: int) -> list[str]:
    """The ``w14:paraId`` of body paragraphs 0..count-1 of the copy with this tag.

    Each is the first 31 bits of HMAC-SHA256(copy tag, ``p{i}``), as Word requires ids
    below 0x80000000.
    """
    key = copy_tag.encode()
    return [
        f"{int.from_bytes(hmac.digest(key, f'p{i}'.encode(), hashlib.sha256)[:4]) >> 1:08X}"
        for i in range(count)
    ]


_PARAGRAPH = f"{{{W_NS}}}p"
_PARA_ID = f"{{{W14_NS}}}paraId"


def read_paragraph_ids(data: bytes) -> list[str]:
    """The paragraph ids in a .docx's main document, in order (upper-case hex).

    Raises ``ValueError`` when ``data`` is not a .docx.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = archive.read("word/document.xml")
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(xml, parser)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as exc:
        raise ValueError(f"not a .docx file: {exc}") from None
    return [p.get(_PARA_ID).upper() for p in root.iter(_PARAGRAPH) if p.get(_PARA_ID)]


def matches_copy_tag(data: bytes, copy_tag: str, paragraphs: int | None = None) -> float:
    """The fraction of a .docx's paragraph ids that belong to the copy with this tag.

    Ids are compared as a set, so paragraphs added, moved or deleted in an edited copy cost
    only their own share. ``paragraphs`` is the number of body paragraphs of the version
    when known; without it ids of paragraphs beyond the document's current count (after
    deletions) are not recognised. A copy for another tag scores about 0.
    """
    found = read_paragraph_ids(data)
    if not found:
        return 0.0
    ours = set(paragraph_ids(copy_tag, max(len(found), paragraphs or 0)))
    return sum(paragraph_id in ours for paragraph_id in found) / len(found)
