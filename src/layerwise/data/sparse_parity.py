r"""Multitask sparse parity (Michaud et al. 2023), the data of Nam et al. (2024)'s skill-basis model.

An input is ``x = (c, z)``: ``n_s`` one-hot *control bits* ``c`` choosing a skill ``k`` with probability

.. math::  p_k = k^{-(\alpha+1)} \Big/ \sum_{j=1}^{n_s} j^{-(\alpha+1)},

and ``n_b`` uniform *task bits* ``z in {0, 1}``. Skill ``k`` owns a random set ``B_k`` of ``m`` task bits (the sets are
disjoint); its *skill function* is

.. math::  g_k(x) = c_k\,\chi_k(z),\qquad \chi_k(z) = 2\Big(\sum_{i\in B_k} z_i \bmod 2\Big) - 1 \in \{\pm 1\},

and the label is ``y = S sum_k g_k(x)`` (``= S chi_k(z)`` for the active skill). The skill functions are orthogonal,
``E[g_k g_l] = delta_kl p_k`` (one-hot control), so the skill-basis model ``f = sum_k a_k b_k g_k`` is a diagonal
linear network on the features ``g(x)`` (`layerwise.models.DiagonalLinearNetwork` trained on `skill_features`).

Conventions follow the authors' code (``yoonsoonam119/Skill_Eigenmode``, ``data_generator.py``): bits are 0/1,
control bits come first, odd parity is ``+S``.

References:
    Michaud, Liu, Girit & Tegmark (2023), "The quantization model of neural scaling", NeurIPS.
    Nam, Fonseca, Lee, Mingard & Louis (2024), "An exactly solvable model for emergence and scaling laws in the
    multitask sparse parity problem", NeurIPS (arXiv 2404.17563).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from layerwise._deprecation import legacy_random_state, renamed_arguments
from layerwise.data.task import Task
from layerwise.errors import LayerwiseError, check_choice, check_positive, check_positive_int


@dataclasses.dataclass(frozen=True)
class MultitaskSparseParity:
    r"""One multitask sparse parity problem: its sizes and each skill's bits (a hashable, frozen value).

    `sample` and `sample_features` are pure, jittable ``(key, batch_size) -> (x, y)`` samplers (the engine calls
    ``task.sampler(fold_in(run_key, step), batch_size)`` inside jit). They are `FreshSampler` values, not bound
    methods (a bound method compares its problem by identity, so two equal problems' samplers would differ and
    recompile): equal problems give equal samplers, which share compiled code. The same key gives the same draw in
    both, so an MLP (on ``x``) and the skill-basis model (on ``g(x)``) trained with the same ``key`` see the same
    samples.

    Attributes:
        skill_bits: ``(n_s, m)`` task-bit indices of each skill (disjoint); make it with `sparse_parity_problem`.
        n_bits: number of task bits ``n_b``.
        alpha: Zipf exponent, ``p_k ∝ k^{-(alpha+1)}``.
        target_scale: ``S``, the label magnitude.
        dtype: ``"float64"`` or ``"float32"`` (inputs and labels).

    Example:
        >>> problem = sparse_parity_problem(jax.random.PRNGKey(0))  # n_s = 5, n_b = 32, m = 3, alpha = 0.6, S = 5
        >>> x, y = problem.sample(jax.random.PRNGKey(1), 4)         # x (4, 37), y (4, 1) in {-5, 5}
        >>> g = problem.skill_features(x)                           # (4, 5); y == 5 * g.sum(1, keepdims=True)
    """

    skill_bits: tuple[tuple[int, ...], ...]
    n_bits: int = 32
    alpha: float = 0.6
    target_scale: float = 5.0
    dtype: str = "float64"

    @property
    def n_skills(self) -> int:
        return len(self.skill_bits)

    @property
    def bits_per_skill(self) -> int:
        return len(self.skill_bits[0])

    @property
    def in_dim(self) -> int:
        """``n_s + n_b``: the MLP's input size."""
        return self.n_skills + self.n_bits

    @property
    def frequencies(self) -> np.ndarray:
        """``p_k``, shape (n_s,)."""
        # numpy (not layerwise.theory.skill_frequencies, a jnp function): a constant even inside jit.
        weights = np.arange(1, self.n_skills + 1, dtype=float) ** -(self.alpha + 1.0)
        return weights / weights.sum()

    def skill_mask(self) -> Array:
        """``(n_s, n_b)`` 0/1 matrix, row ``k`` marks the bits ``B_k``."""
        mask = np.zeros((self.n_skills, self.n_bits))
        for k, bits in enumerate(self.skill_bits):
            mask[k, list(bits)] = 1.0
        return jnp.asarray(mask, dtype=self.dtype)

    def skill_features(self, x: Array) -> Array:
        r"""The skill functions ``g_k(x) = c_k chi_k(z)`` for inputs ``x`` (..., n_s + n_b); returns (..., n_s)."""
        control, bits = x[..., : self.n_skills], x[..., self.n_skills:]
        parity = jnp.mod(bits @ self.skill_mask().T, 2.0)  # exact: small integer sums
        return control * (2.0 * parity - 1.0)

    def labels(self, x: Array) -> Array:
        r"""``y = S sum_k g_k(x)``, shape (n, 1)."""
        return self.target_scale * jnp.sum(self.skill_features(x), axis=1, keepdims=True)

    def inputs_from_words(self, words: Array, skill: int | None = None) -> Array:
        """Inputs (n, n_s + n_b) from random 32-bit words (n, n_b + 1): word 0 picks the skill by inverse CDF of
        ``p_k`` (or ``skill``, 0-indexed), the lowest bit of words 1..n_b are the task bits. One threefry call per
        batch keeps the sampler cheap to compile."""
        if skill is None:
            uniform = words[:, 0].astype(jnp.float64) * 2.0**-32
            edges = jnp.asarray(np.cumsum(self.frequencies)[:-1])
            skills = jnp.searchsorted(edges, uniform, side="right")
        else:
            skills = jnp.full(words.shape[:1], skill)
        bits = (words[:, 1:] & 1).astype(self.dtype)
        return jnp.concatenate([jax.nn.one_hot(skills, self.n_skills, dtype=self.dtype), bits], axis=1)

    def inputs(self, key: Array, size: int, skill: int | None = None) -> Array:
        """``size`` fresh inputs (size, n_s + n_b): skills drawn from ``p_k`` (or all ``skill``, 0-indexed)."""
        return self.inputs_from_words(jax.random.bits(key, (size, self.n_bits + 1), jnp.uint32), skill)

    def inputs_from_keys(self, keys: Array) -> Array:
        """One input per key (keys (n, 2)) -> (n, n_s + n_b): every sample is a function of its own key, so a fixed
        data set can be re-drawn by index."""
        words = jax.vmap(lambda key: jax.random.bits(key, (self.n_bits + 1,), jnp.uint32))(keys)
        return self.inputs_from_words(words)

    @property
    def sample(self) -> "FreshSampler":
        """``sample(key, batch_size) -> (x, y)``, fresh samples: x (batch_size, n_s + n_b), y (batch_size, 1). Pure
        and jittable; a `FreshSampler`, equal for equal problems."""
        return FreshSampler(self)

    @property
    def sample_features(self) -> "FreshSampler":
        """``sample_features(key, batch_size) -> (g(x), y)``: the same draw as `sample` (same key) in the skill basis,
        g (batch_size, n_s); a `FreshSampler`, equal for equal problems."""
        return FreshSampler(self, features=True)

    @renamed_arguments(seed="key")
    def dataset(self, key: Array, size: int) -> tuple[Array, Array]:
        """The fixed training set ``(x, y)`` of ``size`` samples (the ``D`` of data emergence) drawn from ``key``:
        sample ``i`` is drawn from ``fold_in(key, i)``, so `dataset_sampler` re-draws the same set. An integer seed
        ``s`` (the earlier spelling, ``PRNGKey(s)``) still works for one release and warns."""
        check_positive_int("size", size)
        words = _key_data("MultitaskSparseParity.dataset", key)
        return _draw_dataset(self, jnp.asarray(words, jnp.uint32), int(size))

    @renamed_arguments(seed="key")
    def dataset_skills(self, key: Array, size: int) -> Array:
        """The skill (0-indexed) of each sample of ``dataset(key, size)``, shape (size,). Data sets with one key
        are nested: ``dataset(key, D)`` is the first ``D`` samples of any larger one."""
        words = _key_data("MultitaskSparseParity.dataset_skills", key)
        x, _ = _draw_dataset(self, jnp.asarray(words, jnp.uint32), int(size))  # the program `dataset` compiles
        return jnp.asarray(np.argmax(np.asarray(x)[:, : self.n_skills], axis=1))

    @renamed_arguments(seed="key")
    def dataset_sampler(self, key: Array, size: int, features: bool = False) -> "FixedDatasetSampler":
        """A sampler drawing mini-batches uniformly, with replacement, from ``dataset(key, size)`` (or, given a
        smaller ``size`` at call time, from its first ``size`` samples: the nested ``dataset(key, size)``)."""
        check_positive_int("size", size)
        words = _key_data("MultitaskSparseParity.dataset_sampler", key)
        return FixedDatasetSampler(self, words, int(size), bool(features))

    def evaluation_sets(self, key: Array, size: int) -> tuple[Array, Array]:
        """Held-out per-skill sets: x (n_s, size, n_s + n_b), y (n_s, size, 1); set ``k`` has only skill ``k``."""
        check_positive_int("size", size)
        return _evaluation_sets(self, key, int(size))

    def online_task(self, key: Array, evaluation_size: int = 1000, features: bool = False) -> Task:
        """A `Task` drawing fresh samples each step (``sampler``), with ``evaluation_size`` held-out samples as
        ``x, y``; ``features=True`` gives the skill-basis view (inputs ``g(x)``)."""
        sampler = self.sample_features if features else self.sample
        x, y = sampler(key, evaluation_size)
        return Task.from_samples(x, y, sampler=sampler)


