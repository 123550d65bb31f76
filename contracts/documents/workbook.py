"""The settlement workbook: an xlsx in which an auditor rebuilds the settlement's totals.

Problem: auditors check a settlement in a spreadsheet. The workbook must hold every line
as the exact amount the engine computed, and the totals as live formulas that, once
Excel or LibreOffice recalculates them, equal the engine's `Decimal` totals exactly —
although spreadsheets compute in binary floating point. Text that came from outcome
files (participant ids, group names, file names) must never act as a formula.

Approach:
- Three sheets, named and headed in the chosen language: a summary (contract, period,
  basis, status; totals by rule, entitlement, settled before, total and each payer's
  part as formulas, each beside the figure the settlement states and a cell saying
  whether they agree), the lines (one row each, with its explanation steps rendered
  from `contracts.explain`'s catalog), and the inputs (files with SHA-256 and rows;
  metrics and baselines with their parts and groups).
- Floats appear only at the openpyxl boundary. A decimal of at most 15 significant
  digits is read back exactly from the nearest double (IEEE 754 guarantees 15 digits),
  so an öre amount such as 829110.71 survives; `_float` checks this for every number
  written, and a value that does not survive is also written as exact text.
- Each total is `ROUND(SUMIFS(...), p)`, p being the decimals of the stated total (at
  least the quantum's). The float sum of n amounts lies within (n + 1)·2⁻⁵²·Σ|a| of
  the exact sum; `_sum_places` accepts p only when that bound is well below half a unit
  in the p-th place, so rounding lands on exactly the decimal the engine computed (and
  the double nearest to it reads back as that decimal). Otherwise the formula stays
  unrounded and the stated figure is written as exact text. SUMIFS matches text
  case-insensitively, so rule ids that differ only in case are summed with
  SUMPRODUCT(EXACT(...)) instead. Defined names (`rule_totals`, `entitlement`,
  `previously_settled`, `total`, `payer_totals`, `quantum`) point at the results. No
  values are cached in the file and it is marked for full calculation on load, so
  whatever opens it computes the formulas itself.
- Payers: the engine rounds each part down to the quantum and gives the quanta left
  over to the largest remainders, ties to the payer listed first. The summary spells
  this out in helper columns (exact share, whole quanta, remainder, rank), with the
  same exactness argument for the shares; where it cannot hold, the parts are written
  as settled and a note says so.
- Every text cell goes through `_text`, which stores a string as a string even when
  it begins like a formula (openpyxl would otherwise turn `=...` into one) and marks
  such cells with Excel's quote prefix (OWASP: `=`, `+`, `-`, `@`, tab, CR). Control
  characters, which xlsx cannot hold, are written as visible escapes.
- Written to a temporary file beside the target and renamed over it. Zip entries and
  document properties carry no time, so the same settlement gives the same bytes.
"""

from __future__ import annotations

import io
import pathlib
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, BinaryIO, Literal, Protocol

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.writer.excel import ExcelWriter

from contracts import money
from contracts.documents.formatting import Lang
from contracts.documents.report_wording import cap_name, described
from contracts.errors import InputError
from contracts.files import write_atomically
from contracts.model import Contract
from contracts.settle import NO_NEGATIVE_RULE
from contracts.settlement import LineItem, Settlement

MAX_ROWS = 1_048_576  # rows in an xlsx worksheet
MAX_TEXT = 32_767  # characters in an xlsx cell
_EPS = Decimal(2) ** -52  # relative spacing of doubles
_INT53 = Decimal(2) ** 53  # integers above this are not all doubles
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in xlsx XML
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
MONEY = "#,##0.00"
BOLD = Font(bold=True)


@dataclass(frozen=True)
class StoredInfo:
    """Where the settlement stands in the ledger, when it is stored there."""

    number: int  # the ledger's settlement number
    status: Literal["draft", "approved"]  # approved settlements are final
    approved_by: str | None = None  # who approved it
    approved_at: datetime | None = None  # when it was approved
    sha256: str | None = None  # hash of the stored settlement document
    against: int | None = None  # the approved settlement this one adjusts
    settled_before: tuple[tuple[str, Decimal], ...] = ()  # rule → settled by `against`
    payable: Decimal | None = None  # owed by this settlement: total less `settled_before`


