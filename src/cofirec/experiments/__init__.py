"""Experiments: config files, model comparison, hyperparameter tuning, HTML reports with plots, the demo.

Heavy libraries (optuna, matplotlib, torch) are imported only by the functions that need them.

Main entry points::

    load_config(path) -> ExperimentConfig
    compare(models, train, test, protocol=, k=, ...) -> ComparisonResult
    run_comparison(cfg, report_dir=) -> (ComparisonResult, report path)
    tune(model, train, test=, metric=, trials=, storage=, ...) -> TuneResult
    plot_learning_curves(histories, path) -> Path
    run_demo(data_dir=, quick=) -> DemoResult
"""

from cofirec.experiments.compare import ComparisonResult, compare, run_comparison, write_comparison_report
from cofirec.experiments.config import ExperimentConfig, ModelSpec, SplitConfig, TuneConfig, config_from_dict, load_config
from cofirec.experiments.plots import plot_learning_curves
from cofirec.experiments.tune import TuneResult, tune, write_tune_report


def run_demo(*args, **kwargs):
    """See :func:`cofirec.experiments.demo.run_demo`."""
    from cofirec.experiments.demo import run_demo as _run

    return _run(*args, **kwargs)


__all__ = [
    "ComparisonResult",
    "ExperimentConfig",
    "ModelSpec",
    "SplitConfig",
    "TuneConfig",
    "TuneResult",
    "compare",
    "config_from_dict",
    "load_config",
    "plot_learning_curves",
    "run_comparison",
    "run_demo",
    "tune",
    "write_comparison_report",
    "write_tune_report",
]
