"""The similarity engine on a labelled benchmark: ten independent correct solutions per assignment
(bench/similarity_corpus/<assignment>/s01.py ... s10.py, each passing the unit checks) and their disguised
copies (tests/similarity/attacks.py: each attack keeps what the code does). For each attack and overall:

- ROC-AUC: how well the similarity ranks the copies' pairs (a solution and its disguised copy) above the
  independent pairs (two different students' solutions, and their copies);
- precision at k, k the number of copies' pairs: the share of copies among the k most similar pairs;
- the share of independent pairs flagged at the default threshold (the bar: at most 1%);
- the similarity of two submissions that only fill the template in (the bar: below 0.10);
- the time to compare a class of 400 submissions (the bar: under a minute on two cores).

    DJANGO_SECRET_KEY=x .venv/bin/python bench/similarity.py [--engine copydetect|dolos] [--check-variants]

--check-variants grades every disguised copy's unit checks (minutes): each must pass as its original does."""
import argparse
import itertools
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.metrics import roc_auc_score  # noqa: E402

from grader import similarity  # noqa: E402
from tests.similarity.attacks import ATTACKS  # noqa: E402

CORPUS = ROOT / "bench" / "similarity_corpus"
ASSIGNMENTS = ["reinforce-cartpole", "actor-critic-cartpole", "qlearning-cliffwalking"]


def solutions(slug: str) -> dict[str, str]:
    return {p.stem: p.read_text() for p in sorted((CORPUS / slug).glob("s*.py"))}


def template(slug: str) -> str:
    return (ROOT / "assignments" / slug / "template.py").read_text()


def variants(slug: str, attack: str) -> dict[str, str]:
    return {name: ATTACKS[attack](code, seed=index) for index, (name, code) in enumerate(solutions(slug).items())}


def scored_pairs(slug: str, attack: str, engine) -> tuple[list[float], list[int]]:
    """Every pair of the originals and their copies under ``attack``: (similarity, 1 for a copy's pair)."""
    originals, copies = solutions(slug), variants(slug, attack)
    sources = [similarity.Source(key=f"{n}", code=c) for n, c in originals.items()]
    sources += [similarity.Source(key=f"{n}~{attack}", code=c) for n, c in copies.items()]
    found = {(p.a.key, p.b.key): p.similarity for p in engine(sources, [template(slug)])}
    scores, labels = [], []
    for a, b in itertools.combinations([s.key for s in sources], 2):
        scores.append(found.get((a, b), found.get((b, a), 0.0)))
        labels.append(int(a.split("~")[0] == b.split("~")[0]))
    return scores, labels


def metrics(scores: list[float], labels: list[int], threshold: float) -> dict:
    k = sum(labels)
    ranked = sorted(zip(scores, labels, strict=False), key=lambda x: -x[0])
    independent = [s for s, label in zip(scores, labels, strict=False) if not label]
    return {"auc": roc_auc_score(labels, scores), "precision_at_k": sum(label for _, label in ranked[:k]) / k,
            "flagged_independent": sum(s >= threshold for s in independent) / len(independent),
            "flagged_copies": sum(s >= threshold for s, label in zip(scores, labels, strict=False) if label) / k,
            "pairs": len(scores), "copies": k}


COMMON_SHARE = similarity.COMMON_SHARE


def copydetect_engine(sources, templates):
    return similarity.compare(sources, templates, common_share=COMMON_SHARE)


def class_of(size: int, seed: int = 0) -> list[similarity.Source]:
    """A class of ``size`` REINFORCE submissions: the ten solutions, each disguised many times over."""
    rng = random.Random(seed)
    originals = list(solutions("reinforce-cartpole").values())
    names = list(ATTACKS)
    return [similarity.Source(key=f"student{i:03d}",
                              code=ATTACKS[rng.choice(names)](rng.choice(originals), seed=i)) for i in range(size)]


