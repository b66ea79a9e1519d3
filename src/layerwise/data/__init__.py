"""Tasks (inputs, targets and sufficient statistics) and their generators."""

from layerwise.data.images import (
    accuracy,
    classification_task,
    image_split,
    digit_benchmarks,
    load_digits,
    load_mnist,
    mnist_directory,
    one_hot,
    read_idx,
    standardise,
    train_test_split,
    unconstrained_features_task,
    write_idx,
)
from layerwise.data.regression import (
    diagonal_task, haar_orthogonal, random_orthogonal, teacher_task, whiten, whitened_regression)
from layerwise.data.mnist1d import make_mnist1d
from layerwise.data.task import Task, stack_tasks
from layerwise.data.sparse_parity import (
    FixedDatasetSampler, FreshSampler, MultitaskSparseParity, one_skill_tasks, sparse_parity_problem,
)
from layerwise.data.modular import modular_addition, modular_addition_task

__all__ = [
    "FixedDatasetSampler", "FreshSampler", "MultitaskSparseParity", "one_skill_tasks", "sparse_parity_problem",
    "modular_addition", "modular_addition_task",
    "make_mnist1d",
    "Task", "stack_tasks",
    "accuracy",
    "classification_task",
    "image_split",
    "digit_benchmarks",
    "load_digits",
    "load_mnist",
    "mnist_directory",
    "one_hot",
    "read_idx",
    "standardise",
    "train_test_split",
    "unconstrained_features_task",
    "write_idx",
    "diagonal_task", "haar_orthogonal", "random_orthogonal", "teacher_task", "whiten", "whitened_regression"]
