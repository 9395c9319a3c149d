"""``cofirec train --engine``: what the Spark engine refuses (one line, exit 2) without starting Spark."""

from __future__ import annotations

import sys

import pytest


def assert_one_line_error(res, needle: str) -> None:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.code == 2 and len(lines) == 1, (res.code, res.stderr)
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["item-knn", "--engine", "spark", "--train", "{f}"], "item-knn"),
        (["--engine", "spark", "--train", "{f}"], "MODEL"),
        (["als", "--engine", "spark", "--dataset", "{f}"], "--dataset"),
        (["als", "--engine", "spark", "--train", "{f}", "--split", "random"], "--split"),
        (["als", "--engine", "spark", "--train", "{f}", "--validation", "0.1"], "--validation"),
        (["als", "--engine", "spark", "--train", "{f}", "--refit"], "--refit"),
        (["als", "--engine", "spark"], "--train PATH"),
        (["als", "--engine", "flink", "--train", "{f}"], "--engine"),
        (["als", "--master", "local[2]", "--train", "{f}"], "--master"),
        (["ials", "--engine", "spark", "--train", "{f}", "--target", "binary:4"], "binary:4"),
    ],
)
def test_spark_engine_option_errors(cli, synth_file, tmp_path, args, needle):
    out = tmp_path / "model"
    res = cli("train", *[a.replace("{f}", str(synth_file)) for a in args], "--out", out)
    assert_one_line_error(res, needle)
    assert not out.exists()


def test_spark_engine_without_pyspark_says_what_to_install(cli, synth_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # 'import pyspark' fails as when the extra is not installed
    res = cli("train", "als", "--engine", "spark", "--train", synth_file, "--out", tmp_path / "model")
    assert_one_line_error(res, "pyspark")
