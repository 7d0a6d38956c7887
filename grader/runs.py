"""Training runs of learning-curve checks: one sandbox and one trusted environment per run.

Each way a run can fail (the student's code raised, timed out, returned something unusable,
was refused by the environment) becomes the run's ``problem``, in words for the student.
"""
from grader.errors import BellmanError, SessionEnded, StudentCodeError


class RunProblem(BellmanError):
    """The run finished, but what it produced cannot be evaluated."""


def training_run(host, seed, gave_up, train) -> dict:
    """``train() -> evaluation value`` for one seed, with ``host`` serving the environment.

    ``gave_up`` (a threading.Event) is set when a run times out: later runs are skipped rather
    than made to time out too. Returns ``{"seed", "returns", "eval", "problem"}``.
    """
    run = {"seed": seed, "returns": [], "eval": None, "problem": ""}
    if gave_up.is_set():
        run["problem"] = "not run: an earlier run did not finish in time"
        host.close()
        return run
    try:
        run["eval"] = train()
    except (RunProblem, StudentCodeError) as exc:
        run["problem"] = str(exc)
    except SessionEnded as exc:
        run["problem"] = str(exc)
        if exc.verdict == "timeout":
            gave_up.set()
    finally:
        run["returns"] = host.returns
        if host.refusals and run["eval"] is None:
            run["problem"] = run["problem"] or f"the environment refused: {host.refusals[0]}"
        host.close()
    return run
