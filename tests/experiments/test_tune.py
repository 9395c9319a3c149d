"""tune(): validation carved from train, per-epoch pruning, resumable SQLite storage, refit + one test evaluation."""

from __future__ import annotations

import json

import optuna
import pytest

from cofirec.errors import ConfigError
from cofirec.experiments.spaces import default_space, resolve_space, suggest_params
from cofirec.experiments.tune import EpochPruner, protocol_for_metric, tune

MF_FIXED = {"factors": 4, "epochs": 3}


def test_interrupted_search_resumes_and_counts_stored_trials(tiny_split, tmp_path):
    storage = tmp_path / "study.db"

    def interrupt_after_two(record):
        if record["number"] == 1:
            raise KeyboardInterrupt  # Ctrl-C after the second trial

    with pytest.raises(KeyboardInterrupt):
        tune("popularity", tiny_split.train, metric="ndcg@10", trials=4, storage=storage, on_trial=interrupt_after_two, refit=False)
    first = optuna.load_study(study_name="cofirec:popularity:ndcg@10", storage=f"sqlite:///{storage}")
    assert len([t for t in first.trials if t.state.name == "COMPLETE"]) == 2

    again = tune("popularity", tiny_split.train, metric="ndcg@10", trials=4, storage=storage, refit=False)
    assert (again.n_finished, again.n_run) == (4, 2)
    assert [t["number"] for t in again.trials] == [0, 1, 2, 3]
    more = tune("popularity", tiny_split.train, test=tiny_split.test, metric="ndcg@10", trials=6, storage=storage)
    assert (more.n_finished, more.n_run) == (6, 2)
    done = tune("popularity", tiny_split.train, metric="ndcg@10", trials=5, storage=storage, refit=False)
    assert (done.n_finished, done.n_run) == (6, 0)  # already enough trials: nothing runs
    # the resumed sampler does not just replay the first draws
    draws = [json.dumps(t["params"], sort_keys=True) for t in more.trials]
    assert len(set(draws)) == len(draws)


def test_best_params_are_refitted_on_full_train_and_tested_once(tiny_split):
    res = tune("mf", tiny_split.train, test=tiny_split.test, metric="rmse", trials=3, params=MF_FIXED, prune=False)
    assert res.protocol == "rating" and res.direction == "minimize"
    values = [t["value"] for t in res.trials if t["state"] == "COMPLETE"]
    assert res.best_value == min(values)
    best_trial = next(t for t in res.trials if t["value"] == res.best_value)
    assert {k: res.best_params[k] for k in best_trial["params"]} == best_trial["params"]
    assert res.best_params["factors"] == 4 and res.best_params["epochs"] == 3  # fixed, not searched
    final = res.final_model
    assert final.get_params()["reg"] == res.best_params["reg"]
    assert len(final.seen_.data) == len(tiny_split.train)  # refitted on all of train, validation included
    from cofirec.evaluate.runner import evaluate

    assert res.test_metrics["rmse"] == pytest.approx(evaluate(final, tiny_split.test, protocol="rating")["rmse"])
    assert 0.3 < res.test_metrics["rmse"] < 2.0


def test_trials_are_scored_on_validation_not_test(tiny_split):
    from cofirec.data.splits import validation_split
    from cofirec.evaluate.runner import evaluate
    from cofirec.models.registry import create_model

    res = tune("popularity", tiny_split.train, test=tiny_split.test, metric="ndcg@10", trials=2, seed=5, validation_ratio=0.2, refit=False)
    parts = validation_split(tiny_split.train, ratio=0.2, seed=5)
    trial = res.trials[0]
    model = create_model("popularity", trial["params"]).fit(parts.train)
    assert trial["value"] == pytest.approx(evaluate(model, parts.test, protocol="ranking", k=(10,))["ndcg@10"])


class _FakeTrial:
    def __init__(self, prune_at: int) -> None:
        self.prune_at = prune_at
        self.reports: list[tuple[float, int]] = []

    def report(self, value, step):
        self.reports.append((value, step))

    def should_prune(self):
        return len(self.reports) >= self.prune_at


