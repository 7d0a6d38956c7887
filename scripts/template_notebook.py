"""Builds an assignment's template.ipynb from its template.py: one cell per top-level function.

    .venv/bin/python scripts/template_notebook.py assignments/qlearning-cliffwalking [--keep-main-guard]

With --keep-main-guard the last cell keeps `if __name__ == "__main__":`, which is true in Jupyter and
false when the grader imports the notebook: for a try-out that trains for minutes.
"""
import re
import sys
from pathlib import Path

import nbformat

folder = Path(sys.argv[1])
keep_guard = "--keep-main-guard" in sys.argv[2:]
src = (folder / "template.py").read_text()
doc, rest = src.split('"""', 2)[1], src.split('"""', 2)[2]
parts = [p for p in re.split(r'\n(?=def |class |if __name__)|\n\n\n', rest.strip()) if p.strip()]
nb = nbformat.v4.new_notebook()
nb.cells.append(nbformat.v4.new_markdown_cell("# " + doc.strip().replace("\n\n", "\n\n", 1)))
nb.cells.append(nbformat.v4.new_code_cell("# Installs the libraries (in Colab or a fresh Jupyter). The grader skips lines starting with ! or %.\n!pip install -q gymnasium numpy" + (" torch" if "import torch" in src else "")))
for part in parts:
    if keep_guard:
        part = part.replace('if __name__ == "__main__":\n',
                            '# Try it out (runs in Jupyter; the grader skips it)\nif __name__ == "__main__":\n')
    else:
        part = part.replace('if __name__ == "__main__":\n', "# Try it out\n")
    if part.startswith("# Try it out") and not keep_guard:
        part = "\n".join(l[4:] if l.startswith("    ") else l for l in part.splitlines())
    nb.cells.append(nbformat.v4.new_code_cell(part.strip()))
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbformat.write(nb, folder / "template.ipynb")
