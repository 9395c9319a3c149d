"""The HTML report opens in headless Chromium without errors, with every embedded plot decoded.

Needs the ``chromium`` binary (Debian/Ubuntu: ``apt-get install -y --no-install-recommends chromium``);
skipped with that hint when it is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cofirec.experiments.compare import compare, write_comparison_report

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "chromium", "chromium-browser", "google-chrome")

CHECK_SCRIPT = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.length > 0 && imgs.every(function (i) { return i.complete && i.naturalWidth > 100 && i.naturalHeight > 50; });
  document.title = (ok ? 'IMAGES_OK ' : 'IMAGES_BROKEN ') + imgs.length;
});
</script>
"""


def find_chromium() -> str:
    for c in CANDIDATES:
        path = c if Path(c).is_absolute() and Path(c).exists() else shutil.which(c)
        if path:
            return path
    pytest.skip("chromium not installed (CI: apt-get install -y --no-install-recommends chromium)")


def run_chromium(binary: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-extensions",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report_dir(tiny_split, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = compare(["popularity", ("mf", {"factors": 4, "epochs": 3})], tiny_split.train, tiny_split.test, protocol="ranking", k=(10,))
    write_comparison_report(
        result,
        out,
        config={"models": ["popularity", "mf"]},
        command="cofirec compare --models popularity,mf",
        seed=0,
        train=tiny_split.train,
        test=tiny_split.test,
    )
    return out


def test_report_renders_with_all_images_decoded(report_dir, tmp_path):
    binary = find_chromium()
    page = (report_dir / "report.html").read_text()
    assert "<script" not in page  # the report itself has no scripts; the probe below is added to a copy
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", CHECK_SCRIPT + "</body>"))
    res = run_chromium(binary, tmp_path, "--dump-dom", probe.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    title = re.search(r"<title>(.*?)</title>", res.stdout, re.S)
    assert title is not None, res.stdout[:500]
    n_images = page.count("data:image/png;base64,")
    assert title.group(1).strip() == f"IMAGES_OK {n_images}", res.stderr[-2000:]
    assert "cofirec compare --models popularity,mf" in res.stdout
    errors = [line for line in res.stderr.splitlines() if "CONSOLE" in line or "ERR_" in line or "Uncaught" in line]
    assert not errors, errors


def test_report_screenshot_is_written(report_dir, tmp_path):
    binary = find_chromium()
    shot = tmp_path / "shot.png"
    res = run_chromium(binary, tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", (report_dir / "report.html").as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