def test_epoch_pruner_reports_each_epoch_and_stops_training(tiny_split):
    from cofirec.models.registry import create_model

    trial = _FakeTrial(prune_at=2)
    cb = EpochPruner(trial, tiny_split.test, "rmse", "rating", (10,))
    model = create_model("mf", {"factors": 4, "epochs": 10, "patience": 100})
    with pytest.raises(optuna.TrialPruned, match="pruned at epoch"):
        model.fit(tiny_split.train, callbacks=[cb])
    assert len(trial.reports) == 2 and len(model.history_) == 2
    assert all(0.3 < v < 3.0 for v, _ in trial.reports)


def test_pruning_happens_in_a_real_search(tiny_split):
    space = {"lr": {"type": "float", "low": 1e-5, "high": 0.05, "log": True}}
    res = tune("mf", tiny_split.train, metric="rmse", trials=8, params={"factors": 4, "epochs": 6, "patience": 100}, space=space, refit=False)
    states = [t["state"] for t in res.trials]
    assert states.count("COMPLETE") >= 2
    assert "PRUNED" in states
    pruned = [t for t in res.trials if t["state"] == "PRUNED"]
    assert all(t["epochs"] < 6 for t in pruned)


def test_search_spaces_follow_model_signatures_and_overrides():
    assert set(default_space("popularity")) == {"by", "damping"}
    assert default_space("mean") == {}
    space = resolve_space("popularity", {"damping": 2.0})
    assert space["damping"] == 2.0
    with pytest.raises(ConfigError, match="unknown parameter for model 'popularity'"):
        resolve_space("popularity", {"factors": 8})
    trial = optuna.trial.FixedTrial({"by": "rating", "damping": 4.0})
    assert suggest_params(trial, "popularity") == {"by": "rating", "damping": 4.0}


def test_metric_and_protocol_mistakes_are_clear(tiny_split):
    assert protocol_for_metric("rmse") == "rating" and protocol_for_metric("ndcg@10") == "ranking" and protocol_for_metric("auc") == "binary"
    with pytest.raises(ConfigError, match="metric 'ndcg@10' is not computed by the rating protocol"):
        tune("popularity", tiny_split.train, metric="ndcg@10", protocol="rating", trials=1)
    with pytest.raises(ConfigError, match="cut-off after '@'"):
        tune("popularity", tiny_split.train, metric="ndcg@x", trials=1)


def test_cli_tune_writes_report_and_resumes(cli, split_files, tmp_path):
    train, test = split_files
    out = tmp_path / "tune"
    args = ["tune", "popularity", "--train", train, "--test", test, "--metric", "ndcg@10", "--report", out, "--json"]
    from cofirec.data.splits import train_test_from_files

    # an earlier (library) run left two trials in REPORT/study.db; the command continues that study
    files = train_test_from_files(train, test)
    assert tune("popularity", files.train, metric="ndcg@10", trials=2, storage=out / "study.db", refit=False).n_finished == 2
    second = cli(*args, "--trials", "3")
    assert second.code == 0, second.stderr
    doc = second.json()
    assert (doc["n_finished"], doc["n_run"]) == (3, 1)
    assert "ndcg@10" in doc["test_metrics"]
    for name in ("report.html", "results.json", "tuning_history.png", "param_importance.png", "study.db"):
        assert (out / name).exists(), name
    html = (out / "report.html").read_text()
    assert "cofirec tune popularity" in html and "<h2>Tuning</h2>" in html
    bad = cli("tune", "popularity", "--train", train, "--test", test, "--trials", "1")
    assert bad.code == 2 and "--report DIR is required" in bad.stderr


def test_cli_tune_precedence_config_params_then_space_then_command_line(cli, split_files, tmp_path):
    train, test = split_files
    config = tmp_path / "exp.toml"
    config.write_text(
        f'train = "{train}"\ntest = "{test}"\n[[models]]\nname = "popularity"\nparams = {{ by = "count", damping = 3 }}\n'
        '[tune]\nmetric = "ndcg@10"\ntrials = 2\n[tune.space.popularity]\nby = "rating"\n'
    )
    res = cli("tune", "popularity", "--config", config, "-p", "damping=7", "--report", tmp_path / "out", "--json")
    assert res.code == 0, res.stderr
    doc = res.json()
    assert doc["n_finished"] == 2
    assert all(t["params"] == {"by": "rating", "damping": 7.0} for t in doc["trials"])
    saved = json.loads((tmp_path / "out" / "config.json").read_text())
    assert saved["models"] == [{"name": "popularity", "params": {"by": "count", "damping": 7.0}}]
    assert "--config" in doc["command"] and "--trials 2" in doc["command"]


