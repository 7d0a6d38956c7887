"""Turning an uploaded file into Python source, or a clear reason why it cannot be graded."""
import re

import nbformat

from grader.errors import SubmissionRejected

EXTENSIONS = (".py", ".ipynb")
# Lines a notebook runs through the shell or IPython, not Python: !pip, %matplotlib, %%time ...
_SHELL_OR_MAGIC = re.compile(r"^\s*(!|%)")


def validate_upload(filename: str, data: bytes, *, max_bytes: int) -> None:
    """Raise SubmissionRejected unless the file is a .py or .ipynb of acceptable size."""
    if not filename.lower().endswith(EXTENSIONS):
        raise SubmissionRejected(f"{filename!r} is not a .py or .ipynb file: upload your Python file or notebook")
    if len(data) == 0:
        raise SubmissionRejected(f"{filename!r} is empty")
    if len(data) > max_bytes:
        raise SubmissionRejected(
            f"{filename!r} is {len(data) / 1024:.0f} KB; the limit is {max_bytes / 1024:.0f} KB. "
            "Clear the notebook's outputs (Edit > Clear all outputs) or remove large data")


def decode(filename: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionRejected(
            f"{filename!r} is not UTF-8 text (byte {exc.start} is invalid): save it as UTF-8") from None
    if "\x00" in text:
        raise SubmissionRejected(f"{filename!r} contains NUL bytes: it looks like a binary file")
    return text


def notebook_to_source(text: str, filename: str = "notebook.ipynb") -> tuple[str, list[str]]:
    """The code cells of a notebook as one script, and a notice for each dropped shell/magic line."""
    try:
        notebook = nbformat.reads(text, as_version=4)
        raw_cells = [(c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else str(c["source"]))
                     for c in notebook["cells"]]
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds of errors on malformed input
        raise SubmissionRejected(f"{filename!r} is not a valid Jupyter notebook ({exc.__class__.__name__}); "
                                 "download it again with File > Download > .ipynb") from None
    cells, dropped = [], []
    for number, (cell_type, cell_source) in enumerate(raw_cells, start=1):
        if cell_type != "code":
            continue
        lines = []
        for line in cell_source.splitlines():
            if _SHELL_OR_MAGIC.match(line):
                dropped.append(f"cell {number}: {line.strip()[:80]}")
                lines.append("# (dropped by the grader) " + line.strip())
            else:
                lines.append(line)
        cells.append(f"# --- cell {number} ---\n" + "\n".join(lines))
    if not cells:
        raise SubmissionRejected(f"{filename!r} has no code cells")
    notices = [f"Dropped shell or magic line in {d}" for d in dropped]
    return "\n\n".join(cells) + "\n", notices


CELL_MARK = re.compile(r"^# --- cell (\d+) ---$", re.M)
# Where feedback names a line of the generated script: a traceback's frame, a gap's "Line N:", a parse error.
_WHERE = [
    (re.compile(r'File "/submission/submission\.py", line (\d+)'), 'File "your notebook", cell {cell}, line {line}'),
    (re.compile(r"^Line (\d+):", re.M), "Cell {cell}, line {line}:"),
    (re.compile(r"\(line (\d+)(?=[,)])"), "(cell {cell}, line {line}"),
    (re.compile(r"\bYour line (\d+)\b"), "Your line {line} of cell {cell}"),
    (re.compile(r"\bline (\d+)(?= `)"), "cell {cell}, line {line}"),
]


def in_notebook_terms(text: str, source: str) -> str:
    """``text`` (feedback about the script a notebook became) with every line number of that script turned
    into the notebook's cell and the line within it, as the student sees them."""
    marks = [(source.count("\n", 0, m.start()) + 1, int(m.group(1))) for m in CELL_MARK.finditer(source)]
    if not marks or not text:
        return text

    def where(pattern):
        def replace(match):
            number = int(match.group(1))
            mark = next((m for m in reversed(marks) if m[0] < number), None)
            if mark is None:
                return match.group(0)
            return pattern.format(cell=mark[1], line=number - mark[0])
        return replace

    for regex, pattern in _WHERE:
        text = regex.sub(where(pattern), text)
    return text


def to_source(filename: str, data: bytes, *, max_bytes: int) -> tuple[str, list[str]]:
    """Validate and normalise an upload: (python source, notices for the student)."""
    validate_upload(filename, data, max_bytes=max_bytes)
    text = decode(filename, data)
    if filename.lower().endswith(".ipynb"):
        return notebook_to_source(text, filename)
    if not text.strip():
        raise SubmissionRejected(f"{filename!r} contains only whitespace")
    return text, []
