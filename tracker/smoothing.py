"""Temporal smoothing of window posteriors with a hidden Markov model.

Posture changes a few times an hour while a window lasts seconds, so an isolated window
that disagrees with its neighbours is far more likely a classifier error than a real
10-second bout.  A "sticky" HMM whose states are the postures, with the classifier's
posteriors as emission scores, captures exactly this: one number, the probability of
staying in the same posture from one window to the next, trades reaction time against
flicker.  Unlike a minimum-bout rule it weighs how confident each window is.  The
classifier is trained with balanced class weights, so its posteriors already behave as
likelihoods under a flat prior and are used directly.

The Viterbi recursion is sequential, and a Python loop over 120 000 windows is too slow.
It is associative in the (max, +) semiring, though: the sequence is cut into about
sqrt(n) blocks, each block's (C x C) max-plus transfer matrix is built for all blocks at
once, a short loop over blocks fixes the exact score entering each block, and the
within-block pass and the backtracking again run over all blocks at once.  The result
is the exact Viterbi path in O(sqrt(n)) numpy steps.

For live use run it over the windows so far: the path's last state may be revised by
later windows, so report states that lie at least a few windows back as final.
"""

from __future__ import annotations

import numpy as np

_FLOOR = 1e-12


def sticky_transition(n_classes: int, self_prob: float) -> np.ndarray:
    """Transition matrix staying put with ``self_prob``, else moving uniformly."""
    if n_classes == 1:
        return np.ones((1, 1))
    off = (1.0 - self_prob) / (n_classes - 1)
    return np.full((n_classes, n_classes), off) + np.eye(n_classes) * (self_prob - off)


def _max_plus(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Batched max-plus product of (..., C, C) matrices."""
    return (left[..., :, :, None] + right[..., None, :, :]).max(axis=-2)


def viterbi(
    proba: np.ndarray, transition: np.ndarray, prior: np.ndarray | None = None
) -> np.ndarray:
    """Most likely state sequence (n,) for posteriors ``proba`` (n, C) of one segment."""
    proba = np.asarray(proba, dtype=np.float64)
    n, n_classes = proba.shape
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    start = np.full(n_classes, 1.0 / n_classes) if prior is None else np.asarray(prior, float)
    emission = np.log(np.maximum(proba, _FLOOR))
    log_trans = np.log(np.maximum(transition, _FLOOR))
    first = np.log(np.maximum(start, _FLOOR)) + emission[0]
    steps = n - 1  # every step after the first applies one transition and one emission
    if steps == 0:
        return np.array([int(np.argmax(first))])

    block = int(np.ceil(np.sqrt(steps)))
    n_blocks = -(-steps // block)
    pad = n_blocks * block - steps
    emit = np.concatenate((emission[1:], np.zeros((pad, n_classes)))).reshape(
        n_blocks, block, n_classes
    )
    # padded steps carry every state over unchanged, so they alter neither scores nor path
    padded = (np.arange(n_blocks * block) >= steps).reshape(n_blocks, block)
    carry = np.where(np.eye(n_classes, dtype=bool), 0.0, -np.inf)

    def step_matrices(r: int) -> np.ndarray:  # (n_blocks, C, C): transition + emission
        trans = np.where(padded[:, r, None, None], carry, log_trans)
        return trans + emit[:, r, None, :]

    # 1. max-plus transfer matrix of every block, all blocks at once
    transfer = step_matrices(0)
    for r in range(1, block):
        transfer = _max_plus(transfer, step_matrices(r))
    # 2. exact score vector entering each block
    entering = np.empty((n_blocks, n_classes))
    score = first
    for b in range(n_blocks):
        entering[b] = score
        score = (score[:, None] + transfer[b]).max(axis=0)
    # 3. forward pass inside every block with back-pointers
    back = np.empty((n_blocks, block, n_classes), dtype=np.intp)
    delta = entering
    for r in range(block):
        scores = delta[:, :, None] + step_matrices(r)
        back[:, r] = scores.argmax(axis=1)
        delta = scores.max(axis=1)
    # 4. for every block and every possible end state, the path back through the block
    rows = np.arange(n_blocks)[:, None]
    path = np.empty((n_blocks, block, n_classes), dtype=np.intp)
    state = np.broadcast_to(np.arange(n_classes), (n_blocks, n_classes)).copy()
    for r in range(block - 1, -1, -1):
        path[:, r] = state
        state = back[rows, r, state]
    # 5. stitch the blocks together from the end
    chosen = np.empty((n_blocks, block), dtype=np.intp)
    end = int(np.argmax(delta[-1]))
    for b in range(n_blocks - 1, -1, -1):
        chosen[b] = path[b, :, end]
        end = int(state[b, end])
    return np.concatenate(([end], chosen.reshape(-1)[:steps]))
