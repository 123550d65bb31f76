"""Synthetic outcome data: short-term sick leave among Norrvik kommun's own employees.

Norrvik kommun buys coordinated early interventions meant to lower short-term sick leave
(sick days 1-14, "korttidssjukfrånvaro"). All data here is invented; nothing is real.

Data model (one row per employee and month, sheet `Data`):
  unit_id           U01..U24; U01..U14 get the service (`intervention`), U15..U24 do not
                    (`comparison`). Unit sizes vary (about 38-66 staff).
  employee_id       pseudonymous `E` + 5 digits, stable across all files. Each month about
                    0.67 % of staff (about 2 % a quarter) leave after the month and are
                    replaced in the same unit by a new id from the next month on, so every
                    month has exactly 1,250 rows.
  month             text `YYYY-MM`, 2024-01..2025-12.
  group             `intervention` or `comparison`, fixed by unit.
  scheduled_hours   FTE (0.5 / 0.75 / 0.8 / 1.0, weights 10/15/15/60) x full-time hours of the
                    month (160-176 h, July 120 h), rounded to 0.5 h.
  short_sick_hours  sick days 1-14: a spell of 1-14 days (mostly short) x daily hours
                    (scheduled / 21, rounded to 0.5 h); also the first 14 days of a long spell.
  long_sick_hours   day 15 onwards: about 1 % of staff a month start a long spell lasting
                    1-5 further months (about 4 % of rows have long leave); partial in the
                    first and last month. short + long <= scheduled in every row.

Built-in effect sizes. Target short-sick rate (short / scheduled) in 2024, the same in both
groups: Q1 4.3 %, Q2 3.5 %, Q3 2.8 %, Q4 3.9 % (about 3.6 % for the year). In 2025 the target
is the 2024 rate times a factor: intervention 0.94 / 0.89 / 0.85 / 0.82 (Q1..Q4), comparison
0.98 every quarter, so net of the comparison group the effect is about 4 % in Q1 and 9 %, 13 %,
16 % in Q2..Q4. The factor scales how many short spells occur: per group and month, spells are
handed to employees (a random order weighted by a personal sickness propensity, one spell each
at most) until the short hours reach the target, so realised rates sit within about 1 % of the
design instead of drowning the effect in sampling noise.

`2025-Q2-corrected.xlsx` equals `2025-Q2.xlsx` except that 30 rows of U07 in 2025-05 have
short_sick_hours raised by 4.0 h (a provider's correction after a payroll error).

Run: python sample_data/sick-leave/generate.py (writes to outcomes/ next to this file; the
output is byte-for-byte reproducible).
"""

from __future__ import annotations

import datetime as dt
import io
import pathlib
import random
import zipfile
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

SEED = 20240101
OUT = pathlib.Path(__file__).resolve().parent / "outcomes"
FIXED_TIME = dt.datetime(2026, 1, 15, 8, 0)
COLUMNS = ["unit_id", "employee_id", "month", "group"]
COLUMNS += ["scheduled_hours", "short_sick_hours", "long_sick_hours"]
N_EMPLOYEES, N_UNITS, N_INTERVENTION_UNITS = 1250, 24, 14
FTE_PCT, FTE_WEIGHTS = (50, 75, 80, 100), (10, 15, 15, 60)
MONTH_HOURS = (168, 160, 172, 164, 160, 164, 120, 172, 168, 176, 164, 160)
BASE_RATE = (0.044, 0.046, 0.039, 0.037, 0.034, 0.034, 0.025, 0.028, 0.031, 0.038, 0.040, 0.039)
FACTOR_2025 = {"intervention": (0.94, 0.89, 0.85, 0.82), "comparison": (0.98, 0.98, 0.98, 0.98)}
SPELL_DAY_WEIGHTS = (24, 18, 14, 10, 8, 6, 5, 4, 3, 2, 2, 2, 1, 1)  # for 1..14 days
LEAVE_PROB, LONG_START_PROB, LONG_AT_START = 0.02 / 3, 0.01, 0.03
MONTHS = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]

Row = tuple[str, str, str, str, int, int, int]  # hours in tenths of an hour


@dataclass
class Employee:
    emp_id: str
    unit: int
    fte_pct: int
    propensity: float
    long_left: int = 0  # further months of an ongoing long spell


