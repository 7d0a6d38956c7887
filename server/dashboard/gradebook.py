"""The gradebook CSV: one row per student, the score that counts per assignment and its late days.

Written for spreadsheets and LMS imports as they are: UTF-8 with a byte-order mark (Excel reads
UTF-8 only with it; Canvas and Moodle skip it), CRLF line ends (RFC 4180), and any text cell that a
spreadsheet would run as a formula (=, +, -, @, tab, CR) prefixed with an apostrophe.
"""
import csv
import io

from server.courses import grades
from server.dashboard.stats import roster

FIXED_COLUMNS = ["username", "email", "first_name", "last_name"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value):
    """``value`` as a spreadsheet shows it, never as a formula it runs."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def gradebook_table(course, *, folders: dict) -> tuple[list[str], list[list]]:
    """The header and the rows: ``username,email,first_name,last_name``, then ``<slug>`` and
    ``<slug>_late_days`` per assignment (empty when nothing counts yet)."""
    assignments = list(course.assignments.order_by("due_at", "slug"))
    standing = grades.standings(assignments)
    header = FIXED_COLUMNS + [name for a in assignments for name in (a.slug, f"{a.slug}_late_days")]
    rows = []
    for student in roster(course):
        row = [student[c] for c in FIXED_COLUMNS]
        for a in assignments:
            s = standing.get((a.pk, student["id"]))
            counted = s is not None and s.submission_id is not None
            row += [_number(s.score) if counted else "", s.late_days if counted else ""]
        rows.append(row)
    return header, rows


def _number(value):
    return int(value) if float(value).is_integer() else round(value, 2)


def gradebook_csv(course, *, folders: dict) -> str:
    header, rows = gradebook_table(course, folders=folders)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[safe_cell(cell) for cell in row] for row in rows])
    return BOM + out.getvalue()
