"""Synthetic outcome data: school support for pupils in years 7-9, Norrvik kommun.

Norrvik kommun buys school support ("skolstödjande insatser") for pupils at risk of failing.
All data here is invented; nothing is real.

Data model (one row per pupil and term, sheet `Data`):
  pupil_id                  pseudonymous `P` + 4 digits, stable across files.
  school_id                 S1..S6 (about 45-95 pupils each).
  term                      `VT2025` (intake: the term before the service starts), `HT2025`,
                            `VT2026`.
  grade_level               the intake cohort is in years 7 and 8 in VT2025 (about half each)
                            and moves up one year at the new school year: years 8 and 9 in
                            HT2025 and VT2026. No new pupils join; 3 % leave after each term.
  attendance_pct            0-100 with one decimal. Exactly 45 % of pupils are below 80 at intake.
  grade_swedish/_math/_english  A-F (F = fail). At intake exactly 40 % / 55 % / 35 % have F;
                            the F grades go to the pupils with the highest latent risk plus noise,
                            so they cluster and most pupils have at least one F.
  eligible_upper_secondary  simplification of "behörig till gymnasiet": true iff grade_level is
                            9 and none of the three core subjects is F (the real rule needs
                            passing grades in eight more subjects and is decided in June of
                            year 9). Always false in years 7-8, so false for all at intake.

Built-in effects, counted over the intake F grades of pupils still enrolled in the term:
  grades      35 % are E or better in HT2025 and 50 % in VT2026 (mostly E, some D, a few C).
              About 6 % of the HT2025 improvements fall back to F in VT2026. Grades that were
              not F at intake never become F and drift at most one step.
  attendance  of pupils below 80 at intake, 25 % reach >= 90 in HT2025 and 35 % in VT2026; about
              8 % of the HT2025 reachers relapse below 90 in VT2026. The rest of that group
              improve a little but stay below 90. Pupils who reach 90 are twice as likely to
              be picked for a grade improvement.
Quotas are exact (drawn without replacement), so realised shares match the design up to
rounding.

Run: python sample_data/school-support/generate.py (writes to outcomes/ next to this file; the
output is byte-for-byte reproducible).
"""

from __future__ import annotations

import datetime as dt
import io
import pathlib
import random
import zipfile
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

SEED = 20250115
OUT = pathlib.Path(__file__).resolve().parent / "outcomes"
FIXED_TIME = dt.datetime(2026, 1, 15, 8, 0)
COLUMNS = ["pupil_id", "school_id", "term", "grade_level", "attendance_pct"]
COLUMNS += ["grade_swedish", "grade_math", "grade_english", "eligible_upper_secondary"]
SUBJECTS = ("swedish", "math", "english")
F_SHARE = {"swedish": 0.40, "math": 0.55, "english": 0.35}
PASS_GRADES, PASS_WEIGHTS = "EDCBA", (35, 28, 20, 11, 6)
N_PUPILS, N_SCHOOLS = 420, 6
TERMS = {"VT2025": "VT2025-intake.xlsx", "HT2025": "HT2025.xlsx", "VT2026": "VT2026.xlsx"}


@dataclass(eq=False)  # identity equality: pupils go into sets
class Pupil:
    pupil_id: str
    school: str
    level: int
    risk: float
    attendance: int = 0  # tenths of a percent
    grades: dict[str, str] = field(default_factory=dict)


Row = tuple[str, str, str, int, float, str, str, str, bool]
Pair = tuple[Pupil, str]


def tenths(value: float, low: float, high: float) -> int:
    return round(min(max(value, low), high) * 10)


def top_by(rng: random.Random, items: list[Pupil], k: int, noise: float) -> list[Pupil]:
    """The k pupils with the highest risk plus normal noise."""
    return sorted(items, key=lambda p: p.risk + rng.gauss(0, noise), reverse=True)[:k]


def weighted_sample(
    rng: random.Random, items: list[Pair], weights: list[float], k: int
) -> list[Pair]:
    """k items without replacement, chance proportional to weight (Efraimidis-Spirakis)."""
    keys = [rng.random() ** (1.0 / w) for w in weights]
    order = sorted(range(len(items)), key=keys.__getitem__, reverse=True)
    return [items[i] for i in order[: max(k, 0)]]