@dataclasses.dataclass(frozen=True)
class FreshSampler:
    r"""``sampler(key, batch_size) -> (x, y)``: ``batch_size`` fresh samples of ``problem`` drawn from ``key`` (x
    (batch_size, n_s + n_b), y (batch_size, 1)); with ``features=True`` ``(g(x), y)`` for the skill-basis model, the
    same draw. Frozen, so it compares and hashes by value: the samplers of equal problems are equal, and a `Task`
    holding one (a static part of the engine's compiled program) reuses the program compiled for the other. Made by
    `MultitaskSparseParity.sample` and `MultitaskSparseParity.sample_features`.

    Example:
        >>> a, b = sparse_parity_problem(jax.random.PRNGKey(0)), sparse_parity_problem(jax.random.PRNGKey(0))
        >>> a.sample == b.sample and hash(a.sample) == hash(b.sample) and a.sample != a.sample_features
        True
        >>> x, y = a.sample(jax.random.PRNGKey(1), 4)                   # x (4, 37), y (4, 1)
        >>> g, y_g = a.sample_features(jax.random.PRNGKey(1), 4)        # g (4, 5) == a.skill_features(x); y_g == y
    """

    problem: MultitaskSparseParity
    features: bool = False

    def __call__(self, key: Array, batch_size: int) -> tuple[Array, Array]:
        x, y = _draw(self.problem, key, batch_size)
        return (_skill_features(self.problem, x) if self.features else x), y


