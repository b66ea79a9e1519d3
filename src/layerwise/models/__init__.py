"""Models: `equinox.Module` pytrees with a pure ``apply(params, x)``; params are a separate pytree.

Every model follows the `Model` contract (apply, layers, param shapes, Gaussian init); a `LinearModel` also has
``end_to_end(params)``, the matrix ``W`` with ``f(x) = W x``, which lets the engine train it from sufficient
statistics. `REGISTRY` holds a small example of each model: the contract tests run over all of them, so a new model
gets them by being registered with `register`.
"""

from typing import Callable

from layerwise.models.base import LinearModel, Model
from layerwise.models.deep_linear import DeepLinearNetwork
from layerwise.models.diagonal import DiagonalLinearNetwork
from layerwise.models.embedding_mlp import EmbeddingMLP, embedding_mlp_init
from layerwise.models.mlp import MLP, mlp_init
from layerwise.models.transformer import Transformer, transformer_init

REGISTRY: dict[str, Callable[[], Model]] = {}
"""Model name -> a function returning a small example instance (what the contract tests exercise)."""


def register(name: str, example: Callable[[], Model]) -> None:
    """Register a model class by a small example of it, so the contract tests cover it."""
    if name in REGISTRY:
        raise ValueError(f"model {name!r} is registered twice")
    REGISTRY[name] = example


register("diagonal-depth-2", lambda: DiagonalLinearNetwork(dim=3, depth=2))
register("diagonal-depth-3", lambda: DiagonalLinearNetwork(dim=4, depth=3, output_scale=0.5))
register("deep-linear-2", lambda: DeepLinearNetwork(widths=(4, 3, 2)))
register("deep-linear-3", lambda: DeepLinearNetwork(widths=(3, 5, 4, 2), output_scale=2.0))
register("mlp-relu", lambda: MLP(widths=(4, 6, 3), activation="relu"))
register("mlp-tanh-nobias", lambda: MLP(widths=(3, 5, 5, 2), activation="tanh", bias=False, output_scale=0.5))
register("embedding-mlp", lambda: EmbeddingMLP(vocab_size=5, context=2, width=6, out_dim=5))
register("transformer", lambda: Transformer(vocab_size=5, context=2, d_model=8, heads=2, d_mlp=12, out_dim=5))

__all__ = ["REGISTRY", "DeepLinearNetwork", "DiagonalLinearNetwork", "EmbeddingMLP", "LinearModel", "MLP", "Model",
           "Transformer",
           "embedding_mlp_init", "mlp_init", "register", "transformer_init"]
