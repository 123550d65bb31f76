"""`contract render` end to end: both samples, both languages, Markdown and HTML (and PDF).

Snapshots of the documents live in tests/snapshots/ and change only with
`pytest --update-golden tests/test_documents_render.py`. Around them: amounts exactly as
the engine computes them, escaping, the sandbox, overrides, exit codes, atomic writes.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import shutil
import subprocess
import sys
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from cli.main import app
from contracts.contract_file import read_contract
from contracts.documents.contract_doc import build
from contracts.documents.formatting import money_text
from contracts.documents.liability import maximum_liability
from contracts.examples import run_example
from contracts.model import Contract
from tests.helpers import contract_of

ROOT = pathlib.Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "tests" / "snapshots"
SICK = ROOT / "sample_data" / "sick-leave" / "contract.yaml"
SCHOOL = ROOT / "sample_data" / "school-support" / "contract.yaml"
FAMILIES = SNAPSHOTS / "all-families.contract.yaml"
CONTRACTS = {"sick-leave": SICK, "school-support": SCHOOL, "all-families": FAMILIES}


def run(*args: str | pathlib.Path):  # type: ignore[no-untyped-def]
    return CliRunner(env={"COLUMNS": "120"}).invoke(app, ["render", *(str(a) for a in args)])


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def load(path: pathlib.Path) -> Contract:
    contract = read_contract(path).contract
    assert contract is not None
    return contract


CASES = [
    (sample, lang, fmt)
    for sample in ("sick-leave", "school-support")
    for lang in ("sv", "en")
    for fmt in ("md", "html")
] + [("all-families", lang, "md") for lang in ("sv", "en")]


@pytest.mark.parametrize(("sample", "lang", "fmt"), CASES)
def test_document_snapshot(sample: str, lang: str, fmt: str, update_golden: bool) -> None:
    result = run(CONTRACTS[sample], "--lang", lang, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    path = SNAPSHOTS / f"{sample}.{lang}.{fmt}"
    if update_golden:
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if the change is intended: pytest --update-golden {__file__}"
    )


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("path", [SICK, SCHOOL, FAMILIES], ids=["sick", "school", "families"])
def test_every_amount_is_the_engines_to_the_ore(path: pathlib.Path, lang: str) -> None:
    """Prices, fees, caps, worked-example results and the maximum liability appear exactly."""
    c = load(path)
    text = plain(run(path, "--lang", lang).stdout)

    def money(value: Decimal) -> str:
        return plain(money_text(value, c.currency, lang))  # type: ignore[arg-type]

    written: list[Decimal] = []
    for rule in c.rules:
        for name in ("amount", "price", "cap", "cap_per_period", "cap_per_participant"):
            value = getattr(rule, name, None)
            if isinstance(value, Decimal):
                written.append(value)
        written += [o.price for o in getattr(rule, "outcomes", ()) if o.price is not None]
    written += [v for v in (c.caps.contract, c.caps.per_period, c.contract_value) if v]
    assert written
    for value in written:
        assert money(value) in text, money(value)
    for i, example in enumerate(c.worked_examples):
        settlement, problems = run_example(c, example, i)
        assert settlement is not None, problems
        section = text.split(example.name, 1)[1].split("###", 1)[0]
        for _rule, amount in settlement.rule_totals:
            assert money(amount) in section
        assert money(settlement.total) in section
    liability = maximum_liability(c).amount
    assert liability is not None and money(liability) in text


def test_the_maximum_liability_is_stated_in_words() -> None:
    sv = plain(run(SICK, "--lang", "sv").stdout)
    assert (
        "Högsta möjliga kostnad under avtalstiden är 4 500 000 kr, given av avtalets takbelopp"
        in sv
    )
    en = plain(run(SCHOOL, "--lang", "en").stdout)
    assert "The maximum liability over the term is SEK 4,200,000, set by the contract cap" in en
    assert "the cap of SEK 40,000 per participant bounds nothing" in en


def test_one_chart_per_curve_family_as_inline_svg() -> None:
    html = run(FAMILIES, "--format", "html").stdout
    assert html.count("<svg ") == 4  # improvement, linear_scale, tiered, savings_share
    assert run(SICK, "--format", "html").stdout.count("<svg ") == 1
    assert "<svg" not in run(SCHOOL, "--format", "html").stdout  # a rate card has no curve


@pytest.mark.parametrize("path", [SICK, SCHOOL, FAMILIES], ids=["sick", "school", "families"])
def test_html_is_self_contained(path: pathlib.Path) -> None:
    html = run(path, "--format", "html").stdout
    assert html.startswith("<!DOCTYPE html>") and "@page" in html and "size: A4" in html
    for needle in ("<script", "<link", "@import", "url(", "<img"):
        assert needle not in html
    assert set(re.findall(r"https?://[^\s\"']+", html)) <= {"http://www.w3.org/2000/svg"}


def hostile(tmp_path: pathlib.Path) -> pathlib.Path:
    text = SICK.read_text(encoding="utf-8")
    text = text.replace(
        "title: Samordnade tidiga insatser för minskad korttidssjukfrånvaro",
        "title: '<script>alert(1)</script> & co'",
    ).replace("title: Ersättning per undviken sjuktimme", "title: '<img src=x onerror=alert(2)>'")
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_html_escapes_text_from_the_contract(tmp_path: pathlib.Path) -> None:
    result = run(hostile(tmp_path), "--format", "html")
    assert result.exit_code == 0, result.stderr
    html = result.stdout
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<title>&lt;script&gt;" in html
    # inside the chart too: the rule's title is the SVG's accessible title
    assert '<title id="chart-avoided_sick_hours-t">&lt;img src=x' in html


def test_markdown_escapes_text_from_the_contract(tmp_path: pathlib.Path) -> None:
    md = run(hostile(tmp_path), "--format", "md").stdout
    assert not re.search(r"(?<!\\)<(script|img)", md)  # only escaped: \<script\>
    assert "# \\<script\\>alert(1)\\</script\\> & co" in md


SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ doc.__class__.__init__.__globals__ }}",
    "{{ doc.model_copy.__func__.__globals__['__builtins__'] }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
]


@pytest.mark.parametrize("template", SANDBOX_ESCAPES)
def test_a_user_template_cannot_reach_python_internals(
    tmp_path: pathlib.Path, template: str
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "contract.sv.md.j2").write_text(template, encoding="utf-8")
    out = tmp_path / "out.md"
    result = run(SICK, "--template-dir", folder, "-o", out)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    message = " ".join(result.stderr.split())  # Rich may wrap a long line
    assert "contract.sv.md.j2:1: the template tried something templates may not do" in message
    assert "Traceback" not in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [folder]


def test_a_user_template_overrides_one_template_by_name(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "contract.en.md.j2").write_text(
        "{{ doc.title }}: at most {{ doc.liability.amount }}\n", encoding="utf-8"
    )
    en = run(SICK, "--lang", "en", "--template-dir", folder)
    assert en.exit_code == 0, en.stderr
    assert plain(en.stdout) == (
        "Samordnade tidiga insatser för minskad korttidssjukfrånvaro: at most SEK 4,500,000\n"
    )
    # the other templates still come from the package
    sv = run(SICK, "--lang", "sv", "--template-dir", folder)
    assert sv.stdout == (SNAPSHOTS / "sick-leave.sv.md").read_text(encoding="utf-8")


def test_a_user_layout_changes_every_html_document(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "letterhead"
    folder.mkdir()
    (folder / "_layout.html.j2").write_text(
        "<html><body><p>Norrviks kommun</p>{% block content %}{% endblock %}</body></html>",
        encoding="utf-8",
    )
    for lang in ("sv", "en"):
        html = run(SICK, "--lang", lang, "--format", "html", "--template-dir", folder).stdout
        assert html.startswith("<html><body><p>Norrviks kommun</p>") and "<h1>" in html


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("line one\n{{ doc.titel }}", "contract.sv.md.j2:2:"),
        ("{% for r in doc.rules %}{{ r.title }}", "contract.sv.md.j2:1:"),
        ("{% include 'nothing.j2' %}", "nothing.j2 not found"),
    ],
)
def test_a_broken_user_template_is_one_located_message(
    tmp_path: pathlib.Path, template: str, expected: str
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "contract.sv.md.j2").write_text(template, encoding="utf-8")
    out = tmp_path / "out.md"
    result = run(SICK, "--template-dir", folder, "-o", out)
    assert result.exit_code == 1
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_writing_a_file_is_atomic_and_the_format_follows_the_suffix(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "avtal.html"
    out.write_text("an older version", encoding="utf-8")
    result = run(SICK, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and "wrote" in result.stderr
    assert out.read_text(encoding="utf-8") == run(SICK, "--format", "html").stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["avtal.html"]  # no temporary left


def test_the_default_language_is_the_contracts_own() -> None:
    assert run(SICK).stdout == run(SICK, "--lang", "sv").stdout  # language: sv
    assert run(FAMILIES).stdout == run(FAMILIES, "--lang", "en").stdout  # language: en


def test_an_invalid_contract_renders_nothing(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "avtal.md"
    result = run(ROOT / "sample_data" / "broken-contract.yaml", "-o", out)
    assert result.exit_code == 1
    assert "[field-invalid]" in result.stderr and result.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        (SICK, "--format", "docx"),
        (SICK, "--lang", "fi"),
        (ROOT / "no-such-contract.yaml",),
        (SICK, "--template-dir", ROOT / "no-such-folder"),
        (SICK, "-o", ROOT / "no-such-folder" / "avtal.md"),
        (SICK, "--format", "pdf"),  # a PDF needs -o
    ],
)
def test_usage_errors_exit_2(args: tuple[str | pathlib.Path, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


def test_supplied_figures_of_a_worked_example_are_shown() -> None:
    c = contract_of(
        """
        metrics: [{id: comparison_rate, kind: supplied, title: Jämförelsegruppens andel}]
        rules: [{id: hit, kind: target, condition: comparison_rate <= 0.04, amount: 1000}]
        worked_examples:
          - name: Exempel
            period: 2025-Q1
            supplied: {comparison_rate: {2025-Q1: 0.035}}
            expect: {hit: 1000, total: 1000}
        """
    )
    (example,) = build(c, "sv", "0" * 64).examples
    assert example.supplied == ("comparison_rate 2025-Q1: 0,035",)
    assert [(a.label, plain(a.amount)) for a in example.expected] == [
        ("hit", "1 000 kr"),
        ("Summa", "1 000 kr"),
    ]


PDF_READY = importlib.util.find_spec("weasyprint") is not None and shutil.which("pdftotext")


@pytest.mark.slow
@pytest.mark.skipif(not PDF_READY, reason="needs weasyprint and pdftotext (make system)")
def test_pdf_carries_the_maximum_liability_and_the_prices(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "avtal.pdf"
    result = run(SICK, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True
    ).stdout
    text = " ".join(plain(text).split())
    assert "Högsta möjliga kostnad under avtalstiden är 4 500 000 kr" in text
    assert "Pris: 420 kr per undviken sjuktimme" in text
    assert "1 (" in text  # page numbers from @page


def test_pdf_without_weasyprint_is_an_environment_failure(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint → ImportError
    out = tmp_path / "avtal.pdf"
    result = run(SICK, "-o", out)
    assert result.exit_code == 3
    assert "cannot write PDF" in result.stderr and not out.exists()
