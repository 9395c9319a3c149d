"""The training loop shared by the iterative classic models (``mf``, ``als``, ``ials``, ``bpr``, ``baseline``).

A model mixes in :class:`IterativeModel` and supplies four hooks; the loop here owns the rest, the same way
for every model and with the same conventions as the neural trainer (:mod:`cofirec.models.neural.trainer`):

``_init_training(data, validation) -> bool``
    Build the working state from the compacted training data (seeded), prepare the validation data in the
    model's indices, and return whether there is validation data to score. Working arrays that are not
    fitted state belong in ``self._run`` (deleted when training ends).
``_train_epoch(epoch) -> dict``
    One pass; returns the epoch's training numbers (``loss``, ``train_rmse``, ``lr``...). Epochs count from 1.
    After it the model's fitted attributes must score the current state (validation uses them).
``_validate() -> dict``
    Validation numbers of the current state, keyed ``val_*``; must include ``monitor[0]``.
``_get_state() -> dict[str, ndarray]`` / ``_set_state(state)``
    The arrays that make up the model, and restoring them (the best epoch's copies at the end).

The loop shows the progress bar, appends one record per epoch to ``history_`` and runs the callbacks, stops
early after ``patience`` epochs without improvement of ``monitor`` (models without a ``patience`` parameter
never stop early), restores the best epoch's state and sets ``best_epoch_`` (1-based: the number of epochs
:meth:`Recommender.refit` trains), ``epochs_run_`` and ``stopped_early_``. A non-finite loss or state stops
training with a :class:`~cofirec.errors.DataError` naming the likely cause, so no NaN model is ever returned.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, ClassVar, ContextManager, Iterator, Literal

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import DataError

_TRACKED_LOSSES = ("loss", "train_rmse")
"""Record keys checked for finiteness after every epoch."""


class EarlyStopping:
    """Tracks a validation number (lower is better when ``mode="min"``) and keeps the best state's copies.

    ``update`` returns True once the number has not improved for more than ``patience`` epochs in a row
    (``patience=None``: never).
    """

    def __init__(self, patience: int | None, mode: Literal["min", "max"] = "min") -> None:
        self.patience = patience
        self.sign = 1.0 if mode == "min" else -1.0
        self.best = np.inf
        self.best_epoch = 0
        self.best_state: dict[str, np.ndarray] | None = None
        self.bad = 0

    def update(self, epoch: int, value: float, state: dict[str, np.ndarray]) -> bool:
        """Record ``value`` for ``epoch``; returns True when training should stop."""
        v = self.sign * value if math.isfinite(value) else np.inf
        if v < self.best - 1e-7 or self.best_state is None:
            self.best = v
            self.best_epoch = epoch
            self.best_state = {k: np.array(a, copy=True) for k, a in state.items()}
            self.bad = 0
            return False
        self.bad += 1
        return self.patience is not None and self.bad > self.patience


@contextlib.contextmanager
def epoch_progress(enabled: bool, total: int, description: str) -> Iterator:
    """A rich progress bar over epochs on stderr (a no-op when disabled or stderr is not a terminal, so ``--json``
    and piped output stay clean); yields ``advance(**fields)``."""
    from rich.console import Console

    console = Console(stderr=True) if enabled else None
    if console is None or not console.is_terminal:
        yield lambda **fields: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        transient=True,
        console=console,
    ) as bar:
        task = bar.add_task(description, total=total, info="")

        def advance(**fields: float) -> None:
            info = " ".join(f"{k}={v:.4f}" for k, v in fields.items())
            bar.update(task, advance=1, info=info)

        yield advance


class IterativeModel:
    """Mixin for :class:`~cofirec.models.base.Recommender` subclasses trained epoch by epoch (see module doc)."""

    monitor: ClassVar[tuple[str, Literal["min", "max"]]] = ("val_rmse", "min")
    """Validation record key early stopping follows, and whether lower or higher is better."""
    divergence_hint: ClassVar[str] = "lower the learning rate (lr) or rescale the ratings"
    """What the user can change when training diverges (named in the error)."""

    epochs: int
    name: ClassVar[str]
    history_: list[dict]

    # ------------------------------------------------------------------ hooks (the model writes these)
    def _init_training(self, data: Interactions, validation: Interactions | None) -> bool:
        raise NotImplementedError

    def _train_epoch(self, epoch: int) -> dict[str, Any]:
        raise NotImplementedError

    def _validate(self) -> dict[str, float]:
        raise NotImplementedError

    def _get_state(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _training_context(self) -> ContextManager:
        """Entered around the whole loop (e.g. single-threaded BLAS for the ALS solvers)."""
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ the loop
    def _fit(self, data: Interactions, validation: Interactions | None) -> None:
        try:
            validated = self._init_training(data, validation)
            self._run_epochs(validated)
        finally:
            self.__dict__.pop("_run", None)

    def _train_quietly(self, data: Interactions) -> dict[str, np.ndarray]:
        """Every epoch on compacted ``data``, without validation, history, progress or fitted bookkeeping; returns the
        final state (for a model used as a building block by another, e.g. the kNN models' baseline biases)."""
        try:
            self._init_training(data, None)
            with self._training_context():
                for epoch in range(1, self.epochs + 1):
                    self._train_epoch(epoch)
                    self._check_finite(epoch, {}, self._get_state())
            return self._get_state()
        finally:
            self.__dict__.pop("_run", None)

    def _run_epochs(self, validated: bool) -> None:
        key, mode = self.monitor
        # a model without a patience parameter never stops early: its validation numbers only go to the history
        stopper = EarlyStopping(self.patience, mode) if validated and hasattr(self, "patience") else None
        epochs_run, stopped = 0, False
        with epoch_progress(getattr(self, "_progress", False), self.epochs, self.name) as advance, self._training_context():
            for epoch in range(1, self.epochs + 1):
                record: dict[str, Any] = {"epoch": epoch, **self._train_epoch(epoch)}
                state = self._get_state()
                self._check_finite(epoch, record, state)
                if validated:
                    record.update(self._validate())
                self._report_epoch(record)  # type: ignore[attr-defined]
                advance(**{k: v for k, v in record.items() if k == "loss" or k.startswith("val_")})
                epochs_run = epoch
                if stopper is not None and stopper.update(epoch, record[key], state):
                    stopped = True
                    break
        if stopper is not None and stopper.best_state is not None:
            self._set_state(stopper.best_state)
            self.best_epoch_ = int(stopper.best_epoch)
        else:
            self.best_epoch_ = int(epochs_run)
        self.epochs_run_ = int(epochs_run)
        self.stopped_early_ = bool(stopped)

    def _check_finite(self, epoch: int, record: dict[str, Any], state: dict[str, np.ndarray]) -> None:
        """DataError when the epoch left a non-finite loss or parameter: training diverged."""
        bad = [k for k in _TRACKED_LOSSES if k in record and not math.isfinite(float(record[k]))]
        bad += [f"parameters {k}" for k, a in state.items() if not np.isfinite(a).all()]
        if bad:
            raise DataError(f"{self.name}: training diverged at epoch {epoch} (non-finite {', '.join(bad)}): {self.divergence_hint}{self._scale_note()}")

    def _scale_note(self) -> str:
        lo, hi = getattr(self, "rating_min_", None), getattr(self, "rating_max_", None)
        if lo is None or hi is None or getattr(self, "kind_", None) == "implicit":
            return ""
        return f" (ratings range from {lo:g} to {hi:g})"
