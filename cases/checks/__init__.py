"""The automatic checks (DESIGN §6) and the sanitising of uploads (DESIGN §7).

- `pictures`: picture analysis: perceptual hash, quality, editing-software traces (pure: Pillow
  only, no ORM);
- `findings`: what the checks find about a case now (reads only);
- `run`: requesting, running and storing the checks as signals, and clearing a signal;
- `sanitise`: the upload pipeline: type from the content, size caps, images re-encoded without
  metadata, PDFs rewritten by `pdf_sanitiser` in a child process.
"""