def step(grade: str, rng: random.Random) -> str:
    """A pass grade, possibly one step up or down (never to F)."""
    i = PASS_GRADES.index(grade) + rng.choice((-1, 0, 0, 0, 0, 0, 1))
    return PASS_GRADES[min(max(i, 0), 4)]


def raised(rng: random.Random) -> str:
    return rng.choices("EDC", (75, 20, 5))[0]


def intake(rng: random.Random) -> list[Pupil]:
    weights = [rng.uniform(0.7, 1.3) for _ in range(N_SCHOOLS)]
    schools = rng.choices([f"S{i + 1}" for i in range(N_SCHOOLS)], weights, k=N_PUPILS)
    ids = rng.sample(range(1000, 10000), N_PUPILS)
    pupils = [
        Pupil(f"P{n}", s, rng.choice((7, 8)), rng.gauss(0, 1))
        for n, s in zip(ids, schools, strict=True)
    ]
    low = set(top_by(rng, pupils, round(0.45 * N_PUPILS), 1.0))
    for p in pupils:
        if p in low:
            p.attendance = tenths(rng.triangular(45, 79.9, 74), 40, 79.9)
        else:
            p.attendance = tenths(rng.triangular(80, 100, 92), 80, 100)
    for subject, share in F_SHARE.items():
        fail = set(top_by(rng, pupils, round(share * N_PUPILS), 0.9))
        for p in pupils:
            pass_grade = rng.choices(PASS_GRADES, PASS_WEIGHTS)[0]
            p.grades[subject] = "F" if p in fail else pass_grade
    return pupils


def follow_up(rng: random.Random, terms: dict[str, list[Pupil]], first: dict[str, Pupil]) -> None:
    """Add HT2025 and VT2026 from the intake term (the service's effects)."""
    reached: set[str] = set()  # pupils >= 90 in HT2025
    improved: set[tuple[str, str]] = set()  # (pupil_id, subject) not F in HT2025
    prev = terms["VT2025"]
    for term, target_att, target_f in (("HT2025", 0.25, 0.35), ("VT2026", 0.35, 0.50)):
        stay = sorted(rng.sample(prev, len(prev) - round(0.03 * len(prev))), key=prev.index)
        level_up = int(term == "HT2025")  # a new school year starts in August
        now = [Pupil(p.pupil_id, p.school, p.level + level_up, p.risk) for p in stay]
        before = {p.pupil_id: p for p in prev}
        low = [p for p in now if first[p.pupil_id].attendance < 800]
        keep = [p for p in low if p.pupil_id in reached]
        relapse = set(rng.sample(keep, round(0.08 * len(keep))))
        kept = [p for p in keep if p not in relapse]
        fresh = [p for p in low if p.pupil_id not in reached]
        new = rng.sample(fresh, round(target_att * len(low)) - len(kept))
        reached = {p.pupil_id for p in kept + new}
        for p in now:
            a = before[p.pupil_id].attendance / 10
            if p.pupil_id in reached:
                p.attendance = tenths(max(a, rng.uniform(90, 98.5)) + rng.gauss(0, 1), 90, 100)
            elif p in relapse:
                p.attendance = tenths(rng.uniform(76, 89), 0, 89.9)
            elif p in low:
                p.attendance = tenths(a + rng.gauss(2.5, 4), 30, 89.9)
            else:
                p.attendance = tenths(a + rng.gauss(0, 3), 55, 100)
        pupil_of = {p.pupil_id: p for p in now}
        pairs = [(pupil_of[p.pupil_id], s) for p in stay for s in SUBJECTS]
        was_f = [(p, s) for p, s in pairs if first[p.pupil_id].grades[s] == "F"]
        up = [(p, s) for p, s in was_f if (p.pupil_id, s) in improved]
        back = set(rng.sample(up, round(0.06 * len(up))))
        held = [q for q in up if q not in back]
        still = [(p, s) for p, s in was_f if (p.pupil_id, s) not in improved]
        weights = [2.0 if p.pupil_id in reached else 1.0 for p, _ in still]
        new_up = weighted_sample(rng, still, weights, round(target_f * len(was_f)) - len(held))
        improved = {(p.pupil_id, s) for p, s in held + new_up}
        for p, s in pairs:
            old = before[p.pupil_id].grades[s]
            if (p.pupil_id, s) in improved:
                p.grades[s] = raised(rng) if old == "F" else step(old, rng)
            else:
                p.grades[s] = "F" if old == "F" or (p, s) in back else step(old, rng)
        terms[term] = prev = now


