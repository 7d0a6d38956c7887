"""Prints how long written answers take to score: loading the text model once, one full submission,
and a batch of submissions one after another, as one worker process grades them.

The batch is the slow case: every submission a full one (15 questions and 3 essays of 260-300 words),
the reference answers with their sentences in another order, so that no two are the same text; junk
is rejected by the plain signals before any embedding and costs almost nothing.

    .venv/bin/python bench/written.py [--submissions 200]
"""
import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def submissions(folder, n):
    from grader.written.answers import parse, to_markdown

    ids = folder.rubric().ids
    base = parse(folder.file("reference.md").read_text(), ids, max_chars=20000)[0]
    rng = random.Random(0)
    out = []
    for _ in range(n):
        answers = {}
        for item_id, text in base.items():
            sentences = text.split(". ")
            if len(sentences) > 2:  # sentences in another order
                head, tail = sentences[0], sentences[1:]
                rng.shuffle(tail)
                text = ". ".join([head] + tail)
            answers[item_id] = text
        out.append(to_markdown(answers, ids).encode())
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=200)
    args = parser.parse_args()
    import torch

    from grader import assignments, embeddings, pipeline

    folder = assignments.get("synthesis-unit6")
    config = pipeline.GradingConfig(backend=None, max_upload_bytes=1 << 20)
    batch = submissions(folder, args.submissions)
    started = time.perf_counter()
    embeddings.model()
    embeddings.vocabulary()
    load = time.perf_counter() - started
    full = folder.file("reference.md").read_bytes()
    started = time.perf_counter()
    report = pipeline.grade(folder, "answers.md", full, config)
    first = time.perf_counter() - started  # includes encoding the rubric once
    started = time.perf_counter()
    report = pipeline.grade(folder, "answers.md", full, config)
    one = time.perf_counter() - started
    started = time.perf_counter()
    scores = [pipeline.grade(folder, "answers.md", data, config).score for data in batch]
    total = time.perf_counter() - started
    print(f"synthesis-unit6 on this machine ({torch.get_num_threads()} torch threads):")
    print(f"  load the model (once per worker process): {load:.1f} s")
    print(f"  one full submission (18 answers), first after start-up: {first:.2f} s; again: {one:.2f} s "
          f"(score {report.score:g} / {report.max_score:g})")
    print(f"  {len(batch)} submissions one after another: {total:.1f} s ({total / len(batch) * 1000:.0f} ms each; "
          f"target: under 120 s); scores from {min(scores):g} to {max(scores):g}")


if __name__ == "__main__":
    main()