def test_a_model_defined_search_space_is_used(monkeypatch):
    from cofirec.models.baselines import Popularity

    def space(cls, trial):
        return {"damping": trial.suggest_float("damping", 1.0, 2.0)}

    monkeypatch.setattr(Popularity, "search_space", classmethod(space), raising=False)
    trial = optuna.trial.FixedTrial({"damping": 1.5, "by": "rating"})
    assert suggest_params(trial, "popularity") == {"damping": 1.5}  # 'by' is no longer searched
    assert suggest_params(trial, "popularity", {"damping": 9.0}) == {"damping": 9.0}  # a fixed config value wins


def test_timeout_stops_starting_trials(tiny_split):
    res = tune("popularity", tiny_split.train, metric="ndcg@10", trials=500, timeout=0.5, refit=False)
    assert 1 <= res.n_run < 500 and res.n_finished == res.n_run


def test_bad_metric_or_space_fails_before_any_trial_is_stored(tiny_split, tmp_path, capfd):
    """A usage mistake is one ConfigError up front: no trial runs, nothing lands in the study, no Optuna traceback."""
    db = tmp_path / "study.db"
    with pytest.raises(ConfigError, match="metric 'foo@10' is not computed by the ranking protocol"):
        tune("popularity", tiny_split.train, metric="foo@10", trials=2, storage=db)
    with pytest.raises(ConfigError, match="tune.space.popularity.factors: unknown parameter"):
        tune("popularity", tiny_split.train, space={"factors": {"type": "int", "low": 2, "high": 8}}, trials=2, storage=db)
    assert "Traceback" not in capfd.readouterr().err
    if db.exists():
        assert optuna.get_all_study_summaries(storage=f"sqlite:///{db}") == [] or all(
            s.n_trials == 0 for s in optuna.get_all_study_summaries(storage=f"sqlite:///{db}")
        )


@pytest.mark.parametrize("protocol", ["rating", "ranking", "binary"])
def test_metric_names_known_up_front_match_what_evaluate_computes(tiny_split, protocol):
    from cofirec.evaluate.runner import evaluate
    from cofirec.experiments.compare import is_quality_metric
    from cofirec.experiments.tune import protocol_metric_names
    from cofirec.models.registry import create_model

    train, test = tiny_split.train, tiny_split.test
    if protocol == "binary":
        train, test = train.binarize(4.0), test.binarize(4.0)
    model = create_model("baseline" if protocol != "ranking" else "popularity").fit(train)
    computed = {m for m in evaluate(model, test, protocol=protocol, k=(5, 10)) if is_quality_metric(m)}
    assert protocol_metric_names(protocol, (5, 10)) == computed


def test_a_failing_trial_is_reported_with_its_reason_and_no_traceback(tiny_split, capfd, monkeypatch):
    from cofirec.errors import CofirecError
    from cofirec.models.registry import get_model_class

    cls = get_model_class("popularity")

    def broken_fit(self, data, validation=None):
        raise CofirecError("planted failure")

    monkeypatch.setattr(cls, "_fit", broken_fit)
    records = []
    result = tune("popularity", tiny_split.train, trials=1, refit=False, on_trial=records.append)
    assert result.best_value is None and records[0]["state"] == "FAIL"
    assert records[0]["error"] == "planted failure"
    assert "Traceback" not in capfd.readouterr().err


def test_first_trial_scores_the_defaults(tmp_path):
    """Trial 0 of a new study is the model's defaults, so a search shows what it gained over them."""
    from cofirec.data.synthetic import make_synthetic
    from cofirec.experiments.tune import tune
    from cofirec.models.registry import get_model_class

    defaults = get_model_class("baseline").param_defaults()
    data = make_synthetic(n_users=60, n_items=40, seed=2)
    result = tune("baseline", data, metric="rmse", trials=3, seed=0, refit=False)
    first = result.trials[0]
    assert first["state"] == "COMPLETE"
    assert all(first["params"][p] == defaults[p] for p in ("reg_user", "reg_item", "epochs"))
    assert result.default_value == first["value"]
    assert result.best_value <= result.default_value
    assert result.tuning_dict()["default_value"] == result.default_value
