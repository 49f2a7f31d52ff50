"""`python -m cases.pdfcheck < file.pdf`: exit 0 when the PDF parses and has at least one page.

Run by cases/uploads.py in a child process with a time limit, so a hostile PDF can neither hang
nor crash the web process. No Django here: only the bytes on stdin.
"""

from __future__ import annotations

import io
import sys


def main() -> int:
    from pypdf import PdfReader

    data = sys.stdin.buffer.read()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = len(reader.pages)
        if pages:
            reader.pages[0].mediabox  # noqa: B018 - touch the first page: it must parse
    except Exception:
        return 2
    return 0 if pages else 3


if __name__ == "__main__":
    sys.exit(main())
