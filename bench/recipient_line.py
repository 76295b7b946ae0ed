"""Whom a phone screenshot of one page of a .pdf copy names by its visible recipient line.

A one-page screenshot carries too few fingerprint marks to accuse anyone; it is traced by
the recipient line in the page header. For each of N members (numbers WX-10001 upwards in
steps of 137) a .pdf copy of the sample is rendered, pages 1 and 2 are turned into PNGs by
pdftoppm at 720, 900 and 1080 pixels wide (as phones show a page), and each PNG goes
through the evidence reader (``read_evidence_file``: OCR with Tesseract chi_sim) and
``visible_numbers``. A screenshot counts as named right when the numbers found are exactly
the member's. No database; about 1.5 s of OCR per screenshot.

    .venv/bin/python bench/recipient_line.py              # 10 members
    .venv/bin/python bench/recipient_line.py --members 20 --widths 720
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from tests.helpers import sample_copy

    from wenxing.delivery import pdf
    from wenxing.delivery.layout import Layout
    from wenxing.reports.evidence import read_evidence_file
    from wenxing.reports.trace import visible_numbers

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--widths", default="720,900,1080")
    parser.add_argument("--pages", default="1,2")
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    pages = [int(p) for p in args.pages.split(",")]
    fmt = pdf.PdfFormat()
    right: dict[tuple[int, int], int] = {}
    misses = []
    with tempfile.TemporaryDirectory(prefix="wenxing-bench-recipient-") as tmp:
        folder = Path(tmp)
        for i in range(args.members):
            member = f"WX-{10001 + 137 * i}"
            content, _plan, _body = sample_copy(member, "strong", i + 1)
            layout = Layout(content.title, tuple(b.block for b in content.blocks), content.toc)
            copy = folder / f"{i}.pdf"
            copy.write_bytes(fmt.render(fmt.prepare(layout, content.masthead), content))
            for page in pages:
                for width in widths:
                    stem = folder / f"{i}-{page}-{width}"
                    command = ["pdftoppm", "-f", str(page), "-l", str(page), "-singlefile"]
                    command += ["-png", "-scale-to-x", str(width), "-scale-to-y", "-1"]
                    subprocess.run([*command, str(copy), str(stem)], check=True)
                    text = read_evidence_file(stem.with_suffix(".png"), 1 << 24).text
                    found = visible_numbers(text)
                    right[page, width] = right.get((page, width), 0) + (found == [member])
                    if found != [member]:
                        misses.append((page, width, member, found))
    print(f"Screenshots naming the right member, of {args.members} members")
    print(f"{'page':>4} " + " ".join(f"{w:>7} px" for w in widths))
    for page in pages:
        print(f"{page:>4} " + " ".join(f"{right[page, w]:>5} / {args.members}" for w in widths))
    for page, width, member, found in misses:
        print(f"  not named: page {page} at {width} px, {member}: found {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
