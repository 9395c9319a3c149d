"""cofirec.data.targets: one parse/apply/align path for the CLI, experiment configs and other front ends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.synthetic import make_synthetic
from cofirec.data.targets import Target, align_to_model, apply_target, fitted_target, parse_target, reads_labels
from cofirec.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def ratings() -> Interactions:
    return make_synthetic(n_users=60, n_items=40, seed=3)


def labels(data: Interactions) -> Interactions:
    return data.binarize(4.0)


# ---------------------------------------------------------------------- parse
@pytest.mark.parametrize(
    "text,expected",
    [
        (None, Target()),
        ("explicit", Target()),
        ("rating", Target()),
        ("implicit", Target("implicit")),
        ("implicit:4", Target("implicit", 4.0)),
        ("binary:3.5", Target("binary", 3.5)),
        ("BINARY", Target("binary")),
    ],
)
def test_parse_target(text, expected):
    assert parse_target(text) == expected


def test_parse_target_errors_name_where_it_came_from():
    with pytest.raises(ConfigError, match=r"^--target: expected 'explicit', 'implicit\[:MIN\]'.*got 'likes'"):
        parse_target("likes")
    with pytest.raises(ConfigError, match=r"^exp.toml: target: expected"):
        parse_target("like:4", where="exp.toml: target")
    with pytest.raises(ConfigError, match="contradicts implicit"):
        parse_target("binary:4", implicit=True)
    with pytest.raises(ConfigError, match="explicit takes no threshold"):
        parse_target("explicit:3")
    assert parse_target(None, implicit=True) == Target("implicit")
    assert parse_target("implicit:2", implicit=True) == Target("implicit", 2.0)


def test_label_names_the_target_in_messages_but_not_in_equality():
    assert parse_target("binary:4").described == "--target binary:4"
    assert parse_target("binary:4", where="target", label="target 'binary:4'").described == "target 'binary:4'"
    assert parse_target("binary:4") == Target("binary", 4.0) and str(Target("binary", 4.0)) == "binary:4"


# ---------------------------------------------------------------------- apply
def test_apply_explicit_is_identity_and_binary_keeps_the_ratings_behind(ratings):
    assert apply_target(ratings, Target()) is ratings
    out = apply_target(ratings, Target("binary", 4.0))
    assert out.kind == "binary" and out.meta["binary_threshold"] == 4.0
    np.testing.assert_array_equal(out.ratings, (ratings.ratings >= 4).astype(np.float32))
    np.testing.assert_array_equal(out.raw_ratings, ratings.ratings)  # ordinal ratings behind the labels


def test_apply_implicit_min_and_on_labels(ratings):
    out = apply_target(ratings, Target("implicit", 4.0))
    assert out.kind == "implicit" and len(out) == int((ratings.ratings >= 4).sum()) and out.meta["implicit_min_rating"] == 4.0
    likes = apply_target(labels(ratings), Target("implicit"))
    assert likes.kind == "implicit" and len(likes) == int((ratings.ratings >= 4).sum())


def test_implicit_threshold_keeping_nothing_is_a_data_error(ratings):
    """Was a DataError in the CLI and a ConfigError in experiments.data: one behaviour now."""
    with pytest.raises(DataError, match=r"--target implicit:9 keeps no interaction \(ratings are 1 to 5\)"):
        apply_target(ratings, parse_target("implicit:9"))


def test_threshold_on_data_that_already_holds_labels(ratings):
    """Was passed through silently by the CLI (threshold ignored) and refused by experiments.data for any
    threshold: a threshold the labels satisfy as they are is accepted, any other is a clear error."""
    data = labels(ratings)
    assert apply_target(data, Target("binary")) is data
    assert apply_target(data, Target("binary", 1.0)) is data
    with pytest.raises(ConfigError, match="already holds 0/1 like labels.*use --target binary"):
        apply_target(data, parse_target("binary:4"))


def test_bare_binary_needs_label_data(ratings):
    with pytest.raises(ConfigError, match="not 0/1 labels.*binary:4"):
        apply_target(ratings, Target("binary"))
    zero_one = Interactions.from_frame(pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 1], "rating": [1.0, 0.0, 1.0]}))
    out = apply_target(zero_one, Target("binary"))
    assert out.kind == "binary" and out.meta["binary_threshold"] == 1.0


def test_binary_on_implicit_data_is_a_data_error(ratings):
    with pytest.raises(DataError, match="needs explicit ratings"):
        apply_target(ratings.as_implicit(), Target("binary", 4.0))


def test_one_label_for_everything_warns(ratings):
    with pytest.warns(UserWarning, match="no rating is >= 9: every label is 0"):
        apply_target(ratings, parse_target("binary:9"))


# ---------------------------------------------------------------------- the fitted target and test data
def test_fitted_target_and_alignment(ratings):
    import cofirec

    model = cofirec.create_model("popularity").fit(apply_target(ratings, Target("binary", 4.0)))
    assert fitted_target(model) == Target("binary", 4.0) and reads_labels(model)
    test = align_to_model(ratings, model)
    assert test.kind == "binary" and test.ratings.sum() == (ratings.ratings >= 4).sum()
    zero_one = Interactions.from_frame(pd.DataFrame({"user": [1, 1], "item": [1, 2], "rating": [1.0, 0.0]}))
    with pytest.warns(UserWarning, match="read as like/dislike labels"):
        assert align_to_model(zero_one, model).ratings.tolist() == [1.0, 0.0]
    implicit = cofirec.create_model("popularity").fit(apply_target(ratings, Target("implicit", 4.0)))
    assert fitted_target(implicit) == Target("implicit", 4.0) and not reads_labels(implicit)
    assert len(align_to_model(ratings, implicit)) == int((ratings.ratings >= 4).sum())
    explicit = cofirec.create_model("popularity").fit(ratings)
    assert fitted_target(explicit) == Target() and align_to_model(ratings, explicit) is ratings


def test_cli_and_experiment_configs_share_one_behaviour(ratings, tmp_path):
    """The same target on the same data gives the same result (or the same error) through both front ends."""
    from cofirec.data.split_folder import write_interactions_file
    from cofirec.experiments.config import config_from_dict
    from cofirec.experiments.data import prepare_data

    path = write_interactions_file(ratings, tmp_path / "r.tsv")
    for text in ("implicit:4", "binary:4"):
        cfg = config_from_dict({"train": str(path), "test": str(path), "target": text})
        prepared = prepare_data(cfg)
        direct = apply_target(prepared.train.__class__.from_frame(pd.read_csv(path, sep="\t")), parse_target(text))
        assert prepared.train.kind == direct.kind and len(prepared.train) == len(direct)
    with pytest.raises(DataError, match="target 'implicit:9' keeps no interaction"):
        prepare_data(config_from_dict({"train": str(path), "test": str(path), "target": "implicit:9"}))
