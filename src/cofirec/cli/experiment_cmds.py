"""Experiment commands: ``cofirec compare``, ``cofirec tune``, ``cofirec demo`` (one module each; this one registers them).

Options build an :class:`~cofirec.experiments.config.ExperimentConfig` (on top of ``--config FILE`` when
given; command-line options win), so the command line and config files share one validation path. Each
report folder gets ``config.json``, the exact config, and the report starts with the one command that
reproduces the run.
"""

from __future__ import annotations

import typer

from cofirec.cli.compare_cmd import compare_cmd, print_comparison
from cofirec.cli.demo_cmd import demo_cmd
from cofirec.cli.tune_cmd import tune_cmd

__all__ = ["compare_cmd", "demo_cmd", "print_comparison", "register", "tune_cmd"]


def register(app: typer.Typer) -> None:
    """Add ``compare``, ``tune`` and ``demo`` to ``app``."""
    app.command("compare")(compare_cmd)
    app.command("tune")(tune_cmd)
    app.command("demo")(demo_cmd)
