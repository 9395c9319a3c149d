"""Download code, without the network: local zips served through file:// URLs or a fake opener."""

from __future__ import annotations

import hashlib
import io
import stat
import urllib.error
import zipfile
from pathlib import Path

import pytest

from cofirec.data import download as dl
from cofirec.data.download import KNOWN_DATASETS, DatasetInfo, download_dataset, safe_extract, verify_folder
from cofirec.data.resolve import load_dataset
from cofirec.errors import DataError, DatasetNotFoundError

U_DATA = b"1\t10\t5\t881250949\n1\t11\t3\t881250950\n2\t10\t4\t881250951\n"
U_ITEM = b"10|Heat (1995)|01-Jan-1995||http://x|" + b"|".join([b"0"] * 19) + b"\n11|Net, The (1995)|01-Jan-1995||http://y|" + b"|".join([b"0"] * 19) + b"\n"
U_USER = b"1|24|M|technician|85711\n2|53|F|other|94043\n"


def _zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def _info(zip_path: Path, md5: str | None = None, **kw) -> DatasetInfo:
    return DatasetInfo(
        name="mini-100k",
        url=zip_path.as_uri(),
        files=("u.data", "u.item", "u.user"),
        line_counts=kw.pop("line_counts", {"u.data": 3, "u.item": 2, "u.user": 2}),
        md5=md5 if md5 is not None else hashlib.md5(zip_path.read_bytes()).hexdigest(),
        **kw,
    )


@pytest.fixture
def good_zip(tmp_path) -> Path:
    return _zip(tmp_path / "mini.zip", {"ml-mini/u.data": U_DATA, "ml-mini/u.item": U_ITEM, "ml-mini/u.user": U_USER, "ml-mini/README": b"hi"})


def test_known_datasets_are_grouplens_zips():
    assert set(KNOWN_DATASETS) == {"ml-100k", "ml-1m", "ml-latest-small"}
    for name, info in KNOWN_DATASETS.items():
        assert info.name == name and info.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        assert info.files and info.ratings > 0 and set(info.line_counts) <= set(info.files)
    assert KNOWN_DATASETS["ml-100k"].md5 == "0e33842e24a9c977be4e0107933c0723"


def test_download_via_file_url_verifies_and_unzips(tmp_path, good_zip):
    cache = tmp_path / "cache"
    folder = download_dataset("mini-100k", cache, info=_info(good_zip), progress=False)
    assert folder == cache / "mini-100k"
    assert (folder / "u.data").read_bytes() == U_DATA and (folder / "README").exists()
    assert sorted(p.name for p in cache.iterdir()) == ["mini-100k"]  # no .part or temp folder left
    data = load_dataset(folder)
    assert len(data) == 3 and data.item_features.loc[10, "title"] == "Heat (1995)"
    # a second call finds the folder and does not touch the network
    assert download_dataset("mini-100k", cache, info=_info(good_zip), opener=_no_network, progress=False) == folder


def test_checksum_mismatch_is_refused(tmp_path, good_zip):
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"checksum mismatch \(md5 [0-9a-f]{32}, expected 0{32}\)"):
        download_dataset("mini-100k", cache, info=_info(good_zip, md5="0" * 32), progress=False)
    assert list(cache.iterdir()) == []


def test_published_md5_sidecar_is_used_when_not_pinned(tmp_path, good_zip):
    info = DatasetInfo(name="mini-100k", url="https://example.invalid/mini.zip", files=("u.data",), md5=None)
    payload = good_zip.read_bytes()
    responses = {info.url: payload, info.url + ".md5": f"MD5 (mini.zip) = {'f' * 32}\n".encode()}
    opener = lambda url: io.BytesIO(responses[url])  # noqa: E731
    with pytest.raises(DataError, match="checksum mismatch"):
        download_dataset("mini-100k", tmp_path, info=info, opener=opener, progress=False)
    responses[info.url + ".md5"] = f"MD5 (mini.zip) = {hashlib.md5(payload).hexdigest()}\n".encode()
    assert (download_dataset("mini-100k", tmp_path, info=info, opener=opener, progress=False) / "u.data").is_file()


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "ml-mini/../../evil.txt", "C:/evil.txt"])
def test_path_escaping_member_is_refused(tmp_path, member):
    bad = _zip(tmp_path / "bad.zip", {"ml-mini/u.data": U_DATA, member: b"pwned"})
    with pytest.raises(DataError, match="unsafe member path"):
        download_dataset("mini-100k", tmp_path / "cache", info=_info(bad), progress=False)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "cache" / "mini-100k").exists()


