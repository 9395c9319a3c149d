"""Every registered, implemented model trains, saves, evaluates and recommends through the CLI (tiny data)."""

from __future__ import annotations

import pytest

from cofirec.models.registry import available_models, get_model_class

# keep each model tiny and quick: fewer epochs/factors where the model has such parameters
_FAST = {"epochs": "1", "factors": "4", "k": "10", "batch_size": "256"}


def _fast_params(name: str) -> list[str]:
    cls = get_model_class(name)
    args = []
    for key, value in _FAST.items():
        if key in cls.param_names():
            args += ["--param", f"{key}={value}"]
    if "device" in cls.param_names():
        args += ["--param", "device=cpu"]
    return args


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    from cofirec.data.synthetic import make_synthetic

    data = make_synthetic(n_users=40, n_items=30, density=0.2, seed=7)
    path = tmp_path_factory.mktemp("tiny") / "r.tsv"
    data.to_frame().to_csv(path, sep="\t", index=False)
    return path


@pytest.mark.parametrize("name", available_models())
def test_model_through_cli(cli, tiny_file, tmp_path, name):
    cls = get_model_class(name)
    kinds = cls.supported_kinds
    kind_args = [] if "explicit" in kinds else (["--target", "binary:4"] if "binary" in kinds else ["--implicit"])
    out = tmp_path / name
    res = cli("train", name, "--dataset", tiny_file, "--split", "random", "--seed", "3", *kind_args, *_fast_params(name), "--out", out, "--json")
    assert res.code == 0, res.stderr
    assert res.json()["model"] == name
    metrics = cli("evaluate", out, "--test", out / "test.tsv", "--k", "5", "--json")
    assert metrics.code == 0, metrics.stderr
    values = metrics.json()
    assert {"rmse", "ndcg@5", "auc"} & set(values)
    rec = cli("recommend", out, "--user", "1", "-n", "3", "--json")
    assert rec.code == 0, rec.stderr
    assert len(rec.json()[0]["items"]) == 3
    sim = cli("similar", out, "--item", "2", "-n", "3", "--json")
    assert sim.code == 0, sim.stderr
    assert 2 not in sim.json()["items"]
