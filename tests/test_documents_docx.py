"""`contract render --format docx`: a Word document that opens and holds the figures.

"Opens" is checked where it matters: LibreOffice Writer reads the DOCX back and turns it
into plain text, in which the maximum liability and the prices must stand as the
engine has them.
"""

from __future__ import annotations

import pathlib
import stat
import subprocess
import zipfile

import pytest
from typer.testing import CliRunner

from cli.main import app
from contracts.documents.docx import html_for_word, soffice

ROOT = pathlib.Path(__file__).resolve().parent.parent
SICK = ROOT / "sample_data" / "sick-leave" / "contract.yaml"
SCHOOL = ROOT / "sample_data" / "school-support" / "contract.yaml"


def as_text(docx: pathlib.Path, tmp: pathlib.Path) -> str:
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={(tmp / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "txt:Text (encoded):UTF8",
            "--outdir",
            str(tmp / "txt"),
            str(docx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return (tmp / "txt" / (docx.stem + ".txt")).read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(
    ("contract", "lang", "needles"),
    [
        (SICK, "sv", ["4 500 000 kr", "420 kr per undviken sjuktimme", "Norrviks kommun"]),
        (SCHOOL, "en", ["SEK 4,200,000", "SEK 20,000", "SEK 40,000"]),
    ],
)
def test_the_docx_opens_in_writer_and_holds_the_figures(
    tmp_path: pathlib.Path, contract: pathlib.Path, lang: str, needles: list[str]
) -> None:
    out = tmp_path / "avtal.docx"
    result = CliRunner().invoke(app, ["render", str(contract), "--lang", lang, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert zipfile.is_zipfile(out) and "word/document.xml" in zipfile.ZipFile(out).namelist()
    assert out.stat().st_mode & stat.S_IRGRP  # not left private like a temporary file
    text = as_text(out, tmp_path).replace("\u00a0", " ").replace("\u202f", " ")
    for needle in needles:
        assert needle in text, needle


def test_charts_become_pictures_in_the_docx(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "avtal.docx"
    assert CliRunner().invoke(app, ["render", str(SICK), "-o", str(out)]).exit_code == 0
    media = [n for n in zipfile.ZipFile(out).namelist() if n.startswith("word/media/")]
    assert media, "the improvement rule's chart is missing"


def test_html_is_prepared_for_writer() -> None:
    html = (
        '<table class="x"><tr><td>1</td></tr></table>'
        '<svg viewBox="0 0 1200 300" width="1200" height="300"><line/></svg>'
    )
    word = html_for_word(html)
    assert '<table width="100%" border="1"' in word and "<svg" not in word
    assert '<img width="600" height="150" src="data:image/svg+xml;base64,' in word


def test_docx_needs_a_file() -> None:
    result = CliRunner().invoke(app, ["render", str(SICK), "--format", "docx"])
    assert result.exit_code == 2 and "give -o FILE.docx" in result.stderr


def test_the_report_as_docx_holds_the_totals(tmp_path: pathlib.Path) -> None:
    school = ROOT / "sample_data" / "school-support"
    files = [school / "outcomes" / f for f in ("VT2025-intake.xlsx", "HT2025.xlsx", "VT2026.xlsx")]
    out = tmp_path / "avrakning.docx"
    args = ["report", str(SCHOOL), "--period", "VT2026", "--lang", "sv", "-o", str(out)]
    for f in files:
        args += ["--outcomes", str(f)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    text = as_text(out, tmp_path).replace("\u00a0", " ").replace("\u202f", " ")
    assert "714 000 kr" in text and "4 200 000 kr" in text
