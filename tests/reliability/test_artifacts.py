"""Strict artifacts: an edited or damaged model folder never loads silently and never crashes with a raw error.

Each case edits a freshly saved tiny model (a classic one and a neural one). Edits of the manifest are
"resealed" (its own checksum recomputed, ``files`` updated) so that the field checks behind the checksum are
exercised too, as a tool rewriting the folder consistently would do.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import cofirec
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ArtifactError, CofirecError
from cofirec.models.artifact import ARRAYS, MANIFEST, manifest_checksum
from cofirec.models.registry import create_model

MODELS = {
    "mf": {"factors": 4, "epochs": 2},
    "embedding-dot": {"factors": 4, "epochs": 1},
}


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=60, n_items=30, seed=1)


@pytest.fixture(scope="module")
def fitted(data):
    return {name: create_model(name, params).fit(data) for name, params in MODELS.items()}


@pytest.fixture(params=list(MODELS))
def saved(request, fitted, tmp_path):
    model = fitted[request.param]
    return model, model.save(tmp_path / request.param)


def reseal(folder: Path, edit) -> None:
    """Apply ``edit(manifest)`` and recompute the manifest's own checksum."""
    manifest = json.loads((folder / MANIFEST).read_text())
    edit(manifest)
    if "checksum" in manifest:
        manifest["checksum"] = manifest_checksum(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))


def edit_arrays(folder: Path, edit) -> None:
    """Apply ``edit(arrays dict)`` to arrays.npz and reseal its checksum in the manifest."""
    from cofirec._atomic import file_sha256

    with np.load(folder / ARRAYS) as npz:
        arrays = {k: npz[k] for k in npz.files}
    edit(arrays)
    with open(folder / ARRAYS, "wb") as f:
        np.savez(f, **arrays)
    reseal(folder, lambda m: m["files"].__setitem__(ARRAYS, file_sha256(folder / ARRAYS)))


def assert_damaged(folder: Path, *needles: str) -> str:
    with pytest.raises(ArtifactError) as info:
        cofirec.load(folder)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


def test_untouched_artifact_loads_and_scores_alike(saved, data):
    model, folder = saved
    again = cofirec.load(folder)
    users = data.user_map.ids[:5]
    assert np.allclose(again.score_users(users), model.score_users(users), atol=1e-5)


def test_manifest_edited_by_hand_is_damaged(saved):
    _, folder = saved
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["params"]["factors"] = 5
    (folder / MANIFEST).write_text(json.dumps(manifest))
    assert_damaged(folder, "damaged artifact", "checksum")


def test_model_field_changed_to_another_model(saved):
    model, folder = saved
    other = "als" if model.name == "mf" else "gmf"
    reseal(folder, lambda m: m.__setitem__("model", other))
    assert_damaged(folder, "damaged artifact", other)


def test_model_and_class_both_changed(saved):
    model, folder = saved
    other = "als" if model.name == "mf" else "gmf"
    from cofirec.models.registry import get_model_class

    cls = get_model_class(other)

    def edit(m):
        m["model"] = other
        m["class"] = f"{cls.__module__}.{cls.__qualname__}"

    reseal(folder, edit)
    assert_damaged(folder, "damaged artifact")


def test_negative_factors(saved):
    _, folder = saved
    reseal(folder, lambda m: m["params"].__setitem__("factors", -3))
    assert_damaged(folder, "damaged artifact", "factors")


@pytest.mark.parametrize("value", ["many", 2.5, None])
def test_param_of_wrong_type(saved, value):
    _, folder = saved
    reseal(folder, lambda m: m["params"].__setitem__("factors", value))
    assert_damaged(folder, "damaged artifact", "factors")


def test_non_finite_param(saved):
    _, folder = saved
    reseal(folder, lambda m: m["params"].__setitem__("lr", {"$float": "nan"}))
    assert_damaged(folder, "damaged artifact", "lr")


def test_missing_param(saved):
    _, folder = saved
    reseal(folder, lambda m: m["params"].pop("factors"))
    assert_damaged(folder, "damaged artifact", "factors")


def test_unknown_param(saved):
    _, folder = saved
    reseal(folder, lambda m: m["params"].__setitem__("bogus", 1))
    assert_damaged(folder, "damaged artifact", "bogus")


@pytest.mark.parametrize("files", [{}, {"other.bin": "0" * 64}, None])
def test_files_checksums_cannot_be_skipped(saved, files):
    _, folder = saved
    reseal(folder, lambda m: m.__setitem__("files", files))
    assert_damaged(folder, "damaged artifact", ARRAYS)


def test_missing_arrays_file(saved):
    _, folder = saved
    (folder / ARRAYS).unlink()
    assert_damaged(folder, "damaged artifact", "missing")


