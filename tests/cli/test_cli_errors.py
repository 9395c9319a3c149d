"""Every user mistake ends as ONE line ``error: ...`` on stderr and a non-zero exit code, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def assert_one_line_error(res, *needles: str, code: int = 2) -> str:
    assert res.code == code, (res.code, res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in res.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_unknown_model(cli, synth_file, tmp_path):
    res = cli("train", "no-such-model", "--train", synth_file, "--out", tmp_path / "m")
    assert_one_line_error(res, "unknown model 'no-such-model'", "popularity")
    assert not (tmp_path / "m").exists()


def test_unknown_parameter(cli, synth_file, tmp_path):
    res = cli("train", "popularity", "--train", synth_file, "--param", "bogus=3", "--out", tmp_path / "m")
    assert_one_line_error(res, "unknown parameter 'bogus'", "damping")


def test_bad_parameter_type(cli, synth_file, tmp_path):
    res = cli("train", "popularity", "--train", synth_file, "--param", "damping=lots", "--out", tmp_path / "m")
    assert_one_line_error(res, "damping", "'lots'", "float")


def test_param_without_equals(cli, synth_file, tmp_path):
    res = cli("train", "popularity", "--train", synth_file, "--param", "damping", "--out", tmp_path / "m")
    assert_one_line_error(res, "NAME=VALUE")


def test_epochs_shortcut_on_model_without_epochs(cli, synth_file, tmp_path):
    res = cli("train", "popularity", "--train", synth_file, "--epochs", "3", "--out", tmp_path / "m")
    assert_one_line_error(res, "popularity", "epochs", "--epochs")


def test_missing_train_file(cli, tmp_path):
    missing = tmp_path / "nope.tsv"
    res = cli("train", "popularity", "--train", missing, "--out", tmp_path / "m")
    assert_one_line_error(res, str(missing))


def test_missing_model_folder(cli, synth_file, tmp_path):
    res = cli("recommend", tmp_path / "no-model", "--user", "1")
    assert_one_line_error(res, "no-model")


def test_malformed_line_names_file_and_line(cli, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t10\t4\t100\n2\t11\t5\t101\n3\t12\tfive\t102\n4\t13\t3\t103\n")
    res = cli("info", bad, "--json")
    line = assert_one_line_error(res, "bad.tsv")
    assert "3" in line.split("bad.tsv", 1)[1]  # the line number comes after the file name


def test_malformed_line_skipped_and_counted(cli, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t10\t4\t100\n2\t11\t5\t101\n3\t12\tfive\t102\n4\t13\t3\t103\n")
    res = cli("info", bad, "--on-bad-lines", "skip", "--json")
    assert res.code == 0, res.stderr
    stats = res.json()
    assert stats["ratings"] == 3 and stats["users"] == 3
    assert stats["skipped_lines"] == 1
    assert "skipped 1" in res.stderr


def test_unknown_user_is_error_with_no_fallback(cli, synth_file, tmp_path):
    out = tmp_path / "pop"
    assert cli("train", "popularity", "--train", synth_file, "--out", out).code == 0
    res = cli("recommend", out, "--user", "999999", "--no-fallback")
    assert_one_line_error(res, "unknown user", "999999")


def test_unknown_item_in_similar(cli, synth_file, tmp_path):
    out = tmp_path / "pop"
    assert cli("train", "popularity", "--train", synth_file, "--out", out).code == 0
    res = cli("similar", out, "--item", "not-an-item")
    assert_one_line_error(res, "not-an-item")


def test_damaged_artifact(cli, synth_file, tmp_path):
    out = tmp_path / "pop"
    assert cli("train", "popularity", "--train", synth_file, "--out", out).code == 0
    with open(out / "arrays.npz", "r+b") as f:
        f.seek(-3, 2)
        f.write(b"xyz")
    res = cli("recommend", out, "--user", "1")
    assert_one_line_error(res, "checksum")


def test_usage_error_is_one_line(cli, tmp_path):
    res = cli("split", tmp_path / "x.tsv", "--method", "random")  # --out missing
    assert_one_line_error(res, "--out", "cofirec split --help")


def test_bad_option_values(cli, synth_file, tmp_path):
    assert_one_line_error(cli("info", synth_file, "--on-bad-lines", "ignore"), "--on-bad-lines")
    assert_one_line_error(cli("train", "popularity", "--train", synth_file, "--target", "likes", "--out", tmp_path / "m"), "--target")
    assert_one_line_error(cli("info", synth_file, "--columns", ","), "--columns")


def test_console_script_exit_code(synth_file, tmp_path):
    """The real entry point (python -m cofirec): one line on stderr and exit code 2."""
    env = {k: v for k, v in os.environ.items() if k != "COFIREC_DEBUG"}
    cmd = [sys.executable, "-m", "cofirec", "train", "nope", "--train", str(synth_file), "--out", str(tmp_path / "m")]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and res.stderr.startswith("error: unknown model 'nope'")


def test_debug_env_raises_the_real_exception(synth_file, tmp_path, monkeypatch):
    """COFIREC_DEBUG=1: the exception propagates (full traceback) instead of the one-line message."""
    from cofirec.cli.main import main
    from cofirec.errors import ConfigError

    monkeypatch.setenv("COFIREC_DEBUG", "1")
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        main(["train", "nope", "--train", str(synth_file), "--out", str(tmp_path / "m")])


def test_unexpected_exception_exit_1(cli, synth_file, tmp_path, monkeypatch):
    """A bug (not a user error) still prints one line, exit code 1, and points at COFIREC_DEBUG."""
    import cofirec.models.builder as mc

    def boom(*a, **k):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(mc, "build_model", boom)
    res = cli("train", "popularity", "--train", synth_file, "--out", tmp_path / "m")
    assert_one_line_error(res, "ZeroDivisionError", "COFIREC_DEBUG", code=1)


def test_keyboard_interrupt(cli, synth_file, tmp_path, monkeypatch):
    import cofirec.models.builder as mc

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(mc, "build_model", interrupt)
    res = cli("train", "popularity", "--train", synth_file, "--out", tmp_path / "m")
    assert_one_line_error(res, "interrupted", code=2)


def test_help_and_version(cli):
    res = cli("--help")
    assert res.code == 0
    for command in ("datasets", "info", "split", "train", "evaluate", "recommend", "similar", "plot"):
        assert command in res.stdout
    res = cli("--version")
    assert res.code == 0 and res.stdout.startswith("cofirec ")


def test_device_shortcut_on_model_without_device(cli, synth_file, tmp_path):
    res = cli("train", "popularity", "--train", synth_file, "--device", "cuda", "--out", tmp_path / "m")
    assert_one_line_error(res, "popularity", "device", "--device")


def test_train_data_options(cli, synth_file, tmp_path):
    assert_one_line_error(cli("train", "popularity", "--out", tmp_path / "m"), "--dataset", "--train")
    assert_one_line_error(cli("train", "popularity", "--train", synth_file, "--dataset", synth_file, "--out", tmp_path / "m"), "not both")
    assert_one_line_error(cli("train", "popularity", "--train", synth_file, "--split", "random", "--out", tmp_path / "m"), "--split")
    assert_one_line_error(cli("train", "popularity", "--train", synth_file), "--out")


def test_evaluate_missing_negatives_file(cli, synth_file, tmp_path):
    out = tmp_path / "pop"
    assert cli("train", "popularity", "--train", synth_file, "--out", out).code == 0
    assert_one_line_error(cli("evaluate", out, "--test", synth_file, "--negatives", tmp_path / "none.neg"), "none.neg")
    assert_one_line_error(cli("evaluate", out, "--test", synth_file, "--protocol", "psychic"), "--protocol")
    assert_one_line_error(cli("evaluate", out, "--test", synth_file, "--k", "ten"), "--k")


def test_unknown_global_option_and_command(cli):
    assert_one_line_error(cli("--bogus"), "--bogus", "cofirec --help")
    assert_one_line_error(cli("trian"), "trian", "train")
    assert_one_line_error(cli("split", "x", "--out", "y", "--seed", "abc"), "--seed")
