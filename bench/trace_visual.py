"""The visual layer: whom an image of a page names when the page's text carries no marks.

The sample material is issued to 1,000 recipients (WX-10000 … WX-10999) as .pdf copies
(and reader pages) exactly as ``issue_copy`` renders them, visual layer included. Each
trial picks a leaker at random, makes an image of one page of the leaker's copy, reads it
with the project's own evidence reader (``read_evidence_bytes``: Tesseract, the text and its
word boxes) and traces it as ``wenxing trace`` does: the text's wording layer and the
page's visual layer, each decoded on its own and combined by ``accuse``. The header (with
the printed recipient line) and the footer are cut off every image, so only the marks can
name anyone.

Rows:

    pdf-100dpi   one body page rendered by pdftoppm at 100 dpi, header and footer cropped,
                 the watermark erased (every pixel lighter than 200 set to white)
    pdf-photo    the same page at 200 dpi, photographed: a random perspective (corners moved
                 up to 3 % of the side), uneven light, blur (σ 1.2 px), sensor noise, scaled
                 to 1,300 px wide, saved as JPEG quality 60
    docx-150dpi  one body page of the .docx copy as LibreOffice (headless) sets it, exported
                 to PDF and rendered at 150 dpi by pdftoppm, header and footer cropped: a
                 printed and scanned (or screenshotted) Word copy, which carries the wording
                 and the character spacing of docx_visual
    docx-photo   the same page at 200 dpi, photographed as pdf-photo
    reader-390   the reader page in Chromium (Playwright) at 390 × 844 CSS px, device scale
                 1, a screen of the body scrolled to a random paragraph; the header is out
                 of view

A trial succeeds when the leaker is accused; anyone else accused is a false accusation
(target 0 in every row). OCR takes seconds an image on this machine, so the rows run 20
trials each by default (``--trials``), not the 200 of bench/trace.py.

    .venv/bin/python bench/trace_visual.py               # 20 trials per row
    .venv/bin/python bench/trace_visual.py --trials 5 --only pdf-100dpi
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "src"))

from wenxing import fingerprint  # noqa: E402
from wenxing.config import DEFAULT_MASTHEAD  # noqa: E402
from wenxing.delivery.layout import CopyContent, fill, layout_of  # noqa: E402
from wenxing.delivery.pdf import PdfFormat  # noqa: E402
from wenxing.delivery.render import recipient_line  # noqa: E402
from wenxing.fingerprint import Profile, build_plan, parse_variant_list  # noqa: E402
from wenxing.materials.cleaning import Cleaner  # noqa: E402
from wenxing.materials.identify import t2s_fold  # noqa: E402
from wenxing.materials.keywords import words  # noqa: E402
from wenxing.materials.outline import parse  # noqa: E402
from wenxing.materials.protect import protected_spans  # noqa: E402
from wenxing.reports import visual_lines  # noqa: E402
from wenxing.reports.evidence import EvidenceError, read_evidence_bytes  # noqa: E402

SAMPLE = REPO / "src" / "wenxing" / "demo" / "sample.txt"
VARIANTS = REPO / "src" / "wenxing" / "fingerprint" / "data" / "variants.txt"
OUT = BENCH / "out" / "trace_visual.json"
RECIPIENTS = [f"WX-{10000 + n}" for n in range(1000)]
TARGETS = {
    "pdf-100dpi": 0.90,
    "pdf-photo": 0.70,
    "docx-150dpi": 0.90,
    "docx-photo": 0.70,
    "reader-390": 0.90,
}
HEADER_MM, FOOTER_MM = 36.0, 33.0  # cut off the top and bottom of every page image


class Sample:
    """The sample material, its plan and key, and copies as issue_copy makes them."""

    def __init__(self, seed: int) -> None:
        raw = SAMPLE.read_text("utf-8")
        structure = parse(Cleaner(DEFAULT_MASTHEAD).clean(raw))
        self.title, self.body = structure.title, structure.body
        self.layout = layout_of(self.title, self.body, json.dumps(structure.outline_dicts()))
        self.key = random.Random(f"key:{seed}").randbytes(32)
        variants = parse_variant_list(VARIANTS.read_text("utf-8"))
        spans = protected_spans(self.body)
        self.plan = build_plan(
            self.body, self.key, words(self.body), variants, Profile("light"), spans
        )
        self.masthead = tuple(
            line.format(member_group="", free_group="") for line in DEFAULT_MASTHEAD
        )
        self.pdf = PdfFormat()
        self.prepared = self.pdf.prepare(self.layout, self.masthead)

    def content(self, member: str) -> CopyContent:
        pieces = fingerprint.mark_spans(self.body, self.plan, self.key, member, self.layout.cuts)
        return CopyContent(
            title=self.title,
            blocks=fill(self.layout, pieces),
            toc=self.layout.toc,
            masthead=self.masthead,
            recipient_line=recipient_line(member, "2026-12-07"),
            member_number=member,
            issued_on="2026-12-07",
            copy_tag="",
            copy_id=1,
            visual_key=self.key,
        )

    def pdf_bytes(self, member: str) -> bytes:
        return self.pdf.render(self.prepared, self.content(member))

    def docx_pdf(self, member: str) -> bytes:
        """The member's .docx copy as LibreOffice lays it out, exported to PDF."""
        from wenxing.delivery.docx import DocxFormat
        from wenxing.materials.office import soffice

        fmt = DocxFormat()
        data = fmt.render(fmt.prepare(self.layout, self.masthead), self.content(member))
        with tempfile.TemporaryDirectory(prefix="wenxing-bench-docx-") as folder:
            root = Path(folder)
            (root / "copy.docx").write_bytes(data)
            subprocess.run(
                [
                    soffice() or "soffice",
                    f"-env:UserInstallation={(BENCH / 'out' / 'lo-profile').as_uri()}",
                    "--headless", "--norestore", "--convert-to", "pdf",
                    "--outdir", str(root), str(root / "copy.docx"),
                ],
                capture_output=True, check=True, env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"},
            )  # fmt: skip
            return (root / "copy.pdf").read_bytes()

    def trace(self, image: bytes) -> dict:
        """Read and trace an image as ``wenxing trace`` does (text and page layers)."""
        started = time.perf_counter()
        try:
            evidence = read_evidence_bytes(image, ".png")
        except EvidenceError as exc:  # OCR read nothing (a trial that names no one)
            print(f"  unreadable image: {exc}", file=sys.stderr)
            return {"accused": [], "visual_alone": [], "visual_positions": 0,
                    "text_positions": 0, "basis": [], "read_s": time.perf_counter() - started}  # fmt: skip
        read_s = time.perf_counter() - started
        reading = fingerprint.read_evidence(
            self.body, self.plan, evidence.text, t2s_fold(), invisible=evidence.can_carry_invisible
        )
        page = visual_lines.read_pages(list(evidence.pages), self.layout, self.body, self.key)
        merged = fingerprint.merge_readings([reading, page]) if page.positions else reading
        verdict = fingerprint.accuse(merged, self.key, RECIPIENTS)
        alone = fingerprint.accuse(page, self.key, RECIPIENTS) if page.positions else None
        return {
            "accused": [s.member for s in verdict.accused],
            "visual_alone": [s.member for s in alone.accused] if alone else [],
            "visual_positions": page.positions,
            "text_positions": reading.positions,
            "basis": sorted({b for s in verdict.accused for b in s.basis}),
            "read_s": read_s,
        }


