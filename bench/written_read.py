"""Prints how long reading a file of written answers takes on hostile input, old code beside new.

Reading (an upload) and writing (the web form's answers) happen inside a web request. Two regular
expressions there were quadratic: the comment stripper before the first heading, on unterminated
``<!--``, and the escaping of typed ``#``/``>`` lines, on long stretches of blank lines. Both are kept
here, and only here, to measure them. The other expressions of grader/written/ and
grader/normalise.py are timed on the input that is worst for each, to show they grow linearly.

    .venv/bin/python bench/written_read.py [--old-max-kb 64]

The old code is run only up to --old-max-kb (its time grows with the square of the size: the figure
for larger files is extrapolated from the largest one measured, and marked ~).
"""
import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.normalise import _SHELL_OR_MAGIC  # noqa: E402
from grader.spec import WrittenSpec  # noqa: E402
from grader.written.answers import HEADING, parse, read_upload, to_markdown  # noqa: E402
from grader.written.signals import sentences, signals, words  # noqa: E402

IDS = ["s1", "s2", "e1"]
UNLIMITED = WrittenSpec(question_points=1, essay_points=1, essays_counted=1, max_upload_bytes=1 << 40)
SIZES_KB = (16, 32, 64, 256)


def old_read(data: bytes):
    """The old reader's comment stripping, then the rest of today's parse."""
    text = data.decode()
    first = HEADING.search(text)
    return re.sub(r"(?s)<!--.*?-->", "", text[:first.start()]), parse(text, IDS, max_chars=20000)


def new_read(data: bytes):
    return read_upload("answers.md", data, IDS, UNLIMITED, max_bytes=len(data))


def old_escape(text: str):
    return re.sub(r"(?m)^(\s*)(>|#)", r"\1\\\2", text)


def new_escape(text: str):
    return to_markdown({"s1": text}, IDS)


def comments(n):  # unterminated "<!--" up to the first heading
    tail = b"\n## s1\n\nAn answer.\n"
    return b"<!--" * ((n - len(tail)) // 4) + tail


def blank_lines(n):  # one answer typed into the form: a word, blank lines, a word
    return "a" + "\n" * (n - 2) + "a"


def timed(fn, arg):
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


def compare(title, make, old, new, old_max_kb):
    print(f"\n{title}")
    print(f"  {'size':>7}  {'old':>10}  {'new':>10}")
    last = None
    for kb in SIZES_KB:
        arg = make(kb * 1024)
        if kb <= old_max_kb:
            t_old = timed(old, arg)
            last, shown = (kb, t_old), f"{t_old:9.3f}s"
        else:
            shown = f"~{last[1] * (kb / last[0]) ** 2:8.1f}s" if last else "-"
        print(f"  {kb:>5}KB  {shown:>10}  {timed(new, arg):9.4f}s")


def linear_checks():
    """The remaining expressions, each on the input that makes it backtrack most; 64 KB and 256 KB."""
    cases = {
        "HEADING (## and blanks)": (lambda n: "##" + " \n" * (n // 2), lambda t: list(HEADING.finditer(t))),
        "HEADING (many ##)": (lambda n: "## \n" * (n // 4), lambda t: list(HEADING.finditer(t))),
        "WORD (digits and dots)": (lambda n: "1." * (n // 2), words),
        "SENTENCE (newline, blanks)": (lambda n: ("\n" + " " * 200 + "x") * (n // 202), sentences),
        "SENTENCE (blank lines)": (lambda n: "a" + "\n \t" * (n // 3) + "b", sentences),
        "signals (list split)": (lambda n: ", ; / |" * (n // 7), lambda t: signals(t, "", frozenset())),
        "notebook magic (blanks)": (lambda n: " " * n, _SHELL_OR_MAGIC.match),
    }
    print("\nother expressions (new code only; linear means 256 KB takes about 4x 64 KB)")
    print(f"  {'case':<28} {'64KB':>9} {'256KB':>9}")
    for name, (make, fn) in cases.items():
        small, large = timed(fn, make(64 * 1024)), timed(fn, make(256 * 1024))
        print(f"  {name:<28} {small:8.4f}s {large:8.4f}s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--old-max-kb", type=int, default=64)
    args = parser.parse_args()
    compare("upload: unterminated <!-- before the first heading (read_upload)", comments, old_read, new_read,
            args.old_max_kb)
    compare("web form: one answer of blank lines (to_markdown)", blank_lines, old_escape, new_escape,
            args.old_max_kb)
    linear_checks()


if __name__ == "__main__":
    main()
