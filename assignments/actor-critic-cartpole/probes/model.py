"""Probe of the student's ActorCritic, run in the sandbox by checks.model: built with no arguments, forward on
one state and on a batch in eval() mode (as inference runs; dropout is no mistake), then once in the module's
own training mode for the gradients. Every failure is caught with the stage it happened in, so that the
feedback quotes the input."""
import traceback

import torch


def split(out):
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return out[0], out[1], True
    return out, None, False


def probe(submission, *, seed, state, states) -> dict:
    stage, error, pair = "build", None, False
    single_probs = single_values = again_probs = batch_probs = batch_values = None
    probs_grad = values_grad = False
    try:
        torch.manual_seed(seed)
        model = submission.ActorCritic()
        stage = "one state"
        one = torch.as_tensor(state, dtype=torch.float32)
        many = torch.as_tensor(states, dtype=torch.float32)
        is_module = isinstance(model, torch.nn.Module)
        was_training = bool(model.training) if is_module else False
        if is_module:
            torch.nn.Module.train(model, False)
        try:
            single_probs, single_values, pair = split(model(one))
            again_probs = split(model(one))[0]
            stage = "batch"
            batch_probs, batch_values, pair = split(model(many))
        finally:
            if is_module:
                torch.nn.Module.train(model, was_training)
        stage = "training mode"
        trained_probs, trained_values, _ = split(model(one))
        probs_grad = bool(getattr(trained_probs, "requires_grad", False))
        values_grad = bool(getattr(trained_values, "requires_grad", False))
    except Exception as exc:
        error = {"stage": stage, "type": type(exc).__name__, "message": str(exc)[:400],
                 "traceback": traceback.format_exc()[-2500:]}
    return {"single_probs": single_probs, "single_values": single_values, "again_probs": again_probs,
            "batch_probs": batch_probs, "batch_values": batch_values, "pair": pair, "probs_grad": probs_grad,
            "values_grad": values_grad, "error": error}
