"""Probe of reinforce_loss, run in the sandbox by checks.reinforce_loss: the loss on known tensors and its gradient
with respect to the log-probabilities."""
import torch


def probe(submission, *, log_probs, returns) -> dict:
    lp = torch.tensor(log_probs, dtype=torch.float32, requires_grad=True)
    loss = submission.reinforce_loss(lp, torch.tensor(returns, dtype=torch.float32))
    is_tensor = torch.is_tensor(loss)
    size = loss.numel() if is_tensor else 0
    grad = None
    if is_tensor and size == 1 and loss.requires_grad:
        loss.reshape(()).backward()
        grad = lp.grad
    return {"is_tensor": is_tensor, "size": size, "grad": grad}
