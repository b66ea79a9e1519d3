"""Tasks (inputs, targets and sufficient statistics) and their generators."""

from layerwise.data.images import (
    accuracy,
    classification_task,
    load_digits,
    load_mnist,
    mnist_directory,
    one_hot,
    read_idx,
    train_test_split,
    write_idx,
)
from layerwise.data.regression import diagonal_task, random_orthogonal, teacher_task, whiten, whitened_regression
from layerwise.data.task import Task

__all__ = [
    "Task",
    "accuracy",
    "classification_task",
    "load_digits",
    "load_mnist",
    "mnist_directory",
    "one_hot",
    "read_idx",
    "train_test_split",
    "write_idx",
    "diagonal_task", "random_orthogonal", "teacher_task", "whiten", "whitened_regression"]
