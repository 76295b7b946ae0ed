"""Turning one source file into a prepared material, with no database involved.

This is the CPU-heavy half of an import (reading, cleaning, parsing, keywords, shingles);
it is a pure function of the file and the cleaning rules, so an import of a large folder
runs it in worker processes while the main process writes to the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wenxing import sandbox
from wenxing.errors import DomainError
from wenxing.materials import identify, keywords, kinds, outline, shingles
from wenxing.materials.cleaning import Cleaner
from wenxing.materials.readers import ReadError, SourceText, read_source


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_unpacked_bytes: int
    # Read the file in the sandbox (``wenxing.sandbox``) with these limits: files uploaded
    # through the web console, which a stolen staff account could fill with bombs.
    sandbox: Any = None


@dataclass
class Prepared:
    """Everything about a source file that the database needs, computed up front."""

    path: str
    source_name: str
    source_format: str
    source_encoding: str | None
    content_hash: str
    body_hash: str
    title: str
    kind: str
    body: str
    outline_json: str
    keywords: list[str]
    minhash: bytes
    bands: list[int]
    shingle_hashes: bytes
    grams: list[int]


@dataclass(frozen=True)
class Failure:
    path: str
    error: DomainError  # a read.* or import.* code


def prepare_file(path: Path, limits: Limits, cleaner: Cleaner) -> Prepared | Failure:
    """Read, clean and analyse one file; a file that cannot become a material is a Failure."""
    try:
        if limits.sandbox is not None:
            source = _read_sandboxed(path, limits)
        else:
            source = read_source(
                path, max_bytes=limits.max_bytes, max_unpacked_bytes=limits.max_unpacked_bytes
            )
        content_hash = _file_hash(path)
    except ReadError as exc:
        return Failure(str(path), exc)
    except OSError as exc:
        return Failure(str(path), ReadError("read.cannot_read", detail=exc.strerror or str(exc)))
    paragraphs = cleaner.clean(source.text)
    if not paragraphs:
        return Failure(str(path), DomainError("import.no_text_left"))
    structure = outline.parse(paragraphs)
    if not structure.body.strip():
        return Failure(str(path), DomainError("import.title_only"))
    title = structure.title or source.title_hint or path.stem
    hashes = shingles.shingle_hashes(structure.body)
    signature = shingles.minhash(hashes)
    return Prepared(
        path=str(path),
        source_name=path.name,
        source_format=source.format,
        source_encoding=source.encoding,
        content_hash=content_hash,
        body_hash=hashlib.sha256(structure.body.encode("utf-8")).hexdigest(),
        title=title[:300],
        kind=kinds.classify(title, structure),
        body=structure.body,
        outline_json=json.dumps(structure.outline_dicts(), ensure_ascii=False),
        keywords=keywords.extract_keywords(title, structure.body),
        minhash=shingles.signature_bytes(signature),
        bands=shingles.bands(signature),
        shingle_hashes=hashes.tobytes(),
        grams=identify.winnow(structure.body).tolist(),
    )


def _read_sandboxed(path: Path, limits: Limits) -> SourceText:
    try:
        found = sandbox.call(
            "wenxing.materials.readers:read_source_positional",
            str(path),
            limits.max_bytes,
            limits.max_unpacked_bytes,
            limits=limits.sandbox,
            label=f"import {path.name}",
        )
    except sandbox.SandboxError as exc:
        raise ReadError(str(exc)) from None
    assert isinstance(found, SourceText)
    return found


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