def test_symlink_member_is_refused(tmp_path):
    bad = _zip(tmp_path / "link.zip", {"u.data": U_DATA}, symlink="u.item")
    with pytest.raises(DataError, match="symbolic link"):
        safe_extract(bad, tmp_path / "out")


def test_not_a_zip_and_incomplete_archive(tmp_path, good_zip):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"<html>503 Service Unavailable</html>")
    with pytest.raises(DataError, match="not a valid zip archive"):
        download_dataset("mini-100k", tmp_path / "c1", info=_info(junk), progress=False)
    partial = _zip(tmp_path / "partial.zip", {"ml-mini/u.data": U_DATA})
    with pytest.raises(DataError, match="incomplete, missing u.item, u.user"):
        download_dataset("mini-100k", tmp_path / "c2", info=_info(partial), progress=False)
    with pytest.raises(DataError, match=r"u.data: 3 lines, expected 100000"):
        download_dataset("mini-100k", tmp_path / "c3", info=_info(good_zip, line_counts={"u.data": 100_000}), progress=False)
    assert not (tmp_path / "c3" / "mini-100k").exists()


def _no_network(url):
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def test_no_network_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("COFIREC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COFIREC_DATA", raising=False)
    with pytest.raises(DatasetNotFoundError) as info:
        download_dataset("ml-100k", opener=_no_network, progress=False)
    msg = str(info.value)
    assert "https://files.grouplens.org/datasets/movielens/ml-100k.zip" in msg
    assert str(tmp_path / "cache" / "ml-100k" / "u.data") in msg and "Temporary failure" in msg


def test_load_dataset_downloads_a_known_name_into_the_cache(tmp_path, monkeypatch, good_zip):
    monkeypatch.setenv("COFIREC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COFIREC_DATA", raising=False)
    monkeypatch.setitem(KNOWN_DATASETS, "mini-100k", _info(good_zip))
    data = load_dataset("mini-100k", data_dir=tmp_path / "empty")
    assert len(data) == 3 and (tmp_path / "cache" / "mini-100k" / "u.data").is_file()
    with pytest.raises(DatasetNotFoundError, match="downloading is off"):
        load_dataset("ml-1m", download=False)


def test_unknown_name_cannot_be_downloaded(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="unknown dataset 'ml-2b'"):
        download_dataset("ml-2b", tmp_path)


def test_verify_folder_checks_counts(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "u.data").write_bytes(U_DATA[:-1])  # no final newline: still 3 lines
    verify_folder(folder, DatasetInfo(name="x", url="", files=("u.data",), line_counts={"u.data": 3}))
    with pytest.raises(DataError, match="2 lines|expected 2"):
        verify_folder(folder, DatasetInfo(name="x", url="", files=("u.data",), line_counts={"u.data": 2}))


def test_default_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("COFIREC_CACHE_DIR", str(tmp_path))
    assert dl.default_cache_dir() == tmp_path
    monkeypatch.delenv("COFIREC_CACHE_DIR")
    assert "cofirec" in str(dl.default_cache_dir())


def test_progress_bar_goes_to_stderr_not_stdout(tmp_path, good_zip, monkeypatch, capsys):
    # Force rich to draw as if on a terminal: the bar must never touch stdout (``--json`` output lives there).
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    folder = download_dataset("mini-100k", tmp_path / "cache", info=_info(good_zip), progress=True)
    assert (folder / "u.data").is_file()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "downloading mini-100k" in captured.err
