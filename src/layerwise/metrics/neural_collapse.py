r"""Neural-collapse metrics NC1-NC4 and the MSE loss decomposition of Han, Papyan & Donoho (2022).

Notation (after Papyan, Han & Donoho 2020): features ``h_i`` (rows of ``features`` (N, d)), labels ``y_i`` in
``0..C-1``, classifier ``W`` (C, d) with rows ``w_c``, bias ``b`` (C,). Class means ``mu_c`` (rows of ``M`` (C, d)),
their average ``mu_G = 1/C sum_c mu_c`` (the global mean for balanced classes; the Papyan et al. colab's choice),
centred means ``M~ = M - mu_G``, and

    Sigma_W = 1/N sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T,      Sigma_B = 1/C sum_c (mu_c - mu_G)(mu_c - mu_G)^T.

Conventions differ between public codes; we follow the Papyan et al. (2020) colab unless said otherwise and offer
the other choice where it changes a number:

* NC1 = tr(Sigma_W Sigma_B^+) / C with the rank-(C-1) pseudo-inverse (Zhu et al. 2021, rhubarbwu); pass
  ``divide_by_classes=False`` for the colab's tr(Sigma_W Sigma_B^+). `nc1_trace_ratio` is Tirer et al.'s
  tr Sigma_W / tr Sigma_B.
* NC2: `equinorm` (coefficient of variation of row norms, unbiased std as ``torch.std``), `equiangularity`
  (mean |cos + 1/(C-1)| over pairs), and the Gram-matrix distances `etf_distance` (to a simplex ETF, Zhu et al.) and
  `orthogonal_frame_distance` (to an orthogonal frame, Dang et al. 2023: what bias-free MSE training reaches).
* NC3: `self_duality` = ||W/||W||_F - M~/||M~||_F||_F^2 (squared, as the colab).
* NC4: `ncc_mismatch`, the fraction of samples where the classifier disagrees with the nearest class centre.

Every function works on ONE run and is pure JAX (jit- and vmap-able), so ``jax.vmap`` batches it over runs; every
class must occur at least once (``num_classes`` is static).

References:
    Papyan, Han & Donoho (2020), PNAS 117(40); Han, Papyan & Donoho (2022), ICLR, "Neural collapse under MSE loss";
    Zhu et al. (2021), NeurIPS; Dang et al. (2023), ICML; Tirer, Huang & Niles-Weed (2023), ICML.

Engine observables (`CollapseMetrics`, `FeatureSpectrum`, `WithinClassScatter`, `ClassifierGram`) record them over
training from the penultimate features of an MLP or a deep linear network (`penultimate`).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from layerwise.observables import Observable

NC_METRICS = (
    "nc1", "nc1_trace_ratio", "equinorm_means", "equinorm_classifier", "equiangularity_means",
    "equiangularity_classifier", "etf_distance_means", "etf_distance_classifier", "orthogonal_frame_distance_means",
    "orthogonal_frame_distance_classifier", "self_duality", "ncc_mismatch",
)
"""Names, in order, of the entries of `neural_collapse_metrics` (and of the stacked vector of `nc_vector`)."""


def class_means(features: Array, labels: Array, num_classes: int) -> Array:
    r"""Class means ``mu_c = mean_{i: y_i = c} h_i``; ``features`` (N, d), ``labels`` (N,) int -> (C, d)."""
    indicator = jax.nn.one_hot(labels, num_classes, dtype=features.dtype)
    return (indicator.T @ features) / jnp.sum(indicator, axis=0)[:, None]


def _centred_means(features, labels, num_classes):
    means = class_means(features, labels, num_classes)
    return means, means - jnp.mean(means, axis=0)


def _normalised_gram(vectors):
    gram = vectors @ vectors.T
    return gram / jnp.linalg.norm(gram)


def nc1(features: Array, labels: Array, num_classes: int, *, divide_by_classes: bool = True) -> Array:
    r"""NC1 = tr(Sigma_W Sigma_B^+) / C: within-class variability against between-class separation (0 at collapse).

    Sigma_B^+ is the pseudo-inverse on the top ``min(C-1, d)`` eigen-directions of Sigma_B (``svds(Sb, k=C-1)`` in
    the colab); directions with singular value below ``eps * max(C, d)`` of the largest are dropped, as in
    ``pinv``. Computed from the SVD ``M~ = U S V^T`` without forming d x d matrices:
    ``tr(Sigma_W Sigma_B^+) = C/N sum_k ||(H - M_y) v_k||^2 / s_k^2``.

    Args:
        features: (N, d); labels: (N,) int in ``0..C-1``; num_classes: C (static).
        divide_by_classes: True (default) for tr(Sigma_W Sigma_B^+)/C (Zhu et al. 2021, rhubarbwu); False for the
            Papyan et al. colab's tr(Sigma_W Sigma_B^+).
    Returns:
        scalar.
    """
    means, centred = _centred_means(features, labels, num_classes)
    deviations = features - means[labels]
    _, s, vt = jnp.linalg.svd(centred, full_matrices=False)
    rank = min(num_classes - 1, features.shape[1])
    s, vt = s[:rank], vt[:rank]
    tol = jnp.finfo(features.dtype).eps * max(num_classes, features.shape[1]) * s[0]
    keep = s > tol
    inverse = jnp.where(keep, 1.0 / jnp.where(keep, s, 1.0) ** 2, 0.0)
    projected = jnp.sum((deviations @ vt.T) ** 2, axis=0) / features.shape[0]  # v_k^T Sigma_W v_k
    value = jnp.sum(projected * inverse)  # = tr(Sigma_W Sigma_B^+) / C
    return value if divide_by_classes else num_classes * value


def nc1_trace_ratio(features: Array, labels: Array, num_classes: int) -> Array:
    r"""tr(Sigma_W) / tr(Sigma_B) (Tirer et al. 2023's NC1 "quotient"); scalar."""
    means, centred = _centred_means(features, labels, num_classes)
    within = jnp.sum((features - means[labels]) ** 2) / features.shape[0]
    return within / (jnp.sum(centred**2) / num_classes)


def equinorm(vectors: Array) -> Array:
    r"""NC2 equinorm: std_c ||v_c|| / mean_c ||v_c|| (unbiased std, ddof = 1) of the rows of ``vectors`` (C, d).

    Pass centred class means ``M~`` (Papyan) or classifier rows ``W``; 0 when all norms are equal.
    """
    norms = jnp.linalg.norm(vectors, axis=1)
    return jnp.std(norms, ddof=1) / jnp.mean(norms)


def equiangularity(vectors: Array) -> Array:
    r"""NC2 equiangularity (the colab's ``coherence``): ``1/(C(C-1)) sum_{c != c'} |cos(v_c, v_c') + 1/(C-1)|``.

    0 for a simplex ETF; an orthogonal frame gives 1/(C-1).
    """
    count = vectors.shape[0]
    unit = vectors / jnp.linalg.norm(vectors, axis=1, keepdims=True)
    cosines = unit @ unit.T
    off_diagonal = 1.0 - jnp.eye(count, dtype=vectors.dtype)
    return jnp.sum(off_diagonal * jnp.abs(cosines + 1.0 / (count - 1))) / (count * (count - 1))


def etf_distance(vectors: Array) -> Array:
    r"""Distance of the rows' Gram matrix to a simplex ETF (Zhu et al. 2021's NC2):
    ``|| V V^T / ||V V^T||_F - (I - 11^T/C) / sqrt(C-1) ||_F``; 0 exactly for a (scaled, rotated) simplex ETF."""
    count = vectors.shape[0]
    etf = (jnp.eye(count, dtype=vectors.dtype) - 1.0 / count) / jnp.sqrt(count - 1.0)
    return jnp.linalg.norm(_normalised_gram(vectors) - etf)


def orthogonal_frame_distance(vectors: Array) -> Array:
    r"""Distance of the rows' Gram matrix to an orthogonal frame (Dang et al. 2023):
    ``|| V V^T / ||V V^T||_F - I / sqrt(C) ||_F``; 0 exactly for equal-norm orthogonal rows."""
    count = vectors.shape[0]
    return jnp.linalg.norm(_normalised_gram(vectors) - jnp.eye(count, dtype=vectors.dtype) / jnp.sqrt(count * 1.0))


def self_duality(classifier: Array, means: Array) -> Array:
    r"""NC3: ``|| W / ||W||_F - M / ||M||_F ||_F^2`` (squared, the colab's convention), ``W`` and ``M`` both (C, d).

    Pass centred means ``M~`` for Papyan's NC3; uncentred means for the bias-free (orthogonal-frame) case.
    """
    return jnp.sum((classifier / jnp.linalg.norm(classifier) - means / jnp.linalg.norm(means)) ** 2)


def ncc_mismatch(features: Array, classifier: Array, bias: Array, means: Array) -> Array:
    r"""NC4: fraction of samples where ``argmax_c (W h + b)_c != argmin_c ||h - mu_c||`` (nearest class centre)."""
    predicted = jnp.argmax(features @ classifier.T + bias, axis=1)
    distances = jnp.sum(features**2, axis=1, keepdims=True) - 2 * features @ means.T + jnp.sum(means**2, axis=1)
    return jnp.mean((predicted != jnp.argmin(distances, axis=1)).astype(features.dtype))


def neural_collapse_metrics(features: Array, labels: Array, classifier: Array, bias: Array | None,
                            num_classes: int) -> dict[str, Array]:
    r"""All NC metrics of one run, keyed by `NC_METRICS`.

    ``*_means`` use centred class means ``M~`` for equinorm, equiangularity, the ETF distance and NC3 (Papyan), and
    uncentred means ``M`` for the orthogonal-frame distance (Dang); ``*_classifier`` use the rows of ``W``.

    Args:
        features: (N, d); labels: (N,) int; classifier: W (C, d); bias: b (C,) or None (zero); num_classes: C.
    Returns:
        dict of scalars.
    """
    means, centred = _centred_means(features, labels, num_classes)
    bias = jnp.zeros(num_classes, features.dtype) if bias is None else bias
    return {
        "nc1": nc1(features, labels, num_classes),
        "nc1_trace_ratio": nc1_trace_ratio(features, labels, num_classes),
        "equinorm_means": equinorm(centred),
        "equinorm_classifier": equinorm(classifier),
        "equiangularity_means": equiangularity(centred),
        "equiangularity_classifier": equiangularity(classifier),
        "etf_distance_means": etf_distance(centred),
        "etf_distance_classifier": etf_distance(classifier),
        "orthogonal_frame_distance_means": orthogonal_frame_distance(means),
        "orthogonal_frame_distance_classifier": orthogonal_frame_distance(classifier),
        "self_duality": self_duality(classifier, centred),
        "ncc_mismatch": ncc_mismatch(features, classifier, bias, means),
    }


def nc_vector(features: Array, labels: Array, classifier: Array, bias: Array | None, num_classes: int) -> Array:
    """`neural_collapse_metrics` stacked in the order of `NC_METRICS`, shape (len(NC_METRICS),): an engine
    observable's value (record it with dims ``("nc_metric",)``)."""
    values = neural_collapse_metrics(features, labels, classifier, bias, num_classes)
    return jnp.stack([values[name] for name in NC_METRICS])


def mse_decomposition(features: Array, labels: Array, classifier: Array, bias: Array, num_classes: int,
                      weight_decay=0.0) -> dict[str, Array]:
    r"""Han, Papyan & Donoho (2022)'s split of the regularised MSE into NC1, NC2/3 and "perpendicular" parts.

    With ``w~ = [W, b]`` (C, d+1), ``h~ = [h; 1]`` and one-hot targets ``e_y``, the objective

        L = 1/2 mean_i ||W h_i + b - e_{y_i}||^2 + lambda/2 (||W||_F^2 + ||b||^2)
          = L_NC1 + L_NC2/3 + L_perp    (an exact identity),

    where ``w~_LS = [W_LS, b_LS] = B A^{-1}`` is the least-squares classifier for these features
    (``A = mean_i h~_i h~_i^T + lambda I``, ``B = mean_i e_{y_i} h~_i^T``), and

        L_NC1   = 1/2 [tr(W_LS Sigma_W W_LS^T) + lambda ||w~_LS||^2],
        L_NC2/3 = 1/2 sum_c pi_c ||W_LS mu_c + b_LS - e_c||^2          (pi_c = class frequency),
        L_perp  = 1/2 tr((w~ - w~_LS) A (w~ - w~_LS)^T).

    For balanced classes (pi_c = 1/C) these are Han, Papyan & Donoho (2022)'s formulas; we build ``A`` and ``B`` from
    the samples, so the identity also holds for imbalanced classes. The Han et al. colab's ``weight_decay`` is
    ``2 lambda``.

    Args:
        features (N, d), labels (N,), classifier W (C, d), bias b (C,), num_classes C,
        weight_decay: lambda >= 0 (scalar).
    Returns:
        dict with ``total``, ``nc1``, ``nc2_3``, ``perpendicular`` (scalars; ``total`` = the sum of the others up
        to rounding).
    """
    n, d = features.shape
    dtype = features.dtype
    targets = jax.nn.one_hot(labels, num_classes, dtype=dtype)
    augmented = jnp.concatenate([features, jnp.ones((n, 1), dtype)], axis=1)
    a = augmented.T @ augmented / n + weight_decay * jnp.eye(d + 1, dtype=dtype)
    b_matrix = targets.T @ augmented / n
    least_squares = jnp.linalg.solve(a, b_matrix.T).T  # B A^{-1}, A symmetric
    w_ls, b_ls = least_squares[:, :d], least_squares[:, d]
    means = class_means(features, labels, num_classes)
    frequencies = jnp.mean(targets, axis=0)
    deviations = features - means[labels]
    within = 0.5 * (jnp.sum((deviations @ w_ls.T) ** 2) / n + weight_decay * jnp.sum(least_squares**2))
    between = 0.5 * jnp.sum(frequencies * jnp.sum((means @ w_ls.T + b_ls - jnp.eye(num_classes, dtype=dtype)) ** 2,
                                                  axis=1))
    w_tilde = jnp.concatenate([classifier, bias[:, None]], axis=1)
    gap = w_tilde - least_squares
    perpendicular = 0.5 * jnp.sum((gap @ a) * gap)
    residual = features @ classifier.T + bias - targets
    total = 0.5 * jnp.sum(residual**2) / n + 0.5 * weight_decay * jnp.sum(w_tilde**2)
    return {"total": total, "nc1": within, "nc2_3": between, "perpendicular": perpendicular}


# ------------------------------------------------------------------------------------------ engine observables
# The labels of a run are read from its (one-hot) targets, ``argmax(task.y)``, so one observable serves a batch
# of tasks (``train(..., task_batched=True)``) and compiles once per kind.


def penultimate(model, params, x: Array) -> tuple[Array, Array, Array | None]:
    r"""``(features, classifier, bias)`` of a network whose last layer is linear: the penultimate-layer features
    ``H`` (n, d) on inputs ``x``, the effective classifier ``W`` (C, d) and bias ``b`` (C,) (``None`` without one),
    both times the model's ``output_scale``, so that ``f(x) = H W^T + b``.

    A `layerwise.models.MLP` gives ``model.features``; a `layerwise.models.DeepLinearNetwork` the product of all
    but its last layer (the unconstrained-features model is a two-layer one: ``H = X W_1^T``, Mixon et al. 2020).
    """
    from layerwise.models import MLP, DeepLinearNetwork

    if isinstance(model, MLP):
        classifier, bias = params[-1]
        bias = model.output_scale * bias if model.bias else None
        return model.features(params, x), model.output_scale * classifier, bias
    if isinstance(model, DeepLinearNetwork):
        layers = model.layers(params)
        features = x
        for w in layers[:-1]:
            features = features @ w.T
        return features, model.output_scale * layers[-1], None
    raise TypeError(f"penultimate needs an MLP or a DeepLinearNetwork, got {type(model).__name__}")


def _labels(task) -> Array:
    return jnp.argmax(task.y, axis=-1)


class CollapseMetrics(Observable):
    """Every NC metric (`nc_vector`, in the order of `NC_METRICS`) of the network's penultimate features on the
    training inputs, with the labels of its one-hot targets; ``(len(NC_METRICS),)``."""

    num_classes: int = eqx.field(static=True)
    dims: ClassVar = ("nc_metric",)

    def __call__(self, model, params, task) -> Array:
        features, classifier, bias = penultimate(model, params, task.x)
        return nc_vector(features, _labels(task), classifier, bias, self.num_classes)


class FeatureSpectrum(Observable):
    """Singular values of the penultimate features on the training inputs (descending), of ``H - mean(H)`` when
    ``centred``; the first ``count`` of them (all when None)."""

    centred: bool = eqx.field(static=True, default=False)
    count: int | None = eqx.field(static=True, default=None)
    dims: ClassVar = ("component",)

    def __call__(self, model, params, task) -> Array:
        features = penultimate(model, params, task.x)[0]
        if self.centred:
            features = features - jnp.mean(features, axis=0)
        return jnp.linalg.svd(features, compute_uv=False)[: self.count]


class WithinClassScatter(Observable):
    r"""``||H - M_y||_F``: the Frobenius norm of the features' deviations from their class means (scalar)."""

    num_classes: int = eqx.field(static=True)
    dims: ClassVar = ()

    def __call__(self, model, params, task) -> Array:
        features, labels = penultimate(model, params, task.x)[0], _labels(task)
        return jnp.linalg.norm(features - class_means(features, labels, self.num_classes)[labels])


class ClassifierGram(Observable):
    """Eigenvalues of ``W W^T`` (ascending) for the effective classifier ``W`` (C, d); ``(C,)``."""

    dims: ClassVar = ("class",)

    def __call__(self, model, params, task) -> Array:
        classifier = penultimate(model, params, task.x)[1]
        return jnp.linalg.eigvalsh(classifier @ classifier.T)
