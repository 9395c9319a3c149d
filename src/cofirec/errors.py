"""Exceptions raised by cofirec.

Every error a user can cause derives from :class:`CofirecError`; the CLI prints its message as one line
and exits non-zero, so messages must name the problem (file and line, column, id, parameter).
"""

from __future__ import annotations


class CofirecError(Exception):
    """Base class of all errors that cofirec reports to its users."""


class DataError(CofirecError, ValueError):
    """Input data is malformed, empty or inconsistent (the message names the file and line)."""


class DatasetNotFoundError(CofirecError, FileNotFoundError):
    """A named dataset is not available locally and could not be downloaded."""


class UnknownIdError(CofirecError, KeyError):
    """A raw user or item id is not in the model's or dataset's vocabulary."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class NotFittedError(CofirecError, RuntimeError):
    """A model was used before ``fit`` (or ``load``)."""


class ConfigError(CofirecError, ValueError):
    """An unknown model, unknown parameter or a parameter of the wrong type or range."""


class MissingDependencyError(ConfigError, ImportError):
    """An optional package (PyTorch, Optuna, matplotlib) is needed and not installed; the message names the extra."""


class ArtifactError(CofirecError, OSError):
    """A saved model folder is missing, damaged (checksum mismatch) or not a cofirec artifact."""
