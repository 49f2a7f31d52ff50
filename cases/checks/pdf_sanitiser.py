"""`python -m cases.checks.pdf_sanitiser < in.pdf > out.pdf`: parse a PDF and write back its pages
only.

Run by cases/checks/sanitise.py in a child process with a time limit, so a hostile PDF can
neither hang nor crash the web process. The output keeps the pages (and what they draw) and drops
the document-level JavaScript, open actions, page actions, attachments and metadata. Exit status
0 with the new PDF on stdout, or non-zero when the file does not parse or has no pages. No Django
here: only the bytes on stdin.
"""

from __future__ import annotations

import io
import sys

DROPPED_PAGE_KEYS = ("/AA", "/Annots", "/Metadata", "/PieceInfo", "/Thumb")


def main() -> int:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    data = sys.stdin.buffer.read()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if not reader.pages:
            return 3
        writer = PdfWriter()
        for page in reader.pages:
            added = writer.add_page(page)
            for key in DROPPED_PAGE_KEYS:
                if NameObject(key) in added:
                    del added[NameObject(key)]
        writer.add_metadata({"/Producer": "kycreview"})
        out = io.BytesIO()
        writer.write(out)
    except Exception:
        return 2
    sys.stdout.buffer.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