def test_user_vocabulary_cut(saved):
    model, folder = saved
    half = model.n_users // 2
    edit_arrays(folder, lambda a: a.__setitem__("user_map_/ids", a["user_map_/ids"][:half]))
    assert_damaged(folder, "damaged artifact")


def test_item_vocabulary_cut(saved):
    model, folder = saved
    edit_arrays(folder, lambda a: a.__setitem__("item_map_/ids", a["item_map_/ids"][:-3]))
    assert_damaged(folder, "damaged artifact")


def test_nan_factors(saved):
    model, folder = saved
    key = "user_factors_" if model.name == "mf" else "module_/user_emb.weight"

    def edit(a):
        a[key] = a[key].copy()
        a[key][0, 0] = np.nan

    edit_arrays(folder, edit)
    assert_damaged(folder, "damaged artifact", "NaN")


@pytest.mark.parametrize("key, value", [("global_mean_", "high"), ("rating_max_", None), ("history_", {"epoch": 1})])
def test_json_state_of_wrong_type(saved, key, value):
    _, folder = saved
    reseal(folder, lambda m: m["state"].__setitem__(key, value))
    assert_damaged(folder, "damaged artifact", key)


def test_non_finite_json_state(saved):
    _, folder = saved
    reseal(folder, lambda m: m["state"].__setitem__("global_mean_", {"$float": "inf"}))
    assert_damaged(folder, "damaged artifact", "global_mean_")


@pytest.mark.parametrize("kind", ["weird", 3, None])
def test_unknown_kind(saved, kind):
    _, folder = saved
    reseal(folder, lambda m: m["state"].__setitem__("kind_", kind))
    assert_damaged(folder, "damaged artifact", "kind_")


def test_unknown_stored_type(saved):
    _, folder = saved
    reseal(folder, lambda m: m["types"].__setitem__("seen_", "pickle"))
    assert_damaged(folder, "damaged artifact", "seen_")


# ---------------------------------------------------------------------- raw internal errors of old
def test_bad_sparse_index_pointer(saved):
    """Used to crash with scipy's 'index pointer should start with 0'."""
    _, folder = saved

    def edit(a):
        a["seen_/indptr"] = a["seen_/indptr"] + 1

    edit_arrays(folder, edit)
    assert_damaged(folder, "damaged artifact", "seen_")


def test_missing_array_of_a_stored_attribute(saved):
    """Used to crash with KeyError: 'item_bias_' (or the module's key)."""
    model, folder = saved
    key = "item_bias_" if model.name == "mf" else "target_offset_"
    edit_arrays(folder, lambda a: a.pop(key))
    assert_damaged(folder, "damaged artifact", key)


def test_attribute_dropped_from_types(saved):
    """The attribute is then never set: scoring would fail later with AttributeError."""
    model, folder = saved
    key = "item_factors_" if model.name == "mf" else "module_"

    def edit_types(m):
        del m["types"][key]

    if model.name == "mf":
        edit_arrays(folder, lambda a: a.pop(key))
        reseal(folder, edit_types)
    else:
        edit_arrays(folder, lambda a: [a.pop(k) for k in [k for k in a if k.startswith("module_/")]])
        reseal(folder, edit_types)
    assert_damaged(folder, "damaged artifact")


def test_factor_rows_cut(saved):
    """Used to give numpy shape errors (or silently wrong scores) at recommend time."""
    model, folder = saved
    key = "item_factors_" if model.name == "mf" else "module_/item_emb.weight"
    edit_arrays(folder, lambda a: a.__setitem__(key, a[key][:-2]))
    assert_damaged(folder, "damaged artifact")


def test_duplicate_ids(saved):
    """Used to crash with 'IdMap ids must be unique'."""
    _, folder = saved

    def edit(a):
        ids = a["user_map_/ids"].copy()
        ids[1] = ids[0]
        a["user_map_/ids"] = ids

    edit_arrays(folder, edit)
    assert_damaged(folder, "damaged artifact", "unique")


def test_garbage_arrays_file_with_matching_checksum(saved):
    from cofirec._atomic import file_sha256

    _, folder = saved
    (folder / ARRAYS).write_bytes(b"PK\x03\x04 not a zip archive")
    reseal(folder, lambda m: m["files"].__setitem__(ARRAYS, file_sha256(folder / ARRAYS)))
    assert_damaged(folder, "damaged artifact", ARRAYS)


def test_arrays_changed_after_saving(saved):
    _, folder = saved
    with open(folder / ARRAYS, "r+b") as f:
        f.seek(-3, 2)
        f.write(b"xyz")
    assert_damaged(folder, "damaged artifact", "checksum")


def test_stray_array(saved):
    _, folder = saved
    edit_arrays(folder, lambda a: a.__setitem__("extra_", np.zeros(3)))
    assert_damaged(folder, "damaged artifact", "extra_")