# Eager callers (a Task's first samples, evaluation sets, skill counts) get one compiled program per problem and size
# instead of one per jnp operation; inside a trace (the engine's step) these inline into the caller's program.
# (`sample` and `sample_features` share one: the features are a second, small program.)
@functools.partial(jax.jit, static_argnums=(0, 2))
def _draw(problem: MultitaskSparseParity, key: Array, batch_size: int) -> tuple[Array, Array]:
    x = problem.inputs(key, batch_size)
    return x, problem.labels(x)


@functools.partial(jax.jit, static_argnums=0)
def _skill_features(problem: MultitaskSparseParity, x: Array) -> Array:
    return problem.skill_features(x)


@functools.partial(jax.jit, static_argnums=(0, 2))
def _evaluation_sets(problem: MultitaskSparseParity, key: Array, size: int) -> tuple[Array, Array]:
    # vmapped over the skills' keys: one threefry hash in the program, the same bits as one draw per key
    words = jax.vmap(lambda k: jax.random.bits(k, (size, problem.n_bits + 1), jnp.uint32))(
        jax.random.split(key, problem.n_skills))
    x = jax.vmap(problem.inputs_from_words)(words, jnp.arange(problem.n_skills))
    return x, jax.vmap(problem.labels)(x)


@functools.partial(jax.jit, static_argnums=(0, 2))
def _draw_dataset(problem: MultitaskSparseParity, words: Array, size: int) -> tuple[Array, Array]:
    x = problem.inputs_from_keys(_index_keys(words, jnp.arange(size)))
    return x, problem.labels(x)


def _key_data(function: str, key) -> tuple[int, ...]:
    """The raw 32-bit words of a data set's key, as a tuple (so a `FixedDatasetSampler` hashes by value); an integer
    seed ``s`` (the earlier spelling) warns and stands for ``PRNGKey(s)``."""
    if legacy_random_state(function, key):
        key = jax.random.PRNGKey(int(key))
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return tuple(int(word) for word in np.asarray(key, np.uint32).ravel())


def _index_keys(key_data: tuple[int, ...] | Array, index: Array) -> Array:
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(jnp.asarray(key_data, jnp.uint32), index)


