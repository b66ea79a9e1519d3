"""The conserved imbalance has one sign for both model families (the later layer minus the earlier one): it is what
the inits set (``-C`` of a diagonal mode, ``λ I`` of a λ-balanced net) and gradient flow keeps it."""

import jax
import jax.numpy as jnp
import numpy as np

from layerwise import data, init, metrics, observables, theory
from layerwise.engine import gradient_flow
from layerwise.models import DeepLinearNetwork, DiagonalLinearNetwork

IMBALANCE = {"D": observables.ImbalanceLaterMinusEarlier()}
TIMES = np.linspace(0.0, 4.0, 9)


def test_one_sign_for_a_diagonal_mode_and_the_same_weights_as_a_deep_linear_net():
    a, b = 0.5, 2.0
    diagonal = metrics.imbalance_later_minus_earlier(DiagonalLinearNetwork(dim=1), jnp.array([[a], [b]]))
    deep = metrics.imbalance_later_minus_earlier(DeepLinearNetwork(widths=(1, 1, 1)),
                                                (jnp.array([[a]]), jnp.array([[b]])))
    assert float(diagonal[0, 0]) == float(deep[0, 0, 0]) == b**2 - a**2  # later heavier: positive, in both families


def test_diagonal_net_keeps_minus_its_mode_imbalance_under_flow():
    model = DiagonalLinearNetwork(dim=3, depth=2)
    mode_imbalance = jnp.array([-1.0, 0.0, 2.5])  # C = a^2 - b^2, the first layer minus the second
    params = init.balanced_diagonal_init(model, jnp.array([1e-2, 0.1, 0.3]), mode_imbalance)
    np.testing.assert_allclose(metrics.imbalance_later_minus_earlier(model, params)[0], -mode_imbalance, atol=1e-14)
    flow = gradient_flow(model, params[None], data.diagonal_task([2.0, 1.0, 0.5]), TIMES,
                         observables={**IMBALANCE, "u": observables.EndToEnd()})
    history = flow.history.D.values[0, :, 0]  # (time, dim)
    assert np.max(np.abs(history - history[0])) < 1e-9
    np.testing.assert_allclose(history[-1], -mode_imbalance, atol=1e-9)
    assert np.min(np.abs(flow.history.u.values[0, -1] - flow.history.u.values[0, 0])) > 0.1  # the flow moved


def test_lambda_balanced_net_keeps_its_lambda_under_flow(key):
    model = DeepLinearNetwork(widths=(3, 2, 2))
    params = init.lambda_balanced_init(key, model, 0.2, imbalance=0.7)
    np.testing.assert_allclose(metrics.imbalance_later_minus_earlier(model, params)[0], 0.7 * np.eye(2), atol=1e-12)
    np.testing.assert_allclose(metrics.imbalance_later_minus_earlier(model, params)[0],
                               theory.balance(*params), atol=1e-14)  # the closed-form module's conserved matrix
    task, _, _ = data.teacher_task(jax.random.PRNGKey(1), [2.0, 1.0], in_dim=3, out_dim=2)
    batched = jax.tree_util.tree_map(lambda leaf: leaf[None], params)
    flow = gradient_flow(model, batched, task, TIMES, observables={**IMBALANCE, "W": observables.EndToEnd()})
    history = flow.history.D.values[0, :, 0]  # (time, h, h)
    assert np.max(np.abs(history - 0.7 * np.eye(2))) < 1e-9
    assert np.linalg.norm(flow.history.W.values[0, -1] - flow.history.W.values[0, 0]) > 0.1  # the flow moved