class InputInfo(Protocol):
    """A file the settlement was computed from (`contracts.api.InputFile` fits)."""

    @property
    def name(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def rows(self) -> int: ...


# Lines sheet: column letters, used by the summary's formulas.
COL_RULE, COL_KIND, COL_AMOUNT = "A", "B", "I"
LINE_HEADINGS = (
    "rule",
    "kind",
    "description",
    "participant",
    "outcome",
    "period",
    "quantity",
    "unit_price",
    "amount",
    "explanation",
)


def write_workbook(
    path: pathlib.Path | str,
    settlement: Settlement,
    contract: Contract,
    lang: Lang,
    inputs: Sequence[InputInfo] = (),
    stored: StoredInfo | None = None,
) -> None:
    """Write the settlement workbook to `path`, atomically."""
    wb = build_workbook(settlement, contract, lang, inputs, stored)
    _save(wb, pathlib.Path(path))


def build_workbook(
    settlement: Settlement,
    contract: Contract,
    lang: Lang,
    inputs: Sequence[InputInfo] = (),
    stored: StoredInfo | None = None,
) -> Workbook:
    """The workbook in memory: summary, lines, inputs."""
    if len(settlement.lines) >= MAX_ROWS:
        raise InputError(f"{len(settlement.lines)} line items do not fit in one worksheet")
    w = WORDS[lang]
    wb = Workbook()
    wb.properties.creator = "outcome-contracts"
    wb.properties.title = _clean(contract.contract.title)
    # No clock: the same settlement gives the same bytes (the zip entries are dated alike).
    wb.properties.created = wb.properties.modified = datetime(*_ZIP_TIME)
    summary = wb.active
    summary.title = w["sheet.summary"]
    lines = wb.create_sheet(w["sheet.lines"])
    inexact = _write_lines(lines, settlement, lang)
    _Summary(wb, summary, settlement, contract, lang, lines.title).write(stored, inexact)
    _write_inputs(wb.create_sheet(w["sheet.inputs"]), settlement, lang, inputs)
    return wb


# ---- cells --------------------------------------------------------------------------


def _clean(text: str) -> str:
    # Control characters are not allowed in xlsx; show them as escapes, not drop them.
    text = _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    # XML reads a raw CR as LF anyway: write what will be read.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _text(ws: Any, row: int, col: int, value: str | None, bold: bool = False) -> None:
    """Write text that stays text, whatever it begins with."""
    if value is None:
        return
    cell = ws.cell(row=row, column=col)
    cell.value = _clean(value)
    # openpyxl makes any string starting with "=" a formula; put the type back.
    cell.data_type = "s"
    if value.startswith(_FORMULA_START):
        cell.quotePrefix = True  # editing the cell in Excel keeps it text as well
    if bold:
        cell.font = BOLD


def _float(value: Decimal) -> float | None:
    """The double that reads back as exactly `value`, or None when no double does."""
    f = float(value)  # the openpyxl boundary: correctly rounded to the nearest double
    return f if Decimal(repr(f)) == value else None


def _number(ws: Any, row: int, col: int, value: Decimal | None, fmt: str = "General") -> bool:
    """Write a number; False when the cell holds only the nearest double, not the exact value."""
    if value is None:
        return True
    cell = ws.cell(row=row, column=col, value=float(value))
    cell.number_format = fmt
    return _float(value) is not None


def _formula(ws: Any, row: int, col: int, formula: str, fmt: str = "General") -> None:
    cell = ws.cell(row=row, column=col, value=formula)
    cell.number_format = fmt


def _places(value: Decimal) -> int:
    exponent = value.normalize(money.CONTEXT).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _money_format(places: int) -> str:
    return MONEY if places <= 2 else "#,##0." + "0" * min(places, 15)


def _sum_places(stated: Decimal, parts: Sequence[Decimal], least: int) -> int | None:
    """Decimals p at which ROUND(float sum of `parts`, p) is exactly `stated`, or None.

    Each part is written as the nearest double (error ≤ |a|·2⁻⁵³) and the spreadsheet
    adds doubles (error ≤ (n − 1)·2⁻⁵³·Σ|a|, in any order); (n + 1)·2⁻⁵²·Σ|a| bounds
    both. Below a quarter unit in the p-th place, rounding to p decimals recovers the
    exact sum, which has at most p decimals when it equals `stated`.
    """
    p = max(_places(stated), least)
    if _float(stated) is None or abs(stated).scaleb(p) >= _INT53:
        return None
    bound = money.mul(money.mul(Decimal(len(parts) + 1), _EPS), money.add(*map(abs, parts)))
    return p if bound < Decimal("0.25").scaleb(-p) else None


# ---- lines --------------------------------------------------------------------------


def _explanation(line: LineItem, lang: Lang) -> str:
    return "\n".join(f"{n}. {st.text(lang)}" for n, st in enumerate(line.steps, 1))


def _write_lines(ws: Any, s: Settlement, lang: Lang) -> bool:
    """One row per line item; True when some value could not be written exactly."""
    w = WORDS[lang]
    headings = [w[h] for h in LINE_HEADINGS]
    headings[LINE_HEADINGS.index("amount")] = w["amount"].format(currency=s.currency)
    for col, heading in enumerate(headings, 1):
        _text(ws, 1, col, heading, bold=True)
    exact_col = len(headings) + 1
    inexact = False
    for row, line in enumerate(s.lines, 2):
        texts = (line.rule, w[f"kind.{line.kind}"], described(line, lang), line.participant)
        for col, text in enumerate((*texts, line.outcome, line.period), 1):
            _text(ws, row, col, text)
        exact: list[str] = []
        for num, key, value, fmt in (
            (7, "quantity", line.quantity, "General"),
            (8, "unit_price", line.unit_price, "General"),
            (9, "amount", line.amount, _money_format(_places(line.amount))),
        ):
            if not _number(ws, row, num, value, fmt):
                exact.append(f"{w[key]} = {value}")
        _text(ws, row, 10, _explanation(line, lang))
        ws.cell(row=row, column=10).alignment = Alignment(wrap_text=True, vertical="top")
        if exact:
            inexact = True
            _text(ws, row, exact_col, "\n".join(exact))
    if inexact:
        _text(ws, 1, exact_col, w["exact"], bold=True)
    last = exact_col if inexact else exact_col - 1
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(last)}{len(s.lines) + 1}"
    for letter, width in zip(
        "ABCDEFGHIJK", (18, 16, 40, 14, 16, 10, 12, 12, 16, 80, 50), strict=True
    ):
        ws.column_dimensions[letter].width = width
    return inexact