@dataclasses.dataclass(frozen=True)
class FixedDatasetSampler:
    r"""``sampler(key, batch_size[, size]) -> (x, y)``: ``batch_size`` samples drawn uniformly with replacement from
    the fixed set ``problem.dataset(data_key, size)`` (re-drawn by index, never stored: a mini-batch costs the same for
    any ``size``), where ``key_data`` holds the raw words of ``data_key``. With ``features=True`` it returns
    ``(g(x), y)`` for the skill-basis model. Frozen, so it hashes by value; made by
    `MultitaskSparseParity.dataset_sampler`.

    The call's ``size`` (an integer array, may be traced; at most the sampler's ``size``) draws from the first ``size``
    samples instead, which is ``dataset(data_key, size)`` since data sets of one key are nested. Passed per run as a
    task's ``sampler_args`` (`Task.from_samples`), it trains every data-set size in one compiled program. Given
    ``inputs``, the set's inputs ``dataset(data_key, sampler.size)[0]`` (another per-run argument), the batch's rows
    are gathered from them instead of re-drawn: the same batch (bit for bit), and a training step that compiles and
    runs without two threefry hashes per sample, for ``size x (n_s + n_b)`` numbers held per run.

    Example:
        >>> problem = sparse_parity_problem(jax.random.PRNGKey(0))
        >>> data_key = jax.random.PRNGKey(3)
        >>> sampler = problem.dataset_sampler(data_key, 100)
        >>> x, y = sampler(jax.random.PRNGKey(1), 8, jnp.asarray(10))   # 8 draws from dataset(data_key, 10)
        >>> bool(jnp.all(jnp.any(jnp.all(x[:, None] == problem.dataset(data_key, 10)[0][None], -1), 1)))
        True
    """

    problem: MultitaskSparseParity
    key_data: tuple[int, ...]
    size: int
    features: bool = False

    def __post_init__(self):
        if not isinstance(self.key_data, tuple):  # an integer seed, the earlier field
            object.__setattr__(self, "key_data", _key_data("FixedDatasetSampler", self.key_data))

    def __call__(self, key: Array, batch_size: int, size: Array | None = None,
                 inputs: Array | None = None) -> tuple[Array, Array]:
        index = jax.random.randint(key, (batch_size,), 0, self.size if size is None else jnp.minimum(size, self.size))
        if inputs is not None and inputs.shape != (self.size, self.problem.in_dim):
            raise LayerwiseError(f"inputs must be the data set's inputs, shape {(self.size, self.problem.in_dim)}; "
                                 f"got {tuple(inputs.shape)}")
        x = self.problem.inputs_from_keys(_index_keys(self.key_data, index)) if inputs is None else inputs[index]
        y = self.problem.labels(x)
        return (self.problem.skill_features(x) if self.features else x), y


@renamed_arguments(seed="key")
def sparse_parity_problem(
    key: Array | int,
    n_skills: int = 5,
    n_bits: int = 32,
    bits_per_skill: int = 3,
    alpha: float = 0.6,
    target_scale: float = 5.0,
    dtype: str = "float64",
) -> MultitaskSparseParity:
    """A multitask sparse parity problem whose disjoint skill bit sets ``B_k`` are drawn from ``key``.

    An integer seed ``s`` (the earlier spelling) still works for one release as ``PRNGKey(s)`` and warns.

    Defaults are the authors' (Nam et al. 2024; ``yoonsoonam119/Skill_Eigenmode``): n_s = 5, n_b = 32, m = 3,
    alpha = 0.6, S = 5.
    """
    check_positive_int("n_skills", n_skills)
    check_positive_int("n_bits", n_bits)
    check_positive_int("bits_per_skill", bits_per_skill)
    check_positive("alpha", alpha, allow_zero=True)
    check_positive("target_scale", target_scale)
    check_choice("dtype", dtype, ("float32", "float64"))
    if n_skills * bits_per_skill > n_bits:
        raise LayerwiseError(
            f"n_bits must be >= n_skills * bits_per_skill = {n_skills * bits_per_skill} (disjoint skills); got {n_bits}"
        )
    if legacy_random_state("sparse_parity_problem", key):
        key = jax.random.PRNGKey(int(key))
    chosen = np.asarray(_permutation(key, n_bits))[: n_skills * bits_per_skill]
    skill_bits = tuple(tuple(sorted(int(i) for i in row)) for row in chosen.reshape(n_skills, bits_per_skill))
    return MultitaskSparseParity(skill_bits, n_bits, float(alpha), float(target_scale), dtype)


_permutation = jax.jit(jax.random.permutation, static_argnums=1)  # one program, not three


def one_skill_tasks(frequencies, target_scale: float) -> Task:
    r"""The skill-basis model's population loss split into one-skill tasks, one per run (a ``task_batched`` Task):
    ``E[g^2] = p_k``, ``E[g y] = S p_k``, ``E[y^2] = S^2 p_k``. Since ``E[g_k g_l] = delta_kl p_k`` the loss
    ``1/2 sum_k p_k (S - a_k b_k)^2`` is the sum of these runs' losses, so training a one-unit
    `DiagonalLinearNetwork` on them is the full model's GD coordinate by coordinate (Nam et al. 2024)."""
    p = jnp.asarray(frequencies, dtype=jnp.float64)
    return Task(input_covariance=p[:, None, None], cross_covariance=target_scale * p[:, None, None],
                output_second_moment=target_scale * target_scale * p)
