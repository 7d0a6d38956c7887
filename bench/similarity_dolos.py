"""Dolos's library (@dodona/dolos-lib, tree-sitter parsing and winnowing) as a candidate engine of
bench/similarity.py, run through Node.js (bench/similarity_dolos.mjs). It is installed on first use into
var/dolos (npm; its tree-sitter parsers build with the Node headers: npm_config_nodedir=/usr)."""
import json
import os
import subprocess
from pathlib import Path

from grader import similarity

ROOT = Path(__file__).resolve().parents[1]
PREFIX = ROOT / "var" / "dolos"
VERSION = "3.5.1"


def install() -> None:
    if (PREFIX / "node_modules" / "@dodona" / "dolos-lib").exists():
        return
    PREFIX.mkdir(parents=True, exist_ok=True)
    (PREFIX / "package.json").write_text('{"name": "bellman-dolos-candidate", "private": true}\n')
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", f"@dodona/dolos-lib@{VERSION}"], cwd=PREFIX,
                   check=True, env={**os.environ, "npm_config_nodedir": "/usr"})


def dolos_engine(sources: list, templates: list[str], *, max_share: float | None = 0.2) -> list:
    install()
    by_name = {s.key: s for s in sources}
    data = {"files": [{"name": s.key, "content": s.code} for s in sources],
            "template": "\n".join(templates) or None, "maxFingerprintPercentage": max_share}
    answer = subprocess.run(["node", str(ROOT / "bench" / "similarity_dolos.mjs")], input=json.dumps(data),
                            capture_output=True, text=True, env={**os.environ, "DOLOS_PREFIX": str(PREFIX)})
    if answer.returncode != 0:  # e.g. files with nothing left once the template is ignored
        print("dolos failed:", answer.stderr.strip().splitlines()[-1:])
        return []
    pairs = [similarity.Pair(by_name[p["a"]], by_name[p["b"]], p["similarity"], p["overlap"], p["longest"], [])
             for p in json.loads(answer.stdout)]
    return sorted(pairs, key=lambda p: -p.similarity)
