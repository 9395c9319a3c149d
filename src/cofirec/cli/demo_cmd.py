"""``cofirec demo``: the whole story on MovieLens 100K (or synthetic data offline)."""

from __future__ import annotations

from typing import Annotated

import typer

from cofirec.cli.options import (
    DataDirOpt,
    ReportOpt,
)
from cofirec.cli.output import stdout_console


def demo_cmd(
    data_dir: DataDirOpt = None,
    quick: Annotated[bool, typer.Option("--quick", help="Smaller models and fewer epochs (about a minute).")] = False,
    report: ReportOpt = None,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Use synthetic data even when MovieLens is available.")] = False,
) -> None:
    """The whole story on MovieLens 100K (or synthetic data offline): train, compare, plot, recommend."""
    from cofirec.experiments.demo import run_demo

    run_demo(data_dir=data_dir, quick=quick, report_dir=report, force_synthetic=synthetic, console=stdout_console())
