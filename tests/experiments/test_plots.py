"""Train/validation curves side by side, with the best validation epoch found and marked."""

from __future__ import annotations

from cofirec.experiments.plots import best_epoch, plot_train_validation


def _history(vals: list[float]) -> list[dict]:
    return [{"epoch": i + 1, "loss": 1.0 / (i + 1), "val_loss": v} for i, v in enumerate(vals)]


def test_best_epoch_is_the_lowest_validation_value():
    assert best_epoch(_history([1.1, 0.9, 0.95, 1.2])) == (2, 0.9)
    assert best_epoch([{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}]) == (2, 1.5)  # numbered from 1
    assert best_epoch([{"epoch": 1, "loss": 1.0}]) is None


def test_plot_train_validation_writes_one_png_with_a_panel_per_run(tmp_path):
    from PIL import Image

    runs = {"he_normal": _history([1.1, 1.0, 1.05]), "random_uniform": _history([1.0, 0.86, 0.9]), "lecun_uniform": _history([1.0, 0.97, 0.96])}
    path = plot_train_validation(runs, tmp_path / "c.png", title="lr 0.01")
    one = plot_train_validation({"he_normal": runs["he_normal"]}, tmp_path / "one.png")
    with Image.open(path) as wide, Image.open(one) as narrow:
        assert wide.size[0] >= 2.5 * narrow.size[0] and wide.size[1] == narrow.size[1]  # side by side


def test_plot_train_validation_without_history_says_so(tmp_path):
    path = plot_train_validation({"ease": []}, tmp_path / "none.png")
    assert path.exists() and path.stat().st_size > 0
