"""The report ``cofirec train`` prints (or emits as JSON) after fitting: data sizes, time, epochs, files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cofirec.cli.output import fmt_number, stdout_console


def fit_summary(model: Any, n_fit: int, n_valid: int, out: Path) -> dict[str, Any]:
    """The fitted model's side of the train report (epochs from ``epochs_run_`` when there is no per-epoch history)."""
    return {
        "kind": model.kind_,
        "train_interactions": int(n_fit),
        "validation_interactions": int(n_valid),
        "users": int(model.n_users),
        "items": int(model.n_items),
        "fit_seconds": float(model.fit_seconds_),
        "epochs_run": len(model.history_) or int(getattr(model, "epochs_run_", 0) or 0),
        "last_epoch": model.history_[-1] if model.history_ else None,
        "out": str(out),
    }


def print_train_report(report: dict[str, Any]) -> None:
    """The train report as a few lines on stdout (what was fitted, epochs, refit, feedback, where it went)."""
    console = stdout_console()
    console.print(
        f"fitted [bold]{report['model']}[/] on {report['train_interactions']:,} {report['kind']} interactions "
        f"({report['users']:,} users x {report['items']:,} items) in {report['fit_seconds']:.2f}s",
        soft_wrap=True,
    )
    if report.get("epochs_run"):
        last = report.get("last_epoch") or {}
        extra = ", ".join(f"{k}={fmt_number(v)}" for k, v in last.items() if k != "epoch" and isinstance(v, (int, float)))
        console.print(f"epochs: {report['epochs_run']}" + (f"; last: {extra}" if extra else ""))
    if report.get("refit"):
        console.print(f"refitted on all {report['train_interactions']:,} training interactions for the {report['refit']['epochs']} epochs early stopping chose")
    added = report.get("feedback")
    if added is not None:
        console.print(
            f"added {added['rows']:,} feedback rows ({added['replaced']:,} replacing training ratings; "
            f"{added['new_users']:,} new users, {added['new_items']:,} new items)"
        )
    console.print(f"saved model to {report['out']}", markup=False, soft_wrap=True)
    split = report.get("split")
    if split:
        console.print(
            f"wrote {split['train_file']} ({split['train_interactions']:,} rows) and {split['test_file']} "
            f"({split['test_interactions']:,} rows); evaluate with: cofirec evaluate {report['out']} --test {split['test_file']}",
            markup=False,
            soft_wrap=True,
        )
        from cofirec.cli.data_cmds import describe_cold

        if describe_cold(split):
            console.print(describe_cold(split), markup=False, soft_wrap=True)
