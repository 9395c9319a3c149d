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


# ---------------------------------------------------------------------- intervals and significance marks (Playwright)
@pytest.fixture(scope="module")
def significance_report(tiny_split, tmp_path_factory):
    """popularity twice (identical lists: the copy can never differ significantly) and item-knn, with intervals."""
    out = tmp_path_factory.mktemp("sig_report")
    result = compare(["popularity", "popularity", ("item-knn", {"k": 20})], tiny_split, protocol="ranking", k=(10,), n_resamples=300)
    best = result.best("ndcg@10")
    copy = next(r for r in result.rows if r["model"].startswith("popularity") and r is not best)
    copy["significant"]["ndcg@10"] = False  # whatever the best model, one visible mark (the twin's p is 1 when popularity leads)
    write_comparison_report(
        result, out, command="cofirec compare --models popularity,popularity,item-knn", seed=0, train=tiny_split.train, test=tiny_split.test
    )
    return out, result


def test_intervals_and_significance_marks_are_visible(significance_report, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install 'cofirec[dev]')")
    binary = find_chromium()
    out, result = significance_report
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto((out / "report.html").as_uri())
            intervals = page.locator("table .ci")
            assert intervals.count() >= 3 * 6  # every model, every per-user metric at k=10
            sync_api.expect(intervals.first).to_be_visible()
            lo, hi = result.rows[2]["intervals"]["ndcg@10"]
            assert f"[{lo:.4f}, {hi:.4f}]" in page.locator("table").first.inner_text()
            mark = page.locator("span.ns").first
            sync_api.expect(mark).to_be_visible()
            assert mark.inner_text() == "≈" and "not significantly different" in (mark.get_attribute("title") or "")
            sync_api.expect(page.locator("#significance-legend")).to_contain_text("Holm correction")
            charts = page.locator('img[alt="Metrics"]')
            sync_api.expect(charts).to_be_visible()
            assert charts.evaluate("i => i.complete && i.naturalWidth > 100")
            shot = tmp_path / "report_significance.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
            assert not errors, errors
        finally:
            browser.close()
