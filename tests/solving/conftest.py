"""A synthetic linear teacher with known singular values, shared by the solve tests."""

import numpy as np
import pytest

SINGULAR_VALUES = np.array([2.0, 1.0, 0.5])


def make_teacher(n=240, d=5, m=3, singular_values=SINGULAR_VALUES, seed=0):
    r"""Inputs exactly centred and whitened (``X^T X / n = I``) and targets ``y = x W^T`` with
    ``W = U diag(s) V^T``: the whitened ``Sigma_yx`` then has singular values ``s`` exactly."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    x -= x.mean(axis=0)
    eigenvalues, vectors = np.linalg.eigh(x.T @ x / n)
    x = x @ vectors / np.sqrt(eigenvalues)
    u = np.linalg.qr(rng.standard_normal((m, m)))[0][:, : len(singular_values)]
    v = np.linalg.qr(rng.standard_normal((d, d)))[0][:, : len(singular_values)]
    return x, x @ ((u * singular_values) @ v.T).T


@pytest.fixture
def teacher():
    return make_teacher()
