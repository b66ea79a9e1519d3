"""Models: frozen dataclasses of hyperparameters with a pure ``apply(params, x)``; params are plain pytrees.

Linear models also provide ``end_to_end(params)``, the matrix ``W`` with ``f(x) = W x``; the engine uses it to train
from sufficient statistics alone.
"""

from layerwise.models.deep_linear import DeepLinearNetwork
from layerwise.models.diagonal import DiagonalLinearNetwork
from layerwise.models.embedding_mlp import EmbeddingMLP, embedding_mlp_init
from layerwise.models.mlp import MLP, mlp_init

__all__ = ["EmbeddingMLP", "embedding_mlp_init", "DeepLinearNetwork", "DiagonalLinearNetwork", "MLP", "mlp_init"]
