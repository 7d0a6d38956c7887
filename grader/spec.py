"""The schema of an assignment's spec.toml: every table, key and type, so that a typo is an error that
names the file and the key at start-up (system check grader.E002), not a KeyError at 23:58."""
from pathlib import Path

NUMBER = (int, float)
TEXT = (str,)
WHOLE = (int,)


def _list_of(kinds):
    return ("list", kinds)


# table -> key -> the types it may have (required keys are listed in REQUIRED).
SCHEMA = {
    "": {"title": TEXT, "kind": TEXT, "check_seed": WHOLE, "checks": "checks", "learning_curve": "table",
         "limits": "table", "written": "table"},
    "checks": {"id": TEXT, "points": NUMBER, "title": TEXT, "requires": _list_of(TEXT), "phase": TEXT},
    "limits": {"memory_mb": WHOLE, "cpus": NUMBER, "pids": WHOLE, "work_mb": WHOLE, "cpu_seconds": NUMBER,
               "request_timeout_s": NUMBER, "session_timeout_s": NUMBER},
    "learning_curve": {"env": TEXT, "seeds": _list_of(WHOLE), "episodes": WHOLE, "max_episodes": WHOLE,
                       "max_episode_steps": WHOLE, "extra_episodes": WHOLE, "run_timeout_s": NUMBER,
                       "eval_episodes": WHOLE, "eval_seed_base": WHOLE, "eval_max_steps": WHOLE, "eval_every": WHOLE, "min_episodes": WHOLE,
                       "threshold": NUMBER, "runs_required": WHOLE, "tiers": "tiers"},
    "tiers": {"min_iqm": NUMBER, "credit": NUMBER},
    "written": {"question_points": NUMBER, "essay_points": NUMBER, "essays_counted": WHOLE, "essay_words": WHOLE,
                "max_answer_chars": WHOLE, "max_upload_bytes": WHOLE, "thresholds": "table"},
    "written.thresholds": {"covered": NUMBER, "supported": NUMBER, "partial": NUMBER, "on_topic": NUMBER,
                           "question_on_topic": NUMBER, "misplaced": NUMBER},
}
REQUIRED = {"checks": ("id", "points"), "learning_curve": ("env", "seeds", "run_timeout_s"),
            "tiers": ("min_iqm", "credit")}


def spec_problems(spec: dict, path: Path) -> list[str]:
    """Every key of ``spec`` that the schema does not know or whose value has the wrong type."""
    return _table(spec, "", f"{path}")


def _table(values: dict, name: str, where: str) -> list[str]:
    known = SCHEMA[name]
    problems = [f"{where}: [{name or 'top level'}] needs {key}" for key in REQUIRED.get(name, ()) if key not in values]
    for key, value in values.items():
        place = f"{where}: {name + '.' if name else ''}{key}"
        kind = known.get(key)
        if kind is None:
            problems.append(f"{place} is not a key this table has (known: {', '.join(sorted(known))})")
        elif kind == "table":
            sub = f"{name}.{key}" if name else key
            problems += _table(value, sub, where) if isinstance(value, dict) else [f"{place} must be a table"]
        elif kind in ("checks", "tiers"):  # lists of tables
            if not isinstance(value, list):
                problems.append(f"{place} must be a list of tables")
                continue
            for i, entry in enumerate(value):
                problems += _table(entry, kind, f"{where}: {key}[{i}]") if isinstance(entry, dict) else [
                    f"{place}[{i}] must be a table"]
        elif isinstance(kind, tuple) and kind and kind[0] == "list":
            if not isinstance(value, list) or not all(isinstance(v, kind[1]) and not isinstance(v, bool)
                                                      for v in value):
                problems.append(f"{place} must be a list of {kind[1][0].__name__}")
        elif isinstance(value, bool) or not isinstance(value, kind):
            problems.append(f"{place} must be {' or '.join(k.__name__ for k in kind)}, not {type(value).__name__}")
    return problems