def check_variants() -> int:
    from bench.similarity_corpus.unit_check import unit_results

    failed = 0
    for slug in ASSIGNMENTS:
        folder = Path("/tmp/bellman-similarity-variants") / slug
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for attack in ATTACKS:
            for name, code in variants(slug, attack).items():
                path = folder / f"{name}~{attack}.py"
                path.write_text(code)
                files.append(path)
        for path, statuses in unit_results(slug, files).items():
            if any(s != "passed" for s in statuses.values()):
                failed += 1
                print("variant fails a unit check:", path, statuses)
        print(f"{slug}: {len(files)} variants graded")
    return failed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="copydetect", choices=["copydetect", "dolos"])
    parser.add_argument("--check-variants", action="store_true")
    parser.add_argument("--class-size", type=int, default=400)
    parser.add_argument("--threshold", type=float, default=similarity.THRESHOLD, help="the flag (default: Bellman's)")
    parser.add_argument("--common-share", type=float, default=None,
                        help="leave out fingerprints in more than this share of the submissions (default: Bellman's; "
                             "1 keeps them all)")
    args = parser.parse_args()
    if args.check_variants:
        sys.exit(1 if check_variants() else 0)
    if args.engine == "dolos":
        from bench.similarity_dolos import dolos_engine as engine
    else:
        engine = copydetect_engine
    threshold = args.threshold
    if args.common_share is not None:
        global COMMON_SHARE
        COMMON_SHARE = args.common_share
    print(f"engine: {similarity.ENGINE if args.engine == 'copydetect' else 'dolos'}; threshold {threshold}")
    print(f"{'attack':22} {'AUC':>6} {'P@k':>6} {'indep. flagged':>15} {'copies flagged':>15}   "
          "(three assignments pooled)")
    everything = ([], [])
    worst = 1.0
    for attack in ATTACKS:
        scores, labels = [], []
        for slug in ASSIGNMENTS:
            s, lab = scored_pairs(slug, attack, engine)
            scores += s
            labels += lab
        m = metrics(scores, labels, threshold)
        worst = min(worst, m["auc"])
        everything[0].extend(scores)
        everything[1].extend(labels)
        print(f"{attack:22} {m['auc']:6.3f} {m['precision_at_k']:6.3f} {m['flagged_independent']:15.2%} "
              f"{m['flagged_copies']:15.0%}")
    m = metrics(*everything, threshold)
    print(f"{'overall':22} {m['auc']:6.3f} {m['precision_at_k']:6.3f} {m['flagged_independent']:15.2%} "
          f"{m['flagged_copies']:15.0%}   ({m['pairs']} pairs, {m['copies']} copies)")
    for slug in ASSIGNMENTS:
        per = ([], [])
        for attack in ATTACKS:
            s, lab = scored_pairs(slug, attack, engine)
            per[0].extend(s)
            per[1].extend(lab)
        pm = metrics(*per, threshold)
        print(f"  {slug:28} AUC {pm['auc']:.3f}  P@k {pm['precision_at_k']:.3f}  "
              f"independent flagged {pm['flagged_independent']:.2%}")
    for slug in ASSIGNMENTS:
        blank = [similarity.Source(key="one", code=template(slug)), similarity.Source(key="two", code=template(slug))]
        pairs = engine(blank, [template(slug)])
        print(f"template only, {slug}: similarity {pairs[0].similarity if pairs else 0.0:.3f}")
    size = args.class_size
    sources = class_of(size)
    started = time.perf_counter()
    pairs = engine(sources, [template("reinforce-cartpole")])
    elapsed = time.perf_counter() - started
    print(f"a class of {size}: {size * (size - 1) // 2} pairs compared in {elapsed:.1f} s "
          f"({len(pairs)} share code)")
    print(f"bars: overall AUC >= 0.95 ({'met' if m['auc'] >= 0.95 else 'NOT met'}), every attack >= 0.90 "
          f"({'met' if worst >= 0.90 else 'NOT met'}), independent flagged <= 1% "
          f"({'met' if m['flagged_independent'] <= 0.01 else 'NOT met'}), 400 in under 60 s "
          f"({'met' if elapsed < 60 else 'NOT met'})")


if __name__ == "__main__":
    main()
