"""Command line interface (``cofirec ...``): a thin adapter over the library; see :mod:`cofirec.cli.main`."""

from __future__ import annotations

__all__ = ["main"]


def main(argv=None) -> None:
    """Run the ``cofirec`` command line (imports the commands lazily)."""
    from cofirec.cli.main import main as _main

    _main(argv)
