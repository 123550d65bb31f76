"""Generate a sick-leave outcome file of N rows, as csv and as xlsx, for measurements.

The rows follow the sick-leave contract of the tests (unit_id, employee_id, month, group,
scheduled_hours, short_sick_hours, long_sick_hours): one row per employee and month, so
the grain (employee_id, month) is unique. Output goes to bench/data/ (git-ignored).

    .venv/bin/python bench/gen_sick_leave.py 1000000            # both formats
    .venv/bin/python bench/gen_sick_leave.py 1000000 --csv-only --swedish
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import random
from collections.abc import Iterator
from datetime import date

HEADER = [
    "unit_id",
    "employee_id",
    "month",
    "group",
    "scheduled_hours",
    "short_sick_hours",
    "long_sick_hours",
]
DATA = pathlib.Path(__file__).parent / "data"


def rows(n: int, seed: int = 1) -> Iterator[tuple[str, str, date, str, float, float, float]]:
    rng = random.Random(seed)
    for i in range(n):
        employee, month = divmod(i, 12)
        scheduled = rng.choice((120.0, 140.0, 152.5, 160.0, 168.0))
        short = rng.choice((0.0, 0.0, 0.0, 4.0, 8.0, 12.5, 16.0))
        long = rng.choice((0.0,) * 9 + (40.0,))
        yield (
            f"U{employee % 250:03d}",
            f"E{employee:07d}",
            date(2025, month + 1, 1),
            "intervention" if employee % 2 else "comparison",
            scheduled,
            short,
            long,
        )


def write_csv(n: int, path: pathlib.Path, swedish: bool) -> None:
    # Swedish Excel writes `;` between fields and a decimal comma.
    def number(x: float) -> str:
        return repr(x).replace(".", ",") if swedish else repr(x)

    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";" if swedish else ",")
        w.writerow(HEADER)
        for u, e, m, g, s, sh, lo in rows(n):
            w.writerow([u, e, m.strftime("%Y-%m"), g, number(s), number(sh), number(lo)])


def write_xlsx(n: int, path: pathlib.Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Data")
    ws.append(HEADER)
    for u, e, m, g, s, sh, lo in rows(n):
        month = WriteOnlyCell(ws, m)
        month.number_format = "yyyy-mm"
        ws.append([u, e, month, g, s, sh, lo])
    wb.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", type=int)
    ap.add_argument("--csv-only", action="store_true")
    ap.add_argument("--swedish", action="store_true", help="csv with ; and decimal comma")
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    suffix = "_sv" if args.swedish else ""
    write_csv(args.rows, DATA / f"sick_leave_{args.rows}{suffix}.csv", args.swedish)
    if not args.csv_only:
        write_xlsx(args.rows, DATA / f"sick_leave_{args.rows}.xlsx")


if __name__ == "__main__":
    main()