def page_image(pdf: bytes, page: int, dpi: int) -> Image.Image:
    with tempfile.TemporaryDirectory(prefix="wenxing-bench-visual-") as folder:
        path = Path(folder) / "copy.pdf"
        path.write_bytes(pdf)
        command = ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-gray"]
        subprocess.run(
            [*command, "-png", "-singlefile", str(path), str(path.with_suffix(""))], check=True
        )
        image = Image.open(path.with_suffix(".png")).convert("L")
        image.load()
    per_mm = image.width / 210.0
    return image.crop(
        (0, round(HEADER_MM * per_mm), image.width, round(image.height - FOOTER_MM * per_mm))
    )


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pdf_100dpi(sample: Sample, member: str, rng: random.Random) -> bytes:
    image = page_image(sample.pdf_bytes(member), rng.randint(2, 9), 100)
    pixels = np.asarray(image)
    return png(Image.fromarray(np.where(pixels > 200, 255, pixels).astype(np.uint8)))


def photographed(image: Image.Image, rng: random.Random) -> Image.Image:
    """A phone photograph of a page image: perspective, light, blur, noise, JPEG 60."""
    width, height = image.size
    wobble = 0.03

    def corner(x: float, y: float) -> tuple[float, float]:
        return (x + rng.uniform(-wobble, wobble) * width, y + rng.uniform(-wobble, wobble) * height)

    # Where each corner of the output comes from in the page (PIL's perspective takes the
    # inverse mapping's coefficients, found from four point pairs).
    source = [corner(0, 0), corner(width, 0), corner(width, height), corner(0, height)]
    target = [(0, 0), (width, 0), (width, height), (0, height)]
    matrix = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    coefficients = np.linalg.solve(np.array(matrix), np.array(source).reshape(8))
    warped = image.transform(
        (width, height),
        Image.Transform.PERSPECTIVE,
        tuple(coefficients),
        Image.Resampling.BICUBIC,
        fillcolor=200,
    )
    pixels = np.asarray(warped, dtype=np.float64)
    yy, xx = np.mgrid[0:height, 0:width]
    light = 0.82 + 0.18 * (xx / width * rng.uniform(0.3, 1) + yy / height * rng.uniform(0.3, 1)) / 2
    pixels = pixels * light + rng.uniform(-8, 8)
    shot = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    shot = shot.filter(ImageFilter.GaussianBlur(1.2))
    scale = 1300 / width
    shot = shot.resize((1300, round(height * scale)), Image.Resampling.BILINEAR)
    noisy = np.asarray(shot, dtype=np.float64) + np.random.default_rng(rng.getrandbits(32)).normal(
        0, 3, (shot.height, shot.width)
    )
    out = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=60)
    return Image.open(io.BytesIO(out.getvalue())).convert("L")