def rows_of(term: str, pupils: list[Pupil]) -> list[Row]:
    rows = []
    for p in sorted(pupils, key=lambda p: (p.school, p.pupil_id)):
        g = [p.grades[s] for s in SUBJECTS]
        eligible = p.level == 9 and "F" not in g
        rows.append(
            (p.pupil_id, p.school, term, p.level, round(p.attendance / 10, 1), *g, eligible)
        )
    return rows


def stats(rows: list[Row], first: dict[str, Pupil]) -> dict[str, int]:
    out = {"pupils": len(rows), "year 9": sum(r[3] == 9 for r in rows)}
    fails = [(r, i) for r in rows for i, s in enumerate(SUBJECTS) if first[r[0]].grades[s] == "F"]
    out["intake F grades"] = len(fails)
    out["intake F grades now E or better"] = sum(r[5 + i] != "F" for r, i in fails)
    low = [r for r in rows if first[r[0]].attendance < 800]
    out["intake attendance < 80"] = len(low)
    out["intake attendance < 80 now >= 90"] = sum(r[4] >= 90 for r in low)
    for i, s in enumerate(SUBJECTS):
        out[f"F {s}"] = sum(r[5 + i] == "F" for r in rows)
    out["any F"] = sum("F" in r[5:8] for r in rows)
    out["attendance < 80"] = sum(r[4] < 80 for r in rows)
    out["attendance >= 90"] = sum(r[4] >= 90 for r in rows)
    out["eligible"] = sum(r[8] for r in rows)
    return out


def write_xlsx(path: pathlib.Path, rows: list[Row]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append(list(r))
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHI", (10, 10, 9, 12, 16, 15, 12, 15, 26), strict=True):
        ws.column_dimensions[col].width = width
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "sample_data/school-support/generate.py"
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


def readme(table: dict[str, dict[str, int]]) -> str:
    lines = [
        "# Sample outcome data: school support, years 7-9 (Norrvik kommun)",
        "",
        f"Synthetic, pseudonymous data from `../generate.py` (seed `{SEED}`, byte-for-byte "
        "reproducible); one row per pupil and term. The script's docstring describes the "
        "data model and the effects built in.",
        "",
        "- `VT2025-intake.xlsx`: the intake term, before the service starts (years 7 and 8).",
        "- `HT2025.xlsx`, `VT2026.xlsx`: the service terms (years 8 and 9; 3 % leave per term).",
        "",
        "`eligible_upper_secondary` is simplified: year 9 and no F in Swedish, maths, English.",
        "",
        "Counts per term; the `intake ...` rows count the pupils still enrolled in the term.",
        "",
        "| count | " + " | ".join(TERMS) + " |",
        "|---|" + "---|" * len(TERMS),
    ]
    for key in table["VT2025"]:
        lines.append(f"| {key} | " + " | ".join(str(table[t][key]) for t in TERMS) + " |")
    return "\n".join([*lines, ""])


def main() -> None:
    rng = random.Random(SEED)
    terms = {"VT2025": intake(rng)}
    first = {p.pupil_id: p for p in terms["VT2025"]}
    follow_up(rng, terms, first)
    OUT.mkdir(parents=True, exist_ok=True)
    table = {}
    for term, name in TERMS.items():
        rows = rows_of(term, terms[term])
        write_xlsx(OUT / name, rows)
        table[term] = stats(rows, first)
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in table[term].items()))
    (OUT / "README.md").write_text(readme(table), encoding="utf-8")
    print("README.md: counts per term")


if __name__ == "__main__":
    main()
