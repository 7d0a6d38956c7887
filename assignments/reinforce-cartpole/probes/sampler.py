"""Probe of select_action, run in the sandbox by checks.select_action: the policy it gets has known
probabilities, an instance of the student's own Policy class where that can be built with no arguments, with
forward replaced: whatever else their select_action uses of their class (a method like the Hugging Face course's
``act``, a list like PyTorch's ``saved_log_probs``) is there, as in their train()."""
import numpy as np
import torch


def known_policy(base, probs):
    class KnownPolicy(base):  # type: ignore[misc, valid-type]  # the student's class, known at run time
        def __init__(self):
            base.__init__(self)
            self.known_logits = torch.nn.Parameter(torch.log(torch.tensor(probs, dtype=torch.float32)))

        def forward(self, x, *args, **kwargs):
            x = torch.as_tensor(x, dtype=torch.float32)
            p = torch.softmax(self.known_logits, dim=-1)
            return p.expand(*x.shape[:-1], p.shape[-1])

    return KnownPolicy()


def probe(submission, *, probs, n, seed, state) -> dict:
    known = None
    try:
        if isinstance(submission.Policy, type) and issubclass(submission.Policy, torch.nn.Module):
            known = known_policy(submission.Policy, probs)
    except Exception:
        pass
    if known is None:
        known = known_policy(torch.nn.Module, probs)
    torch.manual_seed(seed)
    np.random.seed(seed)
    actions, log_probs, with_grad = [], [], []
    for _ in range(n):
        a, lp = submission.select_action(known, np.asarray(state, dtype=np.float32))
        actions.append(a)
        is_number = torch.is_tensor(lp) and lp.numel() == 1
        log_probs.append(float(lp.reshape(-1)[0]) if is_number else float(lp) if isinstance(lp, (int, float))
                         else None)
        with_grad.append(bool(is_number and lp.requires_grad))
    return {"actions": actions, "log_probs": log_probs, "with_grad": with_grad}
