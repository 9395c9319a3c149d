"""``cofirec serve`` errors a user can make end as one line and exit code 2; a missing serve extra names it.
(The servers of the other tests are started through this command.)"""

from __future__ import annotations

import sys

import pytest


def test_missing_model_folder_is_one_error_line(cli, tmp_path):
    result = cli("serve", tmp_path / "nothing-here", "--port", "1")
    assert result.code == 2
    assert result.stderr.startswith("error: ") and "nothing-here" in result.stderr and "Traceback" not in result.stderr


def test_bad_options_are_refused_before_listening(cli, model_dir, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    result = cli("serve", model_dir, "--api-key-env", "NO_SUCH_KEY_VAR")
    assert result.code == 2 and "NO_SUCH_KEY_VAR" in result.stderr
    assert cli("serve", model_dir, "--port", "70000").code == 2
    assert cli("serve", model_dir, "--workers", "0").code == 2
    bad_db = cli("serve", model_dir, "--db", "not a url")
    assert bad_db.code == 2 and "database URL" in bad_db.stderr


def test_missing_serve_extra_names_it(cli, model_dir, monkeypatch):
    from cofirec.errors import MissingDependencyError
    from cofirec.serve import create_app

    monkeypatch.setitem(sys.modules, "fastapi", None)  # an import of fastapi now fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"needs fastapi.*pip install 'cofirec\[serve\]'"):
        create_app(model_dir)
    result = cli("serve", model_dir)
    assert result.code == 2 and "pip install 'cofirec[serve]'" in result.stderr


def test_rating_scale_per_feedback_kind():
    from cofirec.errors import DataError
    from cofirec.serve.state import RatingScale

    explicit = RatingScale("explicit", 1.0, 5.0)
    explicit.check(1.0)
    explicit.check(4.5)
    for bad in (0.5, 5.5, float("nan"), float("inf")):
        with pytest.raises(DataError, match="outside the model's scale"):
            explicit.check(bad)
    assert (explicit.model_value(3.5), explicit.like_value()) == (3.5, 5.0)
    implicit = RatingScale("implicit", 0.0, 10.0, threshold=4.0)  # trained on ratings >= 4 as positives
    assert (implicit.model_value(4.0), implicit.model_value(3.0), implicit.like_value()) == (1.0, None, 4.0)
    with pytest.raises(DataError):
        implicit.check(0.0)
    binary = RatingScale("binary", 0.0, 1.0)
    assert (binary.model_value(1.0), binary.model_value(0.0)) == (1.0, 0.0)
