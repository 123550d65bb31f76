"""Snapshots of the binary formats: PDF, DOCX and xlsx, and of the JSON report.

Both samples, both languages: `contract render -o X.pdf|X.docx` and `contract report`
of one settled period from files (`-o X.pdf|X.docx|X.xlsx|X.json`). The snapshots live
in tests/snapshots/formats/; a missing one is written, and all are rewritten only with
`pytest --update-golden tests/test_documents_snapshots.py`. Otherwise a difference fails
with a unified diff.

Why the text and not the bytes of the binary formats: the bytes of a PDF or a DOCX
carry what no reader sees and what changes with the tools, not with the document --
creation dates and producer versions in the metadata, font subsets and their random
tags, compressed streams, zip entry order and times, LibreOffice's style ids. A byte
snapshot would break on every WeasyPrint or LibreOffice upgrade and say nothing about
what changed. What the contract's parties read is the text, so the text is compared:
the PDF as `pdftotext -layout` lays it out (columns of tables, page breaks, running
headers and page numbers), the DOCX as LibreOffice Writer reads it back as plain text
(what Word users get), the workbook as a dump of every cell with its formula (not its
cached value: the workbook computes in the client's spreadsheet) and number format.

Normalisation (`normalise`): trailing spaces are stripped, runs of blank lines become
one, the byte-order mark Writer writes is dropped, a page break (form feed) becomes a
line `[page break]`. The documents hold no date of rendering and no temporary path
(the outcome files are named by the relative paths given on the command line, run from
the repository root), so nothing else needs rewriting. The PDF's line layout depends on
the fonts fontconfig finds (`make system` installs DejaVu), like the PDF itself.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import json
import pathlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import openpyxl
import pytest
from typer.testing import CliRunner

from cli.main import app
from contracts.documents.docx import soffice

ROOT = pathlib.Path(__file__).resolve().parent.parent
FORMATS = ROOT / "tests" / "snapshots" / "formats"
# Relative to ROOT, where the documents are made, so the file names in them are stable.
SAMPLES = {
    "sick-leave": pathlib.Path("sample_data/sick-leave"),
    "school-support": pathlib.Path("sample_data/school-support"),
}
# One settled period per sample, from files: every file up to and including the period.
REPORTS = {
    "sick-leave": ("2025-Q2", ("baseline-2024.xlsx", "2025-Q1.xlsx", "2025-Q2.xlsx")),
    "school-support": ("VT2026", ("VT2025-intake.xlsx", "HT2025.xlsx", "VT2026.xlsx")),
}
LANGS = ("en", "sv")
DIFF_LINES = 60  # of the unified diff shown when a snapshot differs

Command = Literal["render", "report"]


@dataclass(frozen=True)
class Case:
    """One document: a command, a sample and a language (the format is chosen by -o)."""

    command: Command
    sample: str
    lang: str

    @property
    def stem(self) -> str:
        if self.command == "render":
            return f"render-{self.sample}.{self.lang}"
        return f"report-{self.sample}-{REPORTS[self.sample][0]}.{self.lang}"

    def args(self, out: pathlib.Path) -> list[str]:
        contract = str(SAMPLES[self.sample] / "contract.yaml")
        if self.command == "render":
            return ["render", contract, "--lang", self.lang, "-o", str(out)]
        period, files = REPORTS[self.sample]
        outcomes = [f"--outcomes={SAMPLES[self.sample] / 'outcomes' / f}" for f in files]
        return [
            "report",
            contract,
            "--period",
            period,
            *outcomes,
            "--lang",
            self.lang,
            "-o",
            str(out),
        ]


CASES = [
    Case(command, sample, lang)
    for command in ("render", "report")
    for sample in SAMPLES
    for lang in LANGS
]
FORMATS_OF: dict[Command, tuple[str, ...]] = {
    "render": ("pdf", "docx"),
    "report": ("pdf", "docx", "xlsx", "json"),
}

PDF_READY = importlib.util.find_spec("weasyprint") is not None and bool(shutil.which("pdftotext"))
DOCX_READY = bool(shutil.which("soffice") or shutil.which("libreoffice"))
NEEDS = {
    "pdf": [
        pytest.mark.slow,
        pytest.mark.skipif(not PDF_READY, reason="needs weasyprint and pdftotext (make system)"),
    ],
    "docx": [
        pytest.mark.slow,
        pytest.mark.skipif(not DOCX_READY, reason="needs LibreOffice Writer (make system)"),
    ],
}


# ---- making the documents, each once --------------------------------------------------


class Documents:
    """The documents of every case, made on first use and kept for the module.

    All DOCX files are made together when the first is asked for, and LibreOffice reads
    them all back as text in one `soffice` call (it converts several files at once).
    """

    def __init__(self, folder: pathlib.Path) -> None:
        self.folder = folder
        self.files: dict[tuple[Case, str], pathlib.Path] = {}
        self.docx_texts: dict[Case, str] | None = None
        # The ledger is not opened when reporting from files; should it be, not ./contracts.db.
        self.env = {"COLUMNS": "120", "CONTRACT_DB": f"sqlite:///{folder / 'unused.db'}"}

    def file(self, case: Case, fmt: str) -> pathlib.Path:
        key = (case, fmt)
        if key not in self.files:
            out = self.folder / "documents" / f"{case.stem}.{fmt}"
            out.parent.mkdir(exist_ok=True)
            with contextlib.chdir(ROOT):
                result = CliRunner(env=self.env).invoke(app, case.args(out))
            assert result.exit_code == 0, (case, fmt, result.stderr)
            assert out.is_file(), (case, fmt)
            self.files[key] = out
        return self.files[key]

    def docx_text(self, case: Case) -> str:
        if self.docx_texts is None:
            docx = {c: self.file(c, "docx") for c in CASES}
            texts = writer_texts(list(docx.values()), self.folder / "writer")
            self.docx_texts = {c: texts[path.stem] for c, path in docx.items()}
        return self.docx_texts[case]


def writer_texts(files: list[pathlib.Path], folder: pathlib.Path) -> dict[str, str]:
    """The text LibreOffice Writer reads from each DOCX, by file stem: one `soffice` call.

    The same conversion as `as_text` in tests/test_documents_docx.py, which converts one
    file per call; here a dozen files would cost a dozen LibreOffice start-ups.
    """
    out = folder / "txt"
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "txt:Text (encoded):UTF8",
            "--outdir",
            str(out),
            *(str(f) for f in files),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return {f.stem: (out / f"{f.stem}.txt").read_text(encoding="utf-8-sig") for f in files}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Documents]:
    yield Documents(tmp_path_factory.mktemp("formats"))


# ---- turning a document into stable text ----------------------------------------------


def normalise(text: str) -> str:
    """Trailing spaces off, page breaks as a line, runs of blank lines as one."""
    text = text.replace("\r\n", "\n").replace("\ufeff", "")
    text = text.replace("\f", "\n[page break]\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def pdf_text(path: pathlib.Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = done.stdout.decode("utf-8")
    return normalise(text.removesuffix("\f"))  # pdftotext ends every page, the last too


def _cell(value: Any) -> str:
    if hasattr(value, "text"):  # ArrayFormula
        value = value.text
    if isinstance(value, float):
        value = repr(value)
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def xlsx_text(path: pathlib.Path) -> str:
    """Every sheet's non-empty cells, `A1<TAB>value or formula<TAB>number format`.

    The workbook's defined names follow the sheets: the tests and users find the
    payable amount by its name, so a renamed or moved name is a change to see.
    """
    wb = openpyxl.load_workbook(path)  # formulas as written, not cached values
    out: list[str] = []
    for ws in wb.worksheets:
        out.append(f"== {ws.title}")
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None or cell.value == "":
                    continue
                out.append(f"{cell.coordinate}\t{_cell(cell.value)}\t{cell.number_format}")
        out.append("")
    names = sorted((name, str(dn.attr_text)) for name, dn in wb.defined_names.items())
    if names:
        out.append("== defined names")
        out += [f"{name}\t{target}" for name, target in names]
    return "\n".join(out).rstrip("\n") + "\n"


def json_text(path: pathlib.Path) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def snapshot_text(documents: Documents, case: Case, fmt: str) -> str:
    if fmt == "pdf":
        path = documents.file(case, "pdf")
        assert path.read_bytes().startswith(b"%PDF-")
        return pdf_text(path)
    if fmt == "docx":
        return normalise(documents.docx_text(case))
    if fmt == "xlsx":
        return xlsx_text(documents.file(case, "xlsx"))
    return json_text(documents.file(case, "json"))


def snapshot_name(case: Case, fmt: str) -> str:
    return f"{case.stem}.json" if fmt == "json" else f"{case.stem}.{fmt}.txt"


def compare(name: str, text: str, update: bool) -> None:
    """Write the snapshot if it is missing or asked for; otherwise fail with a diff."""
    path = FORMATS / name
    if update or not path.exists():
        FORMATS.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    if text == expected:
        return
    diff = list(
        difflib.unified_diff(
            expected.splitlines(),
            text.splitlines(),
            fromfile=f"tests/snapshots/formats/{name}",
            tofile="now",
            lineterm="",
            n=2,
        )
    )
    shown = "\n".join(diff[:DIFF_LINES]) + ("\n..." if len(diff) > DIFF_LINES else "")
    pytest.fail(
        f"{name} differs from its snapshot; if the change is intended: "
        f"pytest --update-golden {pathlib.Path(__file__).relative_to(ROOT)}\n{shown}",
        pytrace=False,
    )


# ---- the snapshots ---------------------------------------------------------------------


PARAMS = [
    pytest.param(case, fmt, id=f"{case.stem}.{fmt}", marks=NEEDS.get(fmt, []))
    for case in CASES
    for fmt in FORMATS_OF[case.command]
]


@pytest.mark.parametrize(("case", "fmt"), PARAMS)
def test_format_snapshot(documents: Documents, case: Case, fmt: str, update_golden: bool) -> None:
    text = snapshot_text(documents, case, fmt)
    for here in (str(documents.folder), str(ROOT)):  # nothing of this machine
        assert here not in text, here
    compare(snapshot_name(case, fmt), text, update_golden)


def test_every_snapshot_belongs_to_a_case() -> None:
    """No stale snapshot is left behind when a case is renamed or dropped."""
    expected = {snapshot_name(case, fmt) for case in CASES for fmt in FORMATS_OF[case.command]}
    found = {p.name for p in FORMATS.iterdir()} if FORMATS.is_dir() else set()
    assert found <= expected, sorted(found - expected)
