"""Word (DOCX) from the HTML document, converted by LibreOffice Writer headless.

Problem: procurement officers edit and sign contracts in Word. A DOCX written by hand
(python-docx) would be a second rendering of every template to keep in step with the
HTML; LibreOffice already reads HTML into a real word-processing document, with
headings, tables and lists as Word styles, and writes DOCX.

Approach: the HTML document is rendered as for print, prepared for Writer's HTML import
-- tables get an explicit full width and borders (Writer ignores the CSS grid of the
print layout), inline SVG charts become `<img>` with a data URI and their size (Writer
drops inline SVG but converts an SVG image into a picture) -- and converted with
`soffice --headless --convert-to docx` in a private profile folder, so concurrent runs
and a user's open LibreOffice do not collide. A missing LibreOffice is the environment's
failure (exit 3) with what to install.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from contracts.errors import EnvironmentFailure

TIMEOUT_S = 180
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_SIZE = re.compile(r'\bwidth="(\d+(?:\.\d+)?)"[^>]*?\bheight="(\d+(?:\.\d+)?)"')
_TABLE = re.compile(r"<table\b(?![^>]*\bwidth=)")
MAX_WIDTH_PX = 600  # an A4 text column at Writer's 96 px to the inch, with margins


def _picture(match: re.Match[str]) -> str:
    svg = match.group(0)
    if "xmlns=" not in svg.split(">", 1)[0]:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    size = _SIZE.search(svg.split(">", 1)[0])
    attrs = ""
    if size is not None:
        w, h = float(size.group(1)), float(size.group(2))
        scale = min(1.0, MAX_WIDTH_PX / w) if w else 1.0
        attrs = f' width="{round(w * scale)}" height="{round(h * scale)}"'
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img{attrs} src="data:image/svg+xml;base64,{data}" alt="">'


def html_for_word(html: str) -> str:
    """The print HTML adjusted for Writer's HTML import (see the module doc)."""
    html = _SVG.sub(_picture, html)
    return _TABLE.sub('<table width="100%" border="1" cellpadding="4" cellspacing="0"', html)


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise EnvironmentFailure(
            "cannot write DOCX: LibreOffice is not installed (Debian: apt-get install "
            "libreoffice-writer-nogui; `make system` does it), or render --format html"
        )
    return found


def html_to_docx(html: str) -> bytes:
    """The HTML document as a Word document (bytes)."""
    command = soffice()
    with tempfile.TemporaryDirectory(prefix="contract-docx-") as tmp:
        folder = Path(tmp)
        source = folder / "document.html"
        source.write_text(html_for_word(html), encoding="utf-8")
        profile = (folder / "profile").as_uri()
        try:
            done = subprocess.run(
                [
                    command,
                    f"-env:UserInstallation={profile}",
                    "--headless",
                    "--norestore",
                    "--convert-to",
                    "docx:MS Word 2007 XML",
                    "--outdir",
                    str(folder / "out"),
                    str(source),
                ],
                capture_output=True,
                timeout=TIMEOUT_S,
                env={**os.environ, "HOME": tmp},
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise EnvironmentFailure(
                f"LibreOffice did not finish converting to DOCX within {TIMEOUT_S} s"
            ) from None
        result = folder / "out" / "document.docx"
        if done.returncode != 0 or not result.is_file():
            said = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
            raise EnvironmentFailure(
                "LibreOffice could not convert the document to DOCX"
                + (f": {said.splitlines()[-1]}" if said else "")
                + " (is libreoffice-writer-nogui installed?)"
            )
        return result.read_bytes()