# ---- summary ------------------------------------------------------------------------


class _Summary:
    """The summary sheet, written top to bottom; `row` is the next free row."""

    def __init__(
        self, wb: Workbook, ws: Any, s: Settlement, c: Contract, lang: Lang, lines: str
    ) -> None:
        self.wb, self.ws, self.s, self.c = wb, ws, s, c
        self.w = WORDS[lang]
        self.lang = lang
        self.ws_lines = lines
        self.lines = quote_sheetname(lines)  # as formulas name it
        self.row = 1
        quantum = c.settlement.rounding.quantum
        self.quantum = quantum
        self.qplaces = _places(quantum)
        self.money = _money_format(self.qplaces)
        self.inexact = False
        self.q = ""  # the quantum's cell, set by `header`
        # SUMIFS matches text case-insensitively and reads TRUE/FALSE as booleans: rule
        # ids that differ only in case, or spell a boolean, are matched exactly instead.
        ids = {line.rule for line in s.lines} | {r for r, _ in s.rule_totals}
        folded = {i.lower() for i in ids}
        self.exact_match = len(folded) < len(ids) or bool(folded & {"true", "false"})
        self.last_line = len(s.lines) + 1

    # -- helpers --

    def put(self, label: str, value: str | None) -> None:
        _text(self.ws, self.row, 1, label, bold=True)
        _text(self.ws, self.row, 2, value)
        self.row += 1

    def heading(self, *labels: str) -> None:
        self.row += 1
        for col, label in enumerate(labels, 1):
            _text(self.ws, self.row, col, label, bold=True)
        self.row += 1

    def name(self, name: str, ref: str) -> None:
        sheet = quote_sheetname(self.ws.title)
        self.wb.defined_names[name] = DefinedName(name, attr_text=f"{sheet}!{ref}")

    def col(self, letter: str, first: int = 2) -> str:
        return f"{self.lines}!${letter}${first}:${letter}${max(self.last_line, first)}"

    def sum_where(self, rule_cell: str | None = None, kind: str | None = None) -> str:
        """The sum of line amounts, optionally of one rule (its id's cell) or one kind (a label)."""
        amount = f"{self.lines}!${COL_AMOUNT}:${COL_AMOUNT}"
        if self.exact_match:
            factors = [self.col(COL_AMOUNT)]
            if rule_cell is not None:
                factors.insert(0, f"EXACT({self.col(COL_RULE)},{rule_cell})")
            if kind is not None:
                factors.insert(0, f'({self.col(COL_KIND)}="{kind}")')
            return "SUMPRODUCT(" + "*".join(factors) + ")" if len(factors) > 1 else f"SUM({amount})"
        criteria = []
        if rule_cell is not None:
            criteria.append(f"{self.lines}!${COL_RULE}:${COL_RULE},{rule_cell}")
        if kind is not None:
            criteria.append(f'{self.lines}!${COL_KIND}:${COL_KIND},"{kind}"')
        return f"SUMIFS({amount},{','.join(criteria)})" if criteria else f"SUM({amount})"

    def total_row(
        self,
        label: str | None,
        expr: str,
        stated: Decimal,
        parts: Sequence[Decimal],
        sign: str = "",
    ) -> str:
        """Label, formula, stated figure, agreement; returns the formula cell's address."""
        r = self.row
        _text(self.ws, r, 1, label, bold=True)
        p = _sum_places(stated, parts, self.qplaces)
        if p is None:
            self.inexact = True
            _formula(self.ws, r, 2, f"={sign}{expr}", _money_format(_places(stated)))
            _text(self.ws, r, 3, str(stated))
        else:
            _formula(self.ws, r, 2, f"=ROUND({sign}{expr},{p})", _money_format(p))
            _number(self.ws, r, 3, stated, _money_format(p))
            _formula(self.ws, r, 4, f"=B{r}=C{r}")
        self.row += 1
        return f"$B${r}"

    # -- sections --

    def write(self, stored: StoredInfo | None, lines_inexact: bool) -> None:
        self.header(stored)
        rule_rows, total = self.totals()
        self.payers(rule_rows, total)
        if stored is not None and stored.against is not None and stored.payable is not None:
            self.adjustment(stored, rule_rows, total)
        self.caps()
        self.earlier()
        w = self.w
        notes = [w["note.formulas"].format(lines=self.ws_lines, agrees=w["agrees"])]
        if self.inexact:
            notes.append(w["note.inexact"])
        if lines_inexact:
            notes.append(w["note.lines_inexact"].format(lines=self.ws_lines, exact=w["exact"]))
        for n, note in enumerate(notes, self.row + 1):
            _text(self.ws, n, 1, note)
        for col, width in zip("ABCDEFGH", (34, 20, 20, 10, 18, 18, 18, 18), strict=True):
            self.ws.column_dimensions[col].width = width

    def header(self, stored: StoredInfo | None) -> None:
        s, c, w = self.s, self.c, self.w
        _text(self.ws, 1, 1, w["title"].format(period=s.period, title=c.contract.title), True)
        self.ws.cell(row=1, column=1).font = Font(bold=True, size=14)
        self.row = 3
        self.put(w["contract_id"], c.contract.id)
        if c.contract.reference:
            self.put(w["reference"], c.contract.reference)
        self.put(w["buyer"], c.parties.buyer.name)
        self.put(w["provider"], c.parties.provider.name)
        if c.parties.investor is not None:
            self.put(w["investor"], c.parties.investor.name)
        self.put(w["period"], s.period)
        self.put(w["basis"], w.get(f"basis.{s.basis}", s.basis))
        window = s.window[0] if len(s.window) == 1 else f"{s.window[0]} – {s.window[-1]}"
        self.put(w["window"], window if s.window else None)
        self.put(w["currency"], s.currency)
        r = c.settlement.rounding
        self.put(
            w["rounding"], w["rounding.text"].format(mode=w[f"mode.{r.mode}"], at=w[f"at.{r.at}"])
        )
        _text(self.ws, self.row, 1, w["quantum"], bold=True)
        _number(self.ws, self.row, 2, self.quantum)
        self.q = f"$B${self.row}"
        self.name("quantum", self.q)
        self.row += 1
        if stored is None:
            self.put(w["status"], w["status.none"])
            return
        self.put(w["status"], w[f"status.{stored.status}"].format(number=stored.number))
        if stored.approved_by:
            self.put(w["approved_by"], stored.approved_by)
        if stored.approved_at is not None:
            self.put(w["approved_at"], stored.approved_at.isoformat(sep=" ", timespec="seconds"))
        if stored.sha256:
            self.put(w["sha256"], stored.sha256)

    def shares(self) -> list[tuple[str, dict[str, Decimal], Decimal]]:
        """(payer, per-rule shares, default share); the buyer alone when none are named."""
        if not self.c.payers:
            return [(self.c.parties.buyer.name, {}, Decimal(1))]
        return [(p.name, dict(p.shares), p.share) for p in self.c.payers]

    def totals(self) -> tuple[tuple[int, int], str]:
        s, w = self.s, self.w
        payers = self.shares()
        self.heading(
            w["totals"],
            w["amount"].format(currency=s.currency),
            w["settled"],
            w["agrees"],
            *(w["share"].format(payer=name) for name, _, _ in payers),
        )
        first = self.row
        for rule, stated in s.rule_totals:
            r = self.row
            _text(self.ws, r, 1, rule)
            parts = [x.amount for x in s.lines if x.rule == rule]
            self.total_row(None, self.sum_where(rule_cell=f"$A{r}"), stated, parts)
            for col, (_, by_rule, default) in enumerate(payers, 5):
                _number(self.ws, r, col, by_rule.get(rule, default))
        rule_rows = (first, self.row - 1)
        if s.rule_totals:
            self.name("rule_totals", f"$A${first}:$B${self.row - 1}")
        self.row += 1
        label = w["kind.previously_settled"]
        prev_parts = [x.amount for x in s.lines if x.kind == "previously_settled"]
        earned = [
            x.amount
            for x in s.lines
            if x.kind != "previously_settled" and x.rule != NO_NEGATIVE_RULE
        ]
        ent = self.entitlement_expr(label)
        self.name("entitlement", self.total_row(w["entitlement"], ent, s.entitlement, earned))
        before = self.sum_where(kind=label)
        self.name(
            "previously_settled",
            self.total_row(w["previously"], before, s.previously_settled, prev_parts, "-"),
        )
        all_parts = [x.amount for x in s.lines]
        total = self.total_row(w["total"], self.sum_where(), s.total, all_parts)
        self.name("total", total)
        return rule_rows, total

    def adjustment(self, stored: StoredInfo, rule_rows: tuple[int, int], total: str) -> None:
        """Settled before, owed now and the difference per rule; what is payable now."""
        s, w = self.s, self.w
        assert stored.payable is not None
        self.heading(
            w["adjustment"].format(number=stored.against),
            w["settled_before"],
            w["owed_now"],
            w["difference"],
        )
        rows = {
            str(self.ws.cell(row=r, column=1).value): r
            for r in range(rule_rows[0], rule_rows[1] + 1)
        }
        before = dict(stored.settled_before)
        rules = [r for r, _ in s.rule_totals] + [r for r in before if r not in dict(s.rule_totals)]
        first = self.row
        places = max(self.qplaces, *(_places(v) for v in before.values()), 0)
        for rule in rules:
            r = self.row
            _text(self.ws, r, 1, rule)
            _number(self.ws, r, 2, before.get(rule, money.ZERO), _money_format(places))
            now = f"=B{rows[rule]}" if rule in rows else "=0"
            _formula(self.ws, r, 3, now, _money_format(places))
            _formula(self.ws, r, 4, f"=ROUND(C{r}-B{r},{places})", _money_format(places))
            self.row += 1
        settled = f"SUM($B${first}:$B${max(first, self.row - 1)})"
        r = self.row
        _text(self.ws, r, 1, w["payable"], bold=True)
        _formula(self.ws, r, 2, f"=ROUND({total}-{settled},{places})", _money_format(places))
        _number(self.ws, r, 3, stored.payable, _money_format(places))
        _formula(self.ws, r, 4, f"=B{r}=C{r}")
        self.name("payable", f"$B${r}")
        self.row += 1

    def entitlement_expr(self, prev: str) -> str:
        """Lines other than settled-before and the lift of a negative total to zero."""
        if self.exact_match:
            return (
                f'SUMPRODUCT(({self.col(COL_KIND)}<>"{prev}")'
                f'*NOT(EXACT({self.col(COL_RULE)},"{NO_NEGATIVE_RULE}"))*{self.col(COL_AMOUNT)})'
            )
        amount = f"{self.lines}!${COL_AMOUNT}:${COL_AMOUNT}"
        kinds = f"{self.lines}!${COL_KIND}:${COL_KIND}"
        rules = f"{self.lines}!${COL_RULE}:${COL_RULE}"
        return f'SUMIFS({amount},{kinds},"<>{prev}",{rules},"<>{NO_NEGATIVE_RULE}")'

    def payers(self, rule_rows: tuple[int, int], total: str) -> None:
        s, w = self.s, self.w
        cur = w["owes"].format(currency=s.currency)
        first = self.row + 2  # after the heading
        if not self.c.payers:
            # The buyer owes everything.
            self.heading(w["payers"], cur, w["settled"], w["agrees"])
            name, stated = s.payers[0]
            _text(self.ws, self.row, 1, name)
            _formula(self.ws, self.row, 2, f"={total}", self.money)
            _number(self.ws, self.row, 3, stated, self.money)
            _formula(self.ws, self.row, 4, f"=B{self.row}=C{self.row}")
            self.row += 1
        elif (k := self.payer_places(self.shares())) is None:
            self.heading(w["payers"], cur)
            for name, stated in s.payers:
                _text(self.ws, self.row, 1, name)
                _number(self.ws, self.row, 2, stated, self.money)
                self.row += 1
            _text(self.ws, self.row, 1, w["note.payers_constant"])
            self.row += 1
        else:
            self.heading(
                w["payers"], cur, w["settled"], w["agrees"], w["raw"], w["whole"],
                w["remainder"], w["rank"],
            )  # fmt: skip
            for i, (name, stated) in enumerate(s.payers):
                _text(self.ws, self.row, 1, name)
                self.split_row(i, first, len(s.payers), rule_rows, k)
                _number(self.ws, self.row, 3, stated, self.money)
                self.row += 1
            last = self.row - 1
            _text(self.ws, self.row, 1, w["left"], bold=True)
            left = f"=ROUND({total}/{self.q},0)-SUM(F{first}:F{last})"
            _formula(self.ws, self.row, 2, left, "0")
            _text(self.ws, self.row + 1, 1, w["note.payers"])
            self.row += 2
        self.name("payer_totals", f"$A${first}:$B${first + len(s.payers) - 1}")

    def split_row(self, i: int, first: int, n: int, rule_rows: tuple[int, int], k: int) -> None:
        """Payer i's part: exact share, whole quanta, remainder, rank, then what it owes."""
        r, q, last = self.row, self.q, first + n - 1
        share = get_column_letter(5 + i)
        a, b = rule_rows
        _formula(self.ws, r, 5, f"=SUMPRODUCT({share}${a}:{share}${b},$B${a}:$B${b})")
        _formula(self.ws, r, 6, f"=INT(ROUND(E{r}/{q},{k}))", "0")
        # Rounded again so equal remainders are equal doubles, whatever their whole part.
        _formula(self.ws, r, 7, f"=ROUND(ROUND(E{r}/{q},{k})-F{r},{k})")
        ties = f"+SUMPRODUCT((G${first}:G{r - 1}=G{r})*1)" if r > first else ""
        _formula(self.ws, r, 8, f"=1+SUMPRODUCT((G${first}:G${last}>G{r})*1){ties}", "0")
        owed = f"=ROUND((F{r}+IF(H{r}<=$B${last + 1},1,0))*{q},{self.qplaces})"
        _formula(self.ws, r, 2, owed, self.money)
        _formula(self.ws, r, 4, f"=B{r}=C{r}")

    def payer_places(self, payers: list[tuple[str, dict[str, Decimal], Decimal]]) -> int | None:
        """Decimals k at which each payer's exact share in quanta is recovered, or None.

        The sheet computes Σ share × rule total with SUMPRODUCT over R rules and divides
        by the quantum: within (2R + 3)·2⁻⁵²·Σ|share × total| / quantum of the exact
        quotient. Below a quarter unit in the k-th place, ROUND(…, k) gives the exact
        decimal, so INT and the remainder's comparisons follow the engine exactly.
        """
        s, q = self.s, self.quantum
        stated = dict(s.rule_totals)
        sums_ok = all(
            _sum_places(v, [x.amount for x in s.lines if x.rule == r], self.qplaces) is not None
            for r, v in s.rule_totals
        )
        if not s.rule_totals or not sums_ok or _float(q) is None:
            return None
        if not money.is_multiple(s.total, q):
            return None
        if _sum_places(s.total, [x.amount for x in s.lines], self.qplaces) is None:
            return None
        k = 0
        for _, by_rule, default in payers:
            shares = {r: by_rule.get(r, default) for r in stated}
            if any(_float(v) is None for v in shares.values()):
                return None
            terms = [money.mul(shares[r], v) for r, v in stated.items()]
            exact = money.div(money.add(*terms), q)
            size = money.div(money.add(*map(abs, terms)), q)
            assert exact is not None and size is not None  # the quantum is positive
            k = max(k, _places(exact))
            bound = money.mul(money.mul(Decimal(2 * len(terms) + 3), _EPS), size)
            if bound >= Decimal("0.25").scaleb(-k) or abs(exact).scaleb(k) >= _INT53:
                return None
        return k

    def caps(self) -> None:
        if not self.s.caps:
            return
        w = self.w
        self.heading(w["caps"], w["applies"], w["limit"], w["before"], w["after"], w["cut"])
        for cap in self.s.caps:
            r = self.row
            _text(self.ws, r, 1, w.get(f"scope.{cap.scope}", cap.scope))
            _text(self.ws, r, 2, cap_name(cap.name, self.lang))
            exact = True
            for col, value in ((3, cap.limit), (4, cap.before), (5, cap.after)):
                exact &= _number(self.ws, r, col, value, _money_format(_places(value)))
            places = max(_places(cap.before), _places(cap.after))
            if exact and places <= 15:
                _formula(self.ws, r, 6, f"=ROUND(D{r}-E{r},{places})", _money_format(places))
            else:
                _text(self.ws, r, 6, str(cap.cut))
                self.inexact = True
            self.row += 1

    def earlier(self) -> None:
        if not self.s.earlier:
            return
        w = self.w
        self.heading(w["earlier"], w["period"], w["amount"].format(currency=self.s.currency))
        for period, total in self.s.earlier:
            _text(self.ws, self.row, 2, period)
            self.inexact |= not _number(self.ws, self.row, 3, total, self.money)
            self.row += 1


