"""bench/bench_scale.py: size parsing, which jobs run, the tables, and one tiny end-to-end run (cofirec only)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_scale.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_scale_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_sizes_follow_the_issue_shape_or_are_explicit(bench):
    assert bench.parse_size("4.6M") == {"label": "4.6M", "n_interactions": 4_600_000, "n_users": 200_000, "n_items": 40_000}
    assert bench.parse_size("500K")["n_interactions"] == 500_000
    assert bench.parse_size("2M:1000x300") == {"label": "2M:1000x300", "n_interactions": 2_000_000, "n_users": 1000, "n_items": 300}
    with pytest.raises(argparse.ArgumentTypeError, match="expected"):
        bench.parse_size("lots")


def test_ease_only_where_its_dense_matrices_fit(bench):
    args = argparse.Namespace(ease_max_gib=4.0, no_peers=False)
    small = {"n_items": 8_000}
    big = {"n_items": 45_000}
    assert ("cofirec", "ease") in [(lib, m) for lib, m, _ in bench.jobs_for(small, ["ease", "ials"], args)]
    jobs = [(lib, m) for lib, m, _ in bench.jobs_for(big, ["ease", "ials"], args)]
    assert jobs == [("cofirec", "ials"), ("implicit", "ALS")]


def test_tables_and_ratios(bench):
    base = {"size": "1M", "n_interactions": 10**6, "n_users": 10, "n_items": 5, "ranked_users": 10, "fit_extra_kib": 1024, "peak_kib": 2048}
    rows = [
        {**base, "library": "cofirec", "model": "ials", "fit_s": 3.0, "topk_s": 1.0, "budget_bytes": 2**20, "fit_extra_over_budget": 1.0},
        {**base, "library": "implicit", "model": "ALS", "fit_s": 6.0, "topk_s": 4.0, "budget_bytes": 2**20, "fit_extra_over_budget": 1.0},
        {**base, "library": "cofirec", "model": "bpr", "error": "exit 1: boom"},
    ]
    table = bench.markdown(rows)
    assert "| 1M | 10 x 5 | cofirec | ials | 3.0 | 1.0 (10) |" in table and "exit 1: boom" in table
    assert "| 1M | ials / implicit ALS | 0.50 | 0.25 |" in bench.ratio_table(rows)


@pytest.mark.slow
def test_tiny_run_writes_table_json_and_plot(bench, tmp_path, capsys):
    code = bench.main(["--sizes", "20K:600x200", "--models", "ials", "ease", "--no-peers", "--topk-users", "100", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "| 20K:600x200 | 600 x 200 | cofirec | ials |" in out and "| cofirec | ease |" in out
    result = json.loads((tmp_path / "scale.json").read_text())
    assert [r["model"] for r in result["rows"]] == ["ials", "ease"]
    assert all("error" not in r and r["fit_s"] > 0 and r["ranked_users"] == 100 for r in result["rows"])
    assert (tmp_path / "scale.png").stat().st_size > 1000