def group_of(unit: int) -> str:
    return "intervention" if unit < N_INTERVENTION_UNITS else "comparison"


def unit_sizes(rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.75, 1.25) for _ in range(N_UNITS)]
    quotas = [N_EMPLOYEES * w / sum(weights) for w in weights]
    sizes = [int(q) for q in quotas]
    by_remainder = sorted(range(N_UNITS), key=lambda i: quotas[i] - sizes[i], reverse=True)
    for i in by_remainder[: N_EMPLOYEES - sum(sizes)]:
        sizes[i] += 1
    return sizes


def hire(rng: random.Random, ids: list[str], unit: int) -> Employee:
    fte = rng.choices(FTE_PCT, FTE_WEIGHTS)[0]
    return Employee(ids.pop(), unit, fte, rng.lognormvariate(0.0, 0.8))


def half_down(tenths: float) -> int:
    """Round a number of tenths down to a multiple of 0.5 h (5 tenths)."""
    return int(tenths) // 5 * 5


def simulate_month(rng: random.Random, staff: list[Employee], m: int) -> list[Row]:
    month, calendar_month = MONTHS[m], m % 12
    quarter, year = calendar_month // 3, 2024 + m // 12
    sched = {e.emp_id: (MONTH_HOURS[calendar_month] * e.fte_pct * 2 + 50) // 100 * 5 for e in staff}
    daily = {k: max(5, round(v / 5 / 21) * 5) for k, v in sched.items()}
    short = dict.fromkeys(sched, 0)
    long = dict.fromkeys(sched, 0)
    free: list[Employee] = []  # not on long leave: can have a short spell
    for e in staff:
        s = sched[e.emp_id]
        if e.long_left > 0:
            e.long_left -= 1
            long[e.emp_id] = s if e.long_left > 0 else half_down(s * rng.randint(2, 9) / 10)
        elif rng.random() < LONG_START_PROB:
            short[e.emp_id] = min(14 * daily[e.emp_id], s)
            long[e.emp_id] = half_down((s - short[e.emp_id]) * rng.randint(0, 10) / 10)
            e.long_left = rng.randint(1, 5)
        else:
            free.append(e)
    for group in ("intervention", "comparison"):
        members = [e for e in staff if group_of(e.unit) == group]
        factor = FACTOR_2025[group][quarter] if year == 2025 else 1.0
        target = BASE_RATE[calendar_month] * factor * sum(sched[e.emp_id] for e in members)
        total = sum(short[e.emp_id] for e in members)
        pool = [e for e in free if group_of(e.unit) == group]
        order = sorted(pool, key=lambda e: rng.random() ** (1.0 / e.propensity), reverse=True)
        for e in order:
            days = rng.choices(range(1, 15), SPELL_DAY_WEIGHTS)[0]
            hours = min(days * daily[e.emp_id], sched[e.emp_id])
            if total + hours / 2 > target:
                break
            short[e.emp_id], total = hours, total + hours
    hours = {k: (sched[k], short[k], long[k]) for k in sched}
    return [
        (f"U{e.unit + 1:02d}", e.emp_id, month, group_of(e.unit), *hours[e.emp_id]) for e in staff
    ]


def simulate(rng: random.Random) -> list[Row]:
    ids = [f"E{n}" for n in rng.sample(range(10000, 100000), 3000)]
    staff = [hire(rng, ids, u) for u, size in enumerate(unit_sizes(rng)) for _ in range(size)]
    for e in staff:
        if rng.random() < LONG_AT_START:
            e.long_left = rng.randint(1, 5)
    rows: list[Row] = []
    for m in range(len(MONTHS)):
        rows += simulate_month(rng, staff, m)
        staff = [hire(rng, ids, e.unit) if rng.random() < LEAVE_PROB else e for e in staff]
    rows.sort(key=lambda r: (r[2], r[0], r[1]))
    assert all(min(r[5], r[6]) >= 0 and r[5] + r[6] <= r[4] for r in rows)
    return rows


def corrected(rng: random.Random, rows: list[Row]) -> list[Row]:
    """The 2025-Q2 rows with 30 rows of U07 in 2025-05 raised by 4.0 short-sick hours."""
    fits = [i for i, r in enumerate(rows) if r[0] == "U07" and r[2] == "2025-05"]
    fits = [i for i in fits if rows[i][5] + rows[i][6] + 40 <= rows[i][4]]
    chosen = set(rng.sample(fits, 30))
    return [(*r[:5], r[5] + 40, r[6]) if i in chosen else r for i, r in enumerate(rows)]


def rate(rows: list[Row], group: str) -> float:
    mine = [r for r in rows if r[3] == group]
    return sum(r[5] for r in mine) / sum(r[4] for r in mine)


def write_xlsx(path: pathlib.Path, rows: list[Row]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([*r[:4], *(round(t / 10, 1) for t in r[4:])])
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFG", (9, 13, 10, 14, 17, 18, 17), strict=True):
        ws.column_dimensions[col].width = width
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "sample_data/sick-leave/generate.py"
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    out = io.BytesIO()  # rewrite the archive with fixed member timestamps
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            member.compress_type, member.create_system = zipfile.ZIP_DEFLATED, 3
            member.external_attr = 0o644 << 16
            dst.writestr(member, src.read(info.filename))
    path.write_bytes(out.getvalue())


def readme(files: dict[str, list[Row]]) -> str:
    lines = [
        "# Sample outcome data: short-term sick leave (Norrvik kommun)",
        "",
        "Synthetic, pseudonymous data generated by `../generate.py` (seed "
        f"`{SEED}`; rerunning reproduces these files byte for byte). One sheet `Data`, one row "
        "per employee and month; hours in 0.5 h steps. See the script's docstring for the "
        "data model and the effect sizes built in.",
        "",
        "- `baseline-2024.xlsx`: all twelve months of 2024, before the service.",
        "- `2025-Q1.xlsx` .. `2025-Q4.xlsx`: one quarter each of the service year.",
        "- `2025-Q2-corrected.xlsx`: `2025-Q2.xlsx` with 30 rows of U07 in 2025-05 raised by "
        "4.0 short-sick hours each (a provider's correction after a payroll error).",
        "",
        "Realised short-sick rate (short_sick_hours / scheduled_hours); change is against the",
        "same quarter of 2024, net = intervention change minus comparison change.",
        "",
        "| quarter | intervention 2024 | intervention 2025 | change | comparison 2024 "
        "| comparison 2025 | change | net |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = files["baseline-2024.xlsx"]
    for q in range(1, 5):
        months = MONTHS[3 * q - 3 : 3 * q]
        b = [r for r in base if r[2] in months]
        now = files[f"2025-Q{q}.xlsx"]
        ci = rate(now, "intervention") / rate(b, "intervention") - 1
        cc = rate(now, "comparison") / rate(b, "comparison") - 1
        lines.append(
            f"| Q{q} | {rate(b, 'intervention'):.4f} | {rate(now, 'intervention'):.4f} | "
            f"{ci:+.1%} | {rate(b, 'comparison'):.4f} | {rate(now, 'comparison'):.4f} | "
            f"{cc:+.1%} | {ci - cc:+.1%} |"
        )
    fixed = files["2025-Q2-corrected.xlsx"]
    long_share = sum(r[6] > 0 for r in base) / len(base)
    lines += [
        "",
        f"2024 overall: intervention {rate(base, 'intervention'):.4f}, comparison "
        f"{rate(base, 'comparison'):.4f}; {long_share:.1%} of 2024 rows have long sick leave.",
        f"2025-Q2 corrected: intervention {rate(fixed, 'intervention'):.4f} (was "
        f"{rate(files['2025-Q2.xlsx'], 'intervention'):.4f}).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    rng = random.Random(SEED)
    rows = simulate(rng)
    files = {"baseline-2024.xlsx": [r for r in rows if r[2] < "2025"]}
    for q in range(1, 5):
        months = MONTHS[12 + 3 * q - 3 : 12 + 3 * q]
        files[f"2025-Q{q}.xlsx"] = [r for r in rows if r[2] in months]
    files["2025-Q2-corrected.xlsx"] = corrected(random.Random(SEED + 1), files["2025-Q2.xlsx"])
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_xlsx(OUT / name, data)
        print(
            f"{name}: {len(data)} rows, short-sick rate intervention "
            f"{rate(data, 'intervention'):.4f}, comparison {rate(data, 'comparison'):.4f}"
        )
    (OUT / "README.md").write_text(readme(files), encoding="utf-8")
    print("README.md: realised rates per quarter and group")


if __name__ == "__main__":
    main()