def pdf_photo(sample: Sample, member: str, rng: random.Random) -> bytes:
    image = page_image(sample.pdf_bytes(member), rng.randint(2, 9), 200)
    shot = photographed(image, rng)
    out = io.BytesIO()
    shot.save(out, "JPEG", quality=60)
    return out.getvalue()


def docx_150dpi(sample: Sample, member: str, rng: random.Random) -> bytes:
    return png(page_image(sample.docx_pdf(member), rng.randint(2, 9), 150))


def docx_photo(sample: Sample, member: str, rng: random.Random) -> bytes:
    shot = photographed(page_image(sample.docx_pdf(member), rng.randint(2, 9), 200), rng)
    out = io.BytesIO()
    shot.save(out, "JPEG", quality=60)
    return out.getvalue()


class Browser:
    """Debian's Chromium through Playwright, as the e2e tests drive it (one per run)."""

    page = None

    @classmethod
    def screen(cls, html: str, paragraph: int) -> bytes:
        if cls.page is None:
            from playwright.sync_api import sync_playwright

            cls.playwright = sync_playwright().start()
            browser = cls.playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True
            )
            cls.page = browser.new_page(
                viewport={"width": 390, "height": 844}, device_scale_factor=1
            )
        cls.page.set_content(html)
        cls.page.evaluate(f"document.querySelectorAll('article p')[{paragraph}].scrollIntoView()")
        return cls.page.screenshot()


def reader_390(sample: Sample, member: str, rng: random.Random) -> bytes:
    from wenxing.delivery.html import HtmlFormat
    from wenxing.delivery.layout import Layout

    fmt = HtmlFormat()
    content = sample.content(member)
    layout = Layout(content.title, tuple(b.block for b in content.blocks), content.toc)
    html = fmt.render(fmt.prepare(layout, sample.masthead), content).decode("utf-8")
    paragraphs = sum(1 for b in content.blocks if b.block.style != "heading")
    return Browser.screen(html, rng.randint(3, max(3, paragraphs - 12)))


ROWS = {
    "pdf-100dpi": pdf_100dpi,
    "pdf-photo": pdf_photo,
    "docx-150dpi": docx_150dpi,
    "docx-photo": docx_photo,
    "reader-390": reader_390,
}


def run_row(sample: Sample, name: str, trials: int, seed: int) -> dict:
    rng = random.Random(f"{name}:{seed}")
    named = innocents = alone = alone_innocents = 0
    visual_positions, text_positions, read_times, bases = [], [], [], []
    for _ in range(trials):
        leaker = rng.choice(RECIPIENTS)
        image = ROWS[name](sample, leaker, rng)
        result = sample.trace(image)
        named += leaker in result["accused"]
        innocents += sum(1 for m in result["accused"] if m != leaker)
        alone += leaker in result["visual_alone"]
        alone_innocents += sum(1 for m in result["visual_alone"] if m != leaker)
        visual_positions.append(result["visual_positions"])
        text_positions.append(result["text_positions"])
        read_times.append(result["read_s"])
        bases.extend(result["basis"])
    return {
        "row": name,
        "trials": trials,
        "named": named / trials,
        "target": TARGETS[name],
        "innocents_accused": innocents,
        "named_by_visual_alone": alone / trials,
        "innocents_accused_by_visual_alone": alone_innocents,
        "visual_positions_median": statistics.median(visual_positions),
        "text_positions_median": statistics.median(text_positions),
        "read_s_median": statistics.median(read_times),
        "basis": sorted(set(bases)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    sample = Sample(args.seed)
    results = []
    print(
        f"Visual layer: {len(RECIPIENTS)} recipients, {args.trials} trials a row, load {load:.2f}"
    )
    print(
        f"{'row':12} {'named':>7} {'target':>7} {'':5} {'innocents':>9} {'':5} "
        f"{'visual pos':>10} {'text pos':>8} {'read s':>7} {'visual alone (innocents)':>24}"
        "  basis"
    )
    for name in ROWS:
        if not name.startswith(args.only):
            continue
        r = run_row(sample, name, args.trials, args.seed)
        results.append(r)
        ok = r["named"] >= r["target"]
        clean = r["innocents_accused"] == 0
        print(
            f"{name:12} {r['named']:7.0%} {'≥ ' + format(r['target'], '.0%'):>7} "
            f"{'PASS' if ok else 'MISS':5} {r['innocents_accused']:9d} {'PASS' if clean else 'MISS':5} "
            f"{r['visual_positions_median']:10.0f} {r['text_positions_median']:8.0f} "
            f"{r['read_s_median']:7.1f} {r['named_by_visual_alone']:18.0%} "
            f"({r['innocents_accused_by_visual_alone']})  {','.join(r['basis'])}"
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"load": load, "trials": args.trials, "rows": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