# ---- inputs -------------------------------------------------------------------------


def _write_inputs(ws: Any, s: Settlement, lang: Lang, inputs: Sequence[InputInfo]) -> None:
    w = WORDS[lang]
    row = 1
    for col, label in enumerate((w["files"], "SHA-256", w["rows"]), 1):
        _text(ws, row, col, label, bold=True)
    files: list[tuple[str, str, int | None]] = [(f.name, f.sha256, f.rows) for f in inputs]
    files = files or [(n, h, None) for n, h in s.inputs]
    for name, digest, rows in files:
        row += 1
        _text(ws, row, 1, name)
        _text(ws, row, 2, digest)
        if rows:
            ws.cell(row=row, column=3, value=rows)
    row += 2
    part_names = list(dict.fromkeys(k for m in s.metrics for k, _ in m.parts))
    heads = [w["metrics"], w["role"], w["periods"], w["rows"], w["supplied"], w["value"]]
    heads += [w["exact_value"]] + [w.get(f"part.{p}", p) for p in part_names]
    for col, label in enumerate(heads, 1):
        _text(ws, row, col, label, bold=True)
    for m in s.metrics:
        row += 1
        _text(ws, row, 1, m.metric)
        role = "role.result" if tuple(m.periods) == tuple(s.window) else "role.baseline"
        _text(ws, row, 2, w[role])
        _text(ws, row, 3, ", ".join(m.periods))
        ws.cell(row=row, column=4, value=m.rows)
        _text(ws, row, 5, w["yes" if m.supplied else "no"])
        if not _number(ws, row, 6, m.value):
            _text(ws, row, 7, str(m.value))
        parts = dict(m.parts)
        for col, p in enumerate(part_names, 8):
            if p in parts and not _number(ws, row, col, parts[p]):
                _text(ws, row, col, str(parts[p]))  # text rather than a wrong number
    grouped = [(m, g, v) for m in s.metrics for g, v in m.groups]
    if grouped:
        row += 2
        heads = [w["groups"], w["periods"], w["group"], w["value"], w["exact_value"]]
        for col, label in enumerate(heads, 1):
            _text(ws, row, col, label, bold=True)
        for m, group, value in grouped:
            row += 1
            _text(ws, row, 1, m.metric)
            _text(ws, row, 2, ", ".join(m.periods))
            _text(ws, row, 3, group)
            if not _number(ws, row, 4, value):
                _text(ws, row, 5, str(value))
    for letter, width in zip("ABCDEFG", (34, 66, 24, 10, 14, 16, 30), strict=True):
        ws.column_dimensions[letter].width = width


