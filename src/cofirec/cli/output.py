"""Printing for the commands: Rich consoles and tables, notes on stderr, JSON on stdout, number formatting."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, Iterable

from cofirec._json import jsonable

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.table import Table


# ---------------------------------------------------------------------- output
def stdout_console() -> "Console":
    """A Rich console on the current ``sys.stdout`` (works under test runners that swap streams)."""
    from rich.console import Console

    # Piped or redirected output has no terminal width: Rich would fall back to 80 columns and truncate wide tables.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(file=sys.stdout, highlight=False, soft_wrap=False, width=width)


def titled_table(title: str, caption: str | None = None, **kwargs: Any) -> "Table":
    """A Rich table at least as wide as its title and caption, so narrow tables do not wrap them."""
    from rich.table import Table
    from rich.text import Text

    widest = max(Text.from_markup(title).cell_len, len(caption or ""))
    return Table(title=title, caption=caption, min_width=min(widest + 2, 100), **kwargs)


def stderr_console() -> "Console":
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def note(message: str) -> None:
    """A one-line notice on stderr (never mixed into JSON on stdout)."""
    sys.stderr.write(f"note: {message}\n")


to_jsonable = jsonable  # kept name: plain JSON values for --json / jsonl output


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def emit_jsonl(records: Iterable[dict]) -> None:
    """Print one compact JSON object per line on stdout."""
    write = sys.stdout.write
    for rec in records:
        write(json.dumps(rec, separators=(",", ":")) + "\n")


def fmt_number(value: Any) -> str:
    """Compact human formatting: ints with thousands separators, floats with 4 significant decimals."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) >= 1e-3 else f"{value:.3g}"
    return str(value)
