"""Experiments: config files, model comparison, hyperparameter tuning, HTML reports with plots, the demo.

Heavy modules (optuna, matplotlib) are imported only by the functions that need them.
"""

from cofirec.experiments.config import ExperimentConfig, ModelSpec, SplitConfig, TuneConfig, load_config

__all__ = ["ExperimentConfig", "ModelSpec", "SplitConfig", "TuneConfig", "load_config"]
