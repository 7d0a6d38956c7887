"""Probe of td_targets, run in the sandbox by checks.td_targets: its output on known tensors, and whether a
gradient flows through it."""
import torch


def probe(submission, *, rewards, next_values, terminated, gamma) -> dict:
    next_values_t = torch.tensor(next_values, dtype=torch.float32, requires_grad=True)
    out = submission.td_targets(torch.tensor(rewards, dtype=torch.float32), next_values_t,
                                torch.tensor(terminated, dtype=torch.float32), gamma)
    is_tensor = torch.is_tensor(out)
    return {"is_tensor": is_tensor, "targets": out.detach() if is_tensor else out,
            "with_grad": bool(is_tensor and out.requires_grad)}
