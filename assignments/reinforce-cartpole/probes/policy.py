"""Probe of the student's Policy, run in the sandbox by checks.policy: built with no arguments, forward in eval()
mode (as inference is run; the mode it found is put back: a policy with dropout, as PyTorch's REINFORCE example
has, gives different outputs for the same state in training mode, and that is no mistake), then in the module's
own (training) mode, where train() uses it and the gradient is looked at. Every failure is caught with the stage
it happened in, so that the feedback says which documented input raised."""
import traceback

import torch


def probe(submission, *, seed, state, states) -> dict:
    stage, error = "build", None
    single = again = batch = trained = trained_again = None
    try:
        torch.manual_seed(seed)
        policy = submission.Policy()
        stage = "one state"
        one = torch.as_tensor(state, dtype=torch.float32)
        many = torch.as_tensor(states, dtype=torch.float32)
        is_module = isinstance(policy, torch.nn.Module)
        was_training = bool(policy.training) if is_module else False
        if is_module:
            torch.nn.Module.train(policy, False)  # eval(), even where a class of the student's defines train()
        try:
            single = policy(one)
            again = policy(one)
            stage = "batch"
            batch = policy(many)
        finally:
            if is_module:
                torch.nn.Module.train(policy, was_training)
        stage = "training mode"
        trained = policy(one)
        trained_again = policy(one)
    except Exception as exc:
        error = {"stage": stage, "type": type(exc).__name__, "message": str(exc)[:400],
                 "traceback": traceback.format_exc()[-2500:]}
    return {"single": single, "again": again, "batch": batch, "trained": trained, "trained_again": trained_again,
            "error": error}
