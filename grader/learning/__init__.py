"""The learning-curve engine, one module per job:

- ``training``: a training run in its sandbox (``TrainingRun``), what the runs of one curve share as they finish
  (``RunBoard``), and the evaluations at episode boundaries that stop a run once its verdict is known
  (``checkpoints_on_reset``, its rule ``StopRule``);
- ``integrity``: whether learning earned a run's evaluation (the ablations, the agreement, the refusals) and the
  instructor's flags;
- ``outcome``: the runs scored by the spec's rule, and the feedback that says so.

Evaluations themselves (playing a policy on held-out episodes, every action chosen on the trusted side) are
``grader.evaluation``'s; the check author's entry points are ``grader.kit``'s.
"""