def test_json_value_missing_from_state(saved):
    _, folder = saved
    reseal(folder, lambda m: m["state"].pop("global_mean_"))
    assert_damaged(folder, "damaged artifact", "global_mean_")


# ---------------------------------------------------------------------- NaN in manifests, save targets, CLI
def test_manifest_never_holds_bare_nan_tokens(fitted, tmp_path):
    model = create_model("mf", MODELS["mf"]).fit(make_synthetic(n_users=30, n_items=20, seed=2))
    model.history_ = [{"epoch": 1, "loss": float("nan"), "val_rmse": float("inf")}]
    folder = model.save(tmp_path / "m")
    text = (folder / MANIFEST).read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in manifest"))
    again = cofirec.load(folder)
    assert math.isnan(again.history_[0]["loss"]) and again.history_[0]["val_rmse"] == float("inf")


def test_bare_nan_token_in_manifest_is_refused(saved):
    _, folder = saved
    text = (folder / MANIFEST).read_text()
    manifest = json.loads(text)
    manifest["state"]["history_"] = [{"loss": float("nan")}]
    (folder / MANIFEST).write_text(json.dumps(manifest))  # json writes a bare NaN token
    with pytest.raises(ArtifactError, match="NaN"):
        cofirec.load(folder)


def test_save_onto_an_existing_file_is_a_user_error(fitted, tmp_path):
    target = tmp_path / "model.bin"
    target.write_bytes(b"keep me")
    with pytest.raises(CofirecError, match="is a file"):
        fitted["mf"].save(target)
    assert target.read_bytes() == b"keep me"


def test_save_replaces_the_model_and_keeps_other_files(fitted, tmp_path):
    folder = fitted["mf"].save(tmp_path / "m")
    (folder / "notes.txt").write_text("mine")
    fitted["embedding-dot"].save(folder)
    assert cofirec.load(folder).name == "embedding-dot"
    assert (folder / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"], "no temporary siblings left behind"


def test_save_into_a_folder_holding_folders_is_refused(fitted, tmp_path):
    (tmp_path / "m" / "sub").mkdir(parents=True)
    with pytest.raises(CofirecError, match="other folders"):
        fitted["mf"].save(tmp_path / "m")
    assert (tmp_path / "m" / "sub").is_dir()


def test_cli_damaged_artifact_is_one_line_exit_2(cli, saved, tmp_path):
    model, folder = saved
    reseal(folder, lambda m: m["params"].__setitem__("factors", -3))
    res = cli("recommend", folder, "--user", str(model.user_map_.ids[0]))
    assert res.code == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "damaged artifact" in lines[0], res.stderr


def test_cli_train_out_onto_a_file_exits_2(cli, tmp_path, data):
    from cofirec.cli.common import write_interactions

    train = write_interactions(data, tmp_path / "train.tsv")
    target = tmp_path / "out.bin"
    target.write_text("x")
    res = cli("train", "popularity", "--train", train, "--out", target)
    assert res.code == 2 and "is a file" in res.stderr, res.stderr


def test_cli_output_folders_that_cannot_be_swapped_fail_up_front(cli, tmp_path, data):
    from cofirec.cli.common import write_interactions

    source = write_interactions(data, tmp_path / "ratings.tsv")
    (tmp_path / "runs" / "other-model").mkdir(parents=True)
    res = cli("train", "popularity", "--train", source, "--out", tmp_path / "runs")
    assert res.code == 2 and "other folders" in res.stderr, res.stderr
    res = cli("split", source, "--out", source)
    assert res.code == 2 and "is a file" in res.stderr, res.stderr
    assert (tmp_path / "runs" / "other-model").is_dir() and len(source.read_text()) > 0


def test_model_trained_on_a_gpu_loads_on_a_machine_without_one(fitted, tmp_path, data):
    """device='cuda' in the params is where it was trained, not damage (the module is saved from the CPU)."""
    folder = fitted["embedding-dot"].save(tmp_path / "gpu")

    def edit(m):
        m["params"]["device"] = "cuda"
        m["state"]["device_"] = "cuda"

    reseal(folder, edit)
    again = cofirec.load(folder)
    assert again.device == "cuda"
    assert np.allclose(again.score_users(data.user_map.ids[:3]), fitted["embedding-dot"].score_users(data.user_map.ids[:3]), atol=1e-5)


def test_format_1_artifacts_still_load_but_files_cannot_be_skipped(saved):
    """Folders saved before the manifest had its own checksum (format 1) load after the same field checks."""
    _, folder = saved
    manifest = json.loads((folder / MANIFEST).read_text())
    for key in ("checksum", "training"):
        manifest.pop(key)
    manifest["format_version"] = 1
    (folder / MANIFEST).write_text(json.dumps(manifest))
    cofirec.load(folder)
    manifest["files"] = {}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    assert_damaged(folder, "damaged artifact", ARRAYS)
