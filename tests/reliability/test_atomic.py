"""The atomic write helpers every data file and model folder goes through."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cofirec import _atomic
from cofirec._atomic import OutputPathError, atomic_file, atomic_folder, remove_stale_temporaries
from cofirec.data.readers import write_ratings_file
from cofirec.data.synthetic import make_synthetic


def test_failed_file_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.tsv"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tsv"]


def test_failed_folder_write_keeps_the_old_folder(tmp_path):
    target = tmp_path / "m"
    target.mkdir()
    (target / "a").write_text("old a")
    (target / "keep").write_text("not ours")
    with pytest.raises(RuntimeError):
        with atomic_folder(target, owned={"a", "b"}) as tmp:
            (tmp / "a").write_text("new a")
            raise RuntimeError("disk full")
    assert sorted(p.name for p in target.iterdir()) == ["a", "keep"] and (target / "a").read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


@pytest.mark.parametrize("exchange", [True, False])
def test_folder_swap_replaces_owned_files_and_carries_the_rest(tmp_path, monkeypatch, exchange):
    if not exchange:  # platforms without renameat2: two renames
        monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "m"
    target.mkdir()
    for name, text in (("a", "old a"), ("b", "old b"), ("keep", "not ours")):
        (target / name).write_text(text)
    with atomic_folder(target, owned={"a", "b"}) as tmp:
        (tmp / "a").write_text("new a")
    assert {p.name: p.read_text() for p in target.iterdir()} == {"a": "new a", "keep": "not ours"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    target = tmp_path / "m"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".m.cofirec-tmp-{dead}-abcd"
    stale.mkdir()
    mine = tmp_path / f".m.cofirec-tmp-{os.getpid()}-abcd"
    mine.mkdir()
    remove_stale_temporaries(target)
    assert not stale.exists() and mine.exists()


def test_output_onto_a_file_or_the_current_folder_is_refused(tmp_path, monkeypatch):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputPathError, match="is a file"):
        with atomic_folder(tmp_path / "f", owned={"a"}):
            pass
    monkeypatch.chdir(tmp_path / "..")
    with pytest.raises(OutputPathError, match="is a folder"):
        with atomic_file(tmp_path):
            pass
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputPathError, match="current folder"):
        with atomic_folder(".", owned={"a"}):
            pass


def test_write_ratings_file_is_atomic(tmp_path, monkeypatch):
    data = make_synthetic(n_users=20, n_items=10)
    target = write_ratings_file(data, tmp_path / "r.tsv")
    before = target.read_bytes()

    def boom(frame, path, *args, **kwargs):  # interrupted after writing part of the file
        with open(path, "w") as f:
            f.write("1\t2\t")
        raise KeyboardInterrupt

    monkeypatch.setattr("pandas.DataFrame.to_csv", boom)
    with pytest.raises(KeyboardInterrupt):
        write_ratings_file(data.subset(data.ratings > 3), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tsv"]
