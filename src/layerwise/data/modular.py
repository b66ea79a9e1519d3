r"""Modular addition, the algorithmic grokking task (Power et al. 2022; Nanda et al. 2023; Gromov 2023).

All ``p^2`` pairs ``(a, b)`` with ``a, b in {0, ..., p-1}`` and the label ``c = (a + b) mod p``; a random
fraction of the pairs (drawn from a key) is the training set, the rest the test set (Nanda et al. 2023 train on
30 % of the pairs at p = 113; Power et al. 2022 see grokking at training fractions of roughly 0.3-0.5 at p = 97).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from layerwise._deprecation import legacy_random_state, renamed_arguments
from layerwise.data.images import one_hot
from layerwise.data.task import Task
from layerwise.errors import LayerwiseError, check_positive_int
from layerwise.seeds import numpy_generator


@renamed_arguments(seed="key")
def modular_addition(modulus: int, train_fraction: float, key: Array):
    r"""The ``(a, b) -> (a + b) mod p`` table, split at random into training and test pairs.

    Args:
        modulus: ``p`` (>= 2; 97 or 113 in the literature).
        train_fraction: fraction of the ``p^2`` pairs used for training, in (0, 1); ``round(fraction p^2)`` pairs
            (at least 1, at most ``p^2 - 1``).
        key: JAX PRNG key of the split. The permutation is drawn on the host by
            `layerwise.seeds.numpy_generator` (``PRNGKey(s)`` permutes as the integer ``seed=s`` of earlier
            releases did, so stored results stay bitwise the same); an integer seed still works for one release
            and warns.
    Returns:
        ``(tokens_train (n, 2) int, labels_train (n,) int, tokens_test (p^2 - n, 2) int, labels_test (p^2 - n,))``.

    Example:
        >>> import jax
        >>> tokens, labels, _, _ = modular_addition(5, 0.5, jax.random.PRNGKey(0))
        >>> bool(np.all(labels == tokens.sum(axis=1) % 5))
        True
    """
    if legacy_random_state("modular_addition", key):
        key = jax.random.PRNGKey(int(key))
    check_positive_int("modulus", modulus, minimum=2)
    if not 0.0 < float(train_fraction) < 1.0:
        raise LayerwiseError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    a, b = np.meshgrid(np.arange(modulus), np.arange(modulus), indexing="ij")
    tokens = np.stack([a.ravel(), b.ravel()], axis=1)
    labels = tokens.sum(axis=1) % modulus
    n_train = min(max(int(round(train_fraction * modulus**2)), 1), modulus**2 - 1)
    order = numpy_generator(key).permutation(modulus**2)
    train, test = order[:n_train], order[n_train:]
    return tokens[train], labels[train], tokens[test], labels[test]


def modular_addition_task(tokens, labels, modulus: int, target_scale: float = 1.0, dtype=jnp.float64) -> Task:
    r"""A `Task` with integer token inputs ``x = tokens`` (n, 2) and targets ``target_scale * one_hot(c)`` (n, p).

    The inputs stay integers (an embedding model looks them up); the task's moment fields are the ones of the
    token values and are not meaningful for this task (no linear model trains on it).
    """
    return Task.from_samples(jnp.asarray(tokens), jnp.asarray(one_hot(labels, modulus, target_scale), dtype))
