import json

import nbformat
import pytest

from grader.errors import SubmissionRejected
from grader.normalise import to_source

LIMIT = 1000


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) if not c.startswith("#md") else nbformat.v4.new_markdown_cell(c)
                for c in cells]
    return nbformat.writes(nb).encode()


def test_a_python_file_is_its_own_source():
    assert to_source("a.py", b"x = 1\n", max_bytes=LIMIT) == ("x = 1\n", [])


def test_a_notebook_keeps_code_cells_and_drops_shell_and_magic_lines():
    source, notices = to_source("a.ipynb", notebook("!pip install gymnasium\nx = 1", "#md text", "%time y = 2"),
                                max_bytes=LIMIT)
    assert "x = 1" in source
    assert "text" not in source
    assert "!pip" not in source.replace("# (dropped by the grader) !pip", "")
    compile(source, "a", "exec")
    assert len(notices) == 2
    assert "!pip install gymnasium" in notices[0]
    assert "cell 3" in notices[1]


@pytest.mark.parametrize("filename, data, message", [
    ("solution.txt", b"x = 1", "not a .py or .ipynb"),
    ("solution.py", b"", "is empty"),
    ("solution.py", b"x" * (LIMIT + 1), "the limit is"),
    ("solution.py", "x = 'é'".encode("latin-1"), "not UTF-8"),
    ("solution.py", b"x = 1\x00", "NUL"),
    ("solution.py", b"   \n\n", "only whitespace"),
    ("solution.ipynb", b"{not json", "not a valid Jupyter notebook"),
    ("solution.ipynb", json.dumps({"cells": "nope"}).encode(), "not a valid Jupyter notebook"),
    ("solution.ipynb", notebook("#md only text"), "no code cells"),
])
def test_bad_uploads_are_rejected_with_a_clear_message(filename, data, message):
    with pytest.raises(SubmissionRejected, match=message):
        to_source(filename, data, max_bytes=LIMIT)


def test_a_utf8_bom_is_accepted():
    assert to_source("a.py", b"\xef\xbb\xbfx = 1\n", max_bytes=LIMIT)[0] == "x = 1\n"
