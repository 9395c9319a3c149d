"""Model commands: ``models`` and ``plot`` here; ``register`` adds ``train`` (:mod:`~cofirec.cli.train_cmd`),
``evaluate`` (:mod:`~cofirec.cli.evaluate_cmd`), ``recommend`` and ``similar`` (:mod:`~cofirec.cli.recommend_cmds`).

Each command is a thin adapter: it loads data or a saved model through the library, calls one library
function and prints tables (Rich) or JSON. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cofirec.cli.evaluate_cmd import evaluate
from cofirec.cli.options import JsonOpt
from cofirec.cli.output import emit_json, stdout_console
from cofirec.cli.recommend_cmds import recommend, similar
from cofirec.cli.train_cmd import train
from cofirec.errors import ConfigError, DataError


# ---------------------------------------------------------------------- models
def models(json_out: JsonOpt = False) -> None:
    """Registered models and presets: feedback kinds, default parameters and where the defaults come from."""
    from cofirec.models.registry import MODELS, Preset, default_source, get_model_class

    rows: list[dict[str, Any]] = []
    for name, entry in MODELS.items():
        try:
            cls = get_model_class(name)
            defaults = cls.param_defaults()
        except ConfigError as exc:
            rows.append({"name": name, "available": False, "reason": str(exc), "params": {}})
            continue
        row: dict[str, Any] = {
            "name": name,
            "available": True,
            "kinds": sorted(cls.supported_kinds),
            "params": dict(defaults),
            "default_source": default_source(name),
        }
        if isinstance(entry, Preset):
            row.update(preset_of=entry.model, overrides=dict(entry.params), usage=entry.usage, summary=f"preset of {entry.model}")
        else:
            row["summary"] = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        rows.append(row)
    if json_out:
        emit_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="models (presets: validated recipes of a model; -p NAME=VALUE overrides any default)")
    table.add_column("name", style="bold")
    table.add_column("feedback")
    table.add_column("default setting and why", overflow="fold")
    for row in rows:
        if not row["available"]:
            table.add_row(row["name"], "[dim]not available[/]", escape(row["reason"]))
            continue
        if "preset_of" in row:
            shown = f"= {row['preset_of']} with " + ", ".join(f"{k}={v!r}" for k, v in row["overrides"].items())
        else:
            shown = ", ".join(f"{k}={v!r}" for k, v in row["params"].items())
        text = f"{escape(shown)}\n[dim]why: {escape(row['default_source'])}[/]"
        if row.get("usage"):
            text += f"\n[dim]use: {escape(row['usage'])}[/]"
        table.add_row(row["name"], ",".join(row["kinds"]), text)
    stdout_console().print(table)


# ---------------------------------------------------------------------- plot
def plot(
    model_dirs: Annotated[list[Path], typer.Argument(metavar="DIR...", help="One or more model folders.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.", show_default=False)],
    json_out: JsonOpt = False,
) -> None:
    """Learning curves (loss and validation metrics per epoch) from the models' training history."""
    import cofirec

    histories: dict[str, list[dict]] = {}
    for path in model_dirs:
        model = cofirec.load(path)
        label = model.name or path.name
        if label in histories:
            label = f"{label} ({path.name})"
        histories[label] = list(getattr(model, "history_", []) or [])
    if not any(histories.values()):
        names = ", ".join(histories)
        raise DataError(f"no training history to plot: {names} {'is not an iterative model' if len(histories) == 1 else 'are not iterative models'}")
    from cofirec.experiments.plots import plot_learning_curves

    path = plot_learning_curves(histories, out)
    if json_out:
        emit_json({"out": str(path), "models": {k: len(v) for k, v in histories.items()}})
        return
    stdout_console().print(f"wrote {path}", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the model commands to ``app``."""
    app.command("models")(models)
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("recommend")(recommend)
    app.command("similar")(similar)
    app.command("plot")(plot)
