"""What one experiment is: data, split, protocol, models and search settings (:class:`ExperimentConfig`).

Built and validated from files or command-line options by :mod:`cofirec.experiments.config`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cofirec.data.targets import Target, parse_target


@dataclass
class SplitConfig:
    """How the data is split into train and test.

    Attributes
    ----------
    method : str
        Split method passed to ``cofirec.data.splits.split_data`` (e.g. ``"random"``, ``"temporal"``,
        ``"leave-one-out"``, ``"kfold"``).
    test_ratio : float
        Fraction of interactions held out for testing, in (0, 1).
    seed : int or None
        Random seed of the split (None: the experiment seed).
    k : int or None
        Number of folds (k-fold) or items held out per user (leave-k-out), when the method uses it.
    fold : int or None
        Which fold to use as the test set (k-fold / official folds).
    cutoff : str, float or None
        Temporal split: the cut-off time (ISO date/time in UTC, or unix seconds); None: the ``test_ratio``
        quantile of the timestamps.
    cold : str or None
        Temporal split: ``"separate"`` (default: cold test rows evaluated apart) or ``"drop"``.
    """

    method: str = "random"
    test_ratio: float = 0.2
    seed: int | None = None
    k: int | None = None
    fold: int | None = None
    cutoff: str | float | None = None
    cold: str | None = None


@dataclass
class ModelSpec:
    """One model of an experiment.

    Attributes
    ----------
    name : str
        Registry name (``cofirec.models.registry.MODELS``).
    params : dict
        Hyperparameters, validated and converted to the types of the model's ``__init__``.
    label : str or None
        Display name in tables and plots (default: ``name``); lets one model appear with two settings.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None

    @property
    def display(self) -> str:
        return self.label or self.name

    def build(self):
        """An unfitted model with these parameters."""
        from cofirec.models.registry import create_model

        return create_model(self.name, self.params)


@dataclass
class TuneConfig:
    """Hyperparameter search settings (``cofirec tune``).

    Attributes
    ----------
    metric : str
        Validation metric to optimise (e.g. ``"ndcg@10"``, ``"rmse"``); lower is better for error metrics.
    trials : int
        Total number of finished trials wanted (trials stored from an interrupted run count).
    timeout : float or None
        Stop starting new trials after this many seconds.
    validation_ratio : float
        Fraction of the training data carved out for validation.
    space : dict
        Per model, per parameter search-space overrides: ``{model: {param: spec}}`` where a spec is
        ``{type = "int"|"float"|"categorical", low, high, log, step, choices}`` or a fixed value.
    """

    metric: str = "ndcg@10"
    trials: int = 20
    timeout: float | None = None
    validation_ratio: float = 0.1
    space: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class ExperimentConfig:
    """Everything one experiment needs; built by :func:`load_config` or from CLI options.

    Attributes
    ----------
    dataset : str or None
        Dataset name (``"ml-100k"``), folder or ratings file; or None when ``train``/``test`` are given.
    train, test : str or None
        Pre-split train and test files (both or neither).
    data_dir : str or None
        Folder holding named datasets.
    metadata : str or None
        Item metadata file (titles, genres) for generic data.
    columns : str, list of str or None
        Column names/order of a generic ratings file (e.g. ``"user,item,rating,timestamp"``).
    sep, encoding : str or None
        Field separator and text encoding of generic ratings files (default: detected separator, UTF-8).
    implicit : bool
        Treat every interaction as a positive (ratings dropped).
    target : str or None
        ``"explicit"``, ``"implicit[:MIN]"`` or ``"binary:THRESHOLD"`` (e.g. ``"binary:4"``: rating >= 4 is a like).
    split : SplitConfig
        How to split ``dataset`` (ignored with ``train``/``test``).
    protocol : {"rating", "ranking", "sampled", "binary"}
        Evaluation protocol.
    k : list of int
        Cut-offs of the top-k metrics.
    negatives : str or None
        File of sampled negatives (NCF ``.negative`` format) for the ``"sampled"`` protocol; without it 99
        negatives per test interaction are sampled with ``seed``.
    seed : int
        Experiment seed (split seed default; models' ``seed``/``random_state`` when they have one and it is unset).
    models : list of ModelSpec
        Models to train / compare.
    tune : TuneConfig
        Search settings for ``cofirec tune``.
    source : str or None
        Path of the config file this came from (for messages and reports).
    """

    dataset: str | None = None
    train: str | None = None
    test: str | None = None
    data_dir: str | None = None
    metadata: str | None = None
    columns: str | list[str] | None = None
    sep: str | None = None
    encoding: str | None = None
    implicit: bool = False
    target: str | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    protocol: Literal["rating", "ranking", "sampled", "binary"] = "ranking"
    k: list[int] = field(default_factory=lambda: [10, 20])
    negatives: str | None = None
    seed: int = 0
    models: list[ModelSpec] = field(default_factory=list)
    tune: TuneConfig = field(default_factory=TuneConfig)
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (``source`` excluded), suitable for reports and :func:`config_from_dict`."""
        out = asdict(self)
        out.pop("source", None)
        for m in out["models"]:
            m["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in m["params"].items()}
            if m.get("label") is None:
                m.pop("label", None)
        return out

    @property
    def split_seed(self) -> int:
        return self.seed if self.split.seed is None else self.split.seed

    def parsed_target(self) -> Target:
        """``implicit`` / ``target`` as a :class:`~cofirec.data.targets.Target` (checked at validation)."""
        return parse_target(self.target, self.implicit, where="target", label=f"target {self.target!r}" if self.target else None)

    def target_spec(self) -> tuple[str, float | None]:
        """``target`` parsed: ("explicit", None), ("implicit", min_rating or None) or ("binary", threshold or None)."""
        target = self.parsed_target()
        return target.kind, target.value
