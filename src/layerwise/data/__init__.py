"""Tasks (inputs, targets and sufficient statistics) and their generators."""

from layerwise.data.regression import diagonal_task, random_orthogonal, teacher_task, whiten, whitened_regression
from layerwise.data.task import Task

__all__ = ["Task", "diagonal_task", "random_orthogonal", "teacher_task", "whiten", "whitened_regression"]