# ---- saving -------------------------------------------------------------------------


def _save(wb: Workbook, path: pathlib.Path) -> None:
    """Write without timestamps to a temporary file beside `path`, then rename it over."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()

    def write(out: BinaryIO) -> None:
        with zipfile.ZipFile(packed) as src, zipfile.ZipFile(out, "w") as dst:
            # openpyxl stamps each entry with the time of writing; copy them with none.
            for info in src.infolist():
                entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o644 << 16
                dst.writestr(entry, src.read(info))

    write_atomically(path, write)


# ---- words --------------------------------------------------------------------------

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "sheet.summary": "Summary",
        "sheet.lines": "Lines",
        "sheet.inputs": "Inputs",
        "title": "Settlement {period}: {title}",
        "contract_id": "Contract id",
        "reference": "Reference",
        "buyer": "Buyer",
        "provider": "Provider",
        "investor": "Investor",
        "period": "Period",
        "basis": "Basis",
        "basis.per_period": "per period",
        "basis.cumulative": "cumulative: entitlement to date less what was settled before",
        "window": "Results from",
        "currency": "Currency",
        "quantum": "Rounding quantum",
        "rounding": "Rounding",
        "rounding.text": "{mode}, {at}",
        "mode.half_up": "half up",
        "mode.half_even": "half to even",
        "mode.down": "towards zero",
        "mode.up": "away from zero",
        "mode.floor": "downwards",
        "mode.ceiling": "upwards",
        "at.line": "on each line",
        "at.rule": "on each rule's subtotal",
        "at.settlement": "on the settlement total",
        "status": "Status",
        "status.none": "not stored in the ledger",
        "status.draft": "draft no. {number}",
        "status.approved": "approved, no. {number}",
        "approved_by": "Approved by",
        "approved_at": "Approved at",
        "sha256": "Stored document SHA-256",
        "totals": "Totals by rule",
        "rule": "Rule",
        "amount": "Amount ({currency})",
        "settled": "As settled",
        "adjustment": "Adjustment against settlement {number}",
        "settled_before": "Settled before",
        "owed_now": "Owed now",
        "difference": "Difference",
        "payable": "Payable now (negative: a credit due from the provider)",
        "agrees": "Agrees",
        "share": "Share: {payer}",
        "entitlement": "Entitlement",
        "previously": "Settled before",
        "total": "Total payable",
        "payers": "Owed by each payer",
        "owes": "Owes ({currency})",
        "raw": "Exact share",
        "whole": "Whole quanta (rounded down)",
        "remainder": "Remainder (quanta)",
        "rank": "Rank for left-over quanta",
        "left": "Quanta left over after rounding down",
        "note.payers": "Each payer owes its share of each rule (a share for the rule overrides the default). Parts are rounded down to the quantum; the quanta left over go to the largest remainders, ties to the payer listed first.",
        "note.payers_constant": "The payers' parts are written as settled: their exact shares need more digits than a spreadsheet number holds.",
        "caps": "Caps that cut",
        "scope.participant": "per participant",
        "scope.outcome-count": "count of an outcome",
        "scope.rule-count": "count under a rule",
        "scope.quota": "quota",
        "scope.rule-period": "rule, per period",
        "scope.rule": "rule",
        "scope.at-risk": "payment at risk",
        "scope.period": "period",
        "scope.contract": "contract",
        "scope.no-negative": "no negative settlement",
        "applies": "Applies to",
        "limit": "Limit",
        "before": "Before",
        "after": "After",
        "cut": "Cut",
        "earlier": "Earlier settlements counted against caps",
        "note.formulas": "Totals are formulas over the sheet {lines}, rounded to the decimals of the settled figure; '{agrees}' compares each with the figure the settlement states.",
        "note.inexact": "Some totals have more digits than a spreadsheet number holds (15 significant digits): their settled figures are written as exact text, and their formulas are not rounded and agree only approximately.",
        "note.lines_inexact": "Some quantities, prices or amounts on the sheet {lines} have more digits than a spreadsheet number holds (15 significant digits): the cells hold the nearest number, the column '{exact}' the exact value.",
        "kind": "Kind",
        "kind.payment": "payment",
        "kind.deduction": "deduction",
        "kind.cap": "cap",
        "kind.rounding": "rounding",
        "kind.previously_settled": "settled before",
        "description": "Description",
        "participant": "Participant",
        "outcome": "Outcome",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "explanation": "How the amount came about",
        "exact": "Exact values (more digits than a spreadsheet number holds)",
        "files": "Input files",
        "rows": "Rows",
        "metrics": "Metrics and baselines",
        "role": "Used as",
        "role.result": "result",
        "role.baseline": "baseline",
        "periods": "Periods",
        "supplied": "Supplied",
        "yes": "yes",
        "no": "no",
        "value": "Value",
        "exact_value": "Exact value",
        "groups": "Metrics by group",
        "group": "Group",
        "part.numerator": "numerator",
        "part.denominator": "denominator",
        "part.rows": "rows",
    },
    "sv": {
        "sheet.summary": "Summering",
        "sheet.lines": "Rader",
        "sheet.inputs": "Underlag",
        "title": "Avräkning {period}: {title}",
        "contract_id": "Avtals-id",
        "reference": "Diarienummer",
        "buyer": "Beställare",
        "provider": "Leverantör",
        "investor": "Investerare",
        "period": "Period",
        "basis": "Avräkningsgrund",
        "basis.per_period": "per period",
        "basis.cumulative": "ackumulerad: upparbetat hittills med avdrag för tidigare avräknat",
        "window": "Utfall för",
        "currency": "Valuta",
        "quantum": "Avrundningssteg",
        "rounding": "Avrundning",
        "rounding.text": "{mode}, {at}",
        "mode.half_up": "närmaste, uppåt vid lika",
        "mode.half_even": "närmaste, till jämnt vid lika",
        "mode.down": "mot noll",
        "mode.up": "bort från noll",
        "mode.floor": "nedåt",
        "mode.ceiling": "uppåt",
        "at.line": "på varje rad",
        "at.rule": "på varje regels delsumma",
        "at.settlement": "på avräkningens summa",
        "status": "Status",
        "status.none": "inte lagrad i avräkningsregistret",
        "status.draft": "utkast nr {number}",
        "status.approved": "godkänd, nr {number}",
        "approved_by": "Godkänd av",
        "approved_at": "Godkänd",
        "sha256": "Lagrat dokuments SHA-256",
        "totals": "Summor per regel",
        "rule": "Regel",
        "amount": "Belopp ({currency})",
        "settled": "Enligt avräkningen",
        "adjustment": "Justering mot avräkning {number}",
        "settled_before": "Tidigare avräknat",
        "owed_now": "Att få nu",
        "difference": "Skillnad",
        "payable": "Att betala nu (negativt: leverantören ska betala tillbaka)",
        "agrees": "Stämmer",
        "share": "Andel: {payer}",
        "entitlement": "Upparbetat belopp",
        "previously": "Tidigare avräknat",
        "total": "Att betala",
        "payers": "Fördelning per betalare",
        "owes": "Ska betala ({currency})",
        "raw": "Exakt andel",
        "whole": "Hela avrundningssteg (nedåt)",
        "remainder": "Rest (avrundningssteg)",
        "rank": "Turordning för återstående steg",
        "left": "Avrundningssteg kvar efter avrundning nedåt",
        "note.payers": "Varje betalare svarar för sin andel av varje regel (en andel för regeln går före standardandelen). Delarna avrundas nedåt till avrundningssteget; de steg som blir över går till de största resterna, vid lika rest till den betalare som står först.",
        "note.payers_constant": "Betalarnas delar anges enligt avräkningen: de exakta andelarna kräver fler siffror än ett kalkylbladstal rymmer.",
        "caps": "Tak som begränsade beloppen",
        "scope.participant": "per deltagare",
        "scope.outcome-count": "antal av ett utfall",
        "scope.rule-count": "antal enligt en regel",
        "scope.quota": "kvot",
        "scope.rule-period": "regel, per period",
        "scope.rule": "regel",
        "scope.at-risk": "resultatberoende andel",
        "scope.period": "period",
        "scope.contract": "avtalet",
        "scope.no-negative": "ingen negativ avräkning",
        "applies": "Gäller",
        "limit": "Tak",
        "before": "Före",
        "after": "Efter",
        "cut": "Minskning",
        "earlier": "Tidigare avräkningar som räknats mot taken",
        "note.formulas": "Summorna är formler över bladet {lines}, avrundade till det avräknade beloppets decimaler; '{agrees}' jämför varje summa med beloppet enligt avräkningen.",
        "note.inexact": "Vissa summor har fler siffror än ett kalkylbladstal rymmer (15 värdesiffror): beloppen enligt avräkningen står som exakt text, och formlerna för dem avrundas inte och stämmer bara ungefär.",
        "note.lines_inexact": "Vissa antal, priser eller belopp på bladet {lines} har fler siffror än ett kalkylbladstal rymmer (15 värdesiffror): cellerna innehåller närmaste tal, kolumnen '{exact}' det exakta värdet.",
        "kind": "Typ",
        "kind.payment": "ersättning",
        "kind.deduction": "avdrag",
        "kind.cap": "tak",
        "kind.rounding": "avrundning",
        "kind.previously_settled": "tidigare avräknat",
        "description": "Beskrivning",
        "participant": "Deltagare",
        "outcome": "Utfall",
        "quantity": "Antal",
        "unit_price": "À-pris",
        "explanation": "Så beräknades beloppet",
        "exact": "Exakta värden (fler siffror än ett kalkylbladstal rymmer)",
        "files": "Indatafiler",
        "rows": "Rader",
        "metrics": "Mått och utgångsvärden",
        "role": "Används som",
        "role.result": "utfall",
        "role.baseline": "utgångsvärde",
        "periods": "Perioder",
        "supplied": "Tillhandahållet",
        "yes": "ja",
        "no": "nej",
        "value": "Värde",
        "exact_value": "Exakt värde",
        "groups": "Mått per grupp",
        "group": "Grupp",
        "part.numerator": "täljare",
        "part.denominator": "nämnare",
        "part.rows": "rader",
    },
}
