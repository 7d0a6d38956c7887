"""Probe of actor_critic_loss, run in the sandbox by checks.actor_critic_loss: the loss on known tensors and its
gradients with respect to the log-probabilities and the values."""
import torch


def probe(submission, *, log_probs, values, targets) -> dict:
    lp = torch.tensor(log_probs, dtype=torch.float32, requires_grad=True)
    v = torch.tensor(values, dtype=torch.float32, requires_grad=True)
    loss = submission.actor_critic_loss(lp, v, torch.tensor(targets, dtype=torch.float32))
    is_tensor = torch.is_tensor(loss)
    size = loss.numel() if is_tensor else 0
    grad_lp = grad_v = None
    if is_tensor and size == 1 and loss.requires_grad:
        loss.reshape(()).backward()
        grad_lp, grad_v = lp.grad, v.grad
    return {"is_tensor": is_tensor, "size": size, "grad_lp": grad_lp, "grad_v": grad_v}
