"""Regression tasks for linear models: exactly whitened Gaussian data, teachers with chosen spectra, diagonal tasks."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from layerwise import _random
from layerwise._deprecation import legacy_random_state, renamed_arguments
from layerwise.data.task import Task
from layerwise.errors import LayerwiseError, check_positive_int
from layerwise.seeds import numpy_generator


def whiten(x: Array) -> Array:
    r"""Centre the columns of ``x`` (n, d) and map them to ``x_w`` with ``x_w^T x_w / n = I_d`` exactly.

    PCA whitening (as the authors' ``get_random_regression_task``): ``x_w = (x - mean) V diag(1/sqrt(ev))`` with
    ``ev, V`` the eigen-decomposition of the centred covariance ``(x - mean)^T (x - mean) / n``. Needs ``n > d``
    and a full-rank covariance: a (near-)constant direction (eigenvalue <= 1e-10 of the largest, e.g. the
    always-blank pixels of scikit-learn's digits) cannot be whitened and raises a `LayerwiseError` (an equinox
    run-time error under jit) instead of returning NaN; `layerwise.solving.prepare` drops such directions instead.
    """
    n, d = x.shape
    if n <= d:
        raise LayerwiseError(f"n_samples must be > in_dim to whiten exactly; got n_samples={n}, in_dim={d}")
    centred = x - x.mean(axis=0)
    eigenvalues, eigenvectors = jnp.linalg.eigh(centred.T @ centred / n)
    degenerate = eigenvalues <= 1e-10 * jnp.max(eigenvalues)
    message = ("x has (near-)constant directions (covariance eigenvalue <= 1e-10 of the largest), which cannot be "
               "whitened; drop them first (layerwise.solving.prepare does)")
    if isinstance(degenerate, jax.core.Tracer):
        eigenvalues = eqx.error_if(eigenvalues, jnp.any(degenerate), message)
    elif bool(jnp.any(degenerate)):
        raise LayerwiseError(f"{message}: {int(jnp.sum(degenerate))} of {d}")
    return centred @ eigenvectors / jnp.sqrt(eigenvalues)


def whitened_regression(key: Array, n_samples: int, in_dim: int, out_dim: int, *, dtype=jnp.float64) -> Task:
    """Gaussian inputs whitened exactly (``X^T X / n = I``) and independent Gaussian targets.

    This is ``get_random_regression_task(..., Whiten=True)`` of the code of Nam et al. (2025)
    (``yoonsoonam119/linear_first``, ``utils.py``), used for their Fig. 6a.

    Args:
        key: PRNG key.
        n_samples, in_dim, out_dim: ``n > d`` samples of ``d`` inputs and ``m`` outputs.
    Returns:
        A `Task` with ``x`` (n, d), ``y`` (n, m).
    """
    check_positive_int("n_samples", n_samples)
    check_positive_int("in_dim", in_dim)
    check_positive_int("out_dim", out_dim)
    key_x, key_y = _random.split(key)
    x = whiten(_random.normal(key_x, (n_samples, in_dim), dtype))
    y = _random.normal(key_y, (n_samples, out_dim), dtype)
    return Task.from_samples(x, y)


def random_orthogonal(key: Array, dim: int, dtype=jnp.float64) -> Array:
    """A Haar-random orthogonal matrix (dim, dim): QR of a Gaussian matrix with the signs of R's diagonal fixed."""
    q, r = jnp.linalg.qr(_random.normal(key, (dim, dim), dtype))
    return q * jnp.sign(jnp.diagonal(r))


@renamed_arguments(rng="key")
def haar_orthogonal(key: Array, dim: int) -> np.ndarray:
    """A Haar-random orthogonal matrix (dim, dim) drawn on the host with NumPy (a NumPy array): QR of a Gaussian
    matrix from `layerwise.seeds.numpy_generator` of ``key``, signs fixed (`random_orthogonal` draws on the device).

    ``haar_orthogonal(PRNGKey(s), d)`` equals the earlier ``haar_orthogonal(np.random.default_rng(s), d)``; a NumPy
    ``Generator`` (positionally or as ``rng=``) still works for one release and warns.

    Example:
        >>> q = haar_orthogonal(jax.random.PRNGKey(3), 4)
        >>> bool(np.allclose(q @ q.T, np.eye(4)))
        True
    """
    if legacy_random_state("haar_orthogonal", key):
        rng = key if isinstance(key, np.random.Generator) else np.random.default_rng(int(key))
    else:
        rng = numpy_generator(key)
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q * np.sign(np.diagonal(r))


@renamed_arguments(singular_values="target_strength")
def teacher_task(
    key: Array,
    target_strength,
    in_dim: int,
    out_dim: int,
    *,
    input_variances=None,
    n_samples: int | None = None,
    dtype=jnp.float64,
) -> tuple[Task, Array, Array]:
    r"""A linear teacher ``y = W* x`` with ``W* = U diag(s) V^T`` and input covariance ``V diag(var) V^T``.

    Mode ``k`` then has ``Sigma_yx = U diag(s * var) V^T``: along ``(u_k, v_k)`` a network sees target strength
    ``s_k`` and input variance ``var_k`` (Saxe et al. 2014 with non-white input aligned to the teacher).

    Args:
        key: PRNG key (draws ``U``, ``V`` and, with ``n_samples``, the inputs).
        target_strength: ``s`` (k,), the teacher's singular values, k <= min(in_dim, out_dim).
        input_variances: ``var`` (in_dim,), default ones (whitened input).
        n_samples: ``None`` for the population task (moments only); else samples whose moments are exact.
    Returns:
        ``(task, U[:, :k], V[:, :k])``: the task and the teacher's left (out_dim, k) and right (in_dim, k) modes.
    """
    s = jnp.atleast_1d(jnp.asarray(target_strength, dtype))
    k = s.shape[0]
    if k > min(in_dim, out_dim):
        raise LayerwiseError(f"target_strength has {k} entries; at most min(in_dim, out_dim) = {min(in_dim, out_dim)}")
    var = jnp.ones(in_dim, dtype) if input_variances is None else jnp.asarray(input_variances, dtype)
    if var.shape != (in_dim,) or bool(jnp.any(var <= 0)):
        raise LayerwiseError(f"input_variances must be {in_dim} positive numbers, got shape {var.shape}")
    key_u, key_v, key_x = _random.split(key, 3)
    u = random_orthogonal(key_u, out_dim, dtype)[:, :k]
    v = random_orthogonal(key_v, in_dim, dtype)
    teacher = (u * s) @ v[:, :k].T
    if n_samples is None:
        sxx = (v * var) @ v.T
        return Task.from_statistics(sxx, teacher @ sxx, jnp.trace(teacher @ sxx @ teacher.T)), u, v[:, :k]
    x = whiten(_random.normal(key_x, (n_samples, in_dim), dtype)) * jnp.sqrt(var) @ v.T
    return Task.from_samples(x, x @ teacher.T), u, v[:, :k]


@renamed_arguments(target_weights="target_strength")
def diagonal_task(
    target_strength,
    input_variances=None,
    *,
    n_samples: int | None = None,
    key: Array | None = None,
    dtype=jnp.float64,
) -> Task:
    r"""Diagonal task ``y = sum_i S_i x_i`` with uncorrelated inputs, ``E[x_i x_j] = delta_ij E[x_i^2]``.

    The setting of the dynamical feedback principle (Nam et al. 2025, §3.1): each coordinate is an independent mode
    with strength ``S_i`` and input variance ``E[x_i^2]``.

    Args:
        target_strength: ``S`` (d,), the target weight of each coordinate.
        input_variances: ``E[x_i^2]`` (d,), default ones.
        n_samples: ``None`` for the population task; else exactly whitened samples scaled by ``sqrt(E[x_i^2])``
            (needs ``key``), whose moments equal the population ones to rounding.
    Returns:
        A `Task` with one output.
    """
    s = jnp.atleast_1d(jnp.asarray(target_strength, dtype))
    var = jnp.ones_like(s) if input_variances is None else jnp.atleast_1d(jnp.asarray(input_variances, dtype))
    if var.shape != s.shape or bool(jnp.any(var <= 0)):
        raise LayerwiseError(f"input_variances must be {s.shape[0]} positive numbers matching target_strength")
    if n_samples is None:
        return Task.from_statistics(jnp.diag(var), (s * var)[None, :], jnp.sum(s * s * var))
    if key is None:
        raise LayerwiseError("key is required when n_samples is given")
    x = whiten(_random.normal(key, (n_samples, s.shape[0]), dtype)) * jnp.sqrt(var)
    return Task.from_samples(x, x @ s)
