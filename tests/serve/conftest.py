"""Fixtures of the HTTP service tests: a small trained model, real server processes on free ports, and a
throwaway PostgreSQL server.

The tests talk to ``cofirec serve`` started as a separate process (uvicorn on 127.0.0.1), never to the app
in-process, so what they check is what a client of the real server sees. They skip when the ``serve`` extra is
not installed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from glob import glob
from pathlib import Path
from typing import Iterator

import pytest

for _module in ("fastapi", "uvicorn", "sqlalchemy", "prometheus_client", "httpx"):
    pytest.importorskip(_module, reason="the serve extra is not installed (pip install 'cofirec[serve]')")

import httpx  # noqa: E402

import cofirec  # noqa: E402
from cofirec.data.synthetic import make_synthetic  # noqa: E402
from cofirec.models.base import Recommender  # noqa: E402

needs_fold_in = pytest.mark.skipif(
    not (hasattr(Recommender, "recommend_history") and hasattr(Recommender, "explain")),
    reason="needs Recommender.recommend_history/explain (issue 12's model API, branch h/api)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train_model(folder: Path, seed: int = 1, epochs: int = 10) -> Path:
    data = make_synthetic(n_users=120, n_items=80, density=0.12, seed=3)
    cofirec.create_model("mf", {"factors": 8, "epochs": epochs, "random_state": seed}).fit(data).save(folder)
    return folder


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """An MF model on synthetic 1-5 ratings with titles ("Item 7 (1987)"): users 1-120, items 1-80."""
    return train_model(tmp_path_factory.mktemp("model") / "mf")


class Server:
    """``cofirec serve`` in a child process; ``client`` is an httpx client on its base URL."""

    def __init__(self, model_dir: Path, db_url: str, *, api_key: str | None = None, log: Path) -> None:
        self.model_dir, self.db_url, self.api_key, self.log = model_dir, db_url, api_key, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def start(self) -> "Server":
        env = dict(os.environ)
        args = [sys.executable, "-m", "cofirec.cli.main", "serve", str(self.model_dir), "--port", str(self.port), "--db", self.db_url]
        if self.api_key:
            env["COFIREC_TEST_API_KEY"] = self.api_key
            args += ["--api-key-env", "COFIREC_TEST_API_KEY"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if self.client.get("/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not answer within 60 s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key} if self.api_key else {}

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running(model_dir: Path, db_url: str, log: Path, **kwargs) -> Iterator[Server]:
    server = Server(model_dir, db_url, log=log, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
        server.client.close()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'feedback.sqlite'}"


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory) -> Iterator[Server]:
    """One server per test module (SQLite feedback database in a fresh folder)."""
    folder = tmp_path_factory.mktemp("server")
    with running(model_dir, sqlite_url(folder), folder / "server.log") as srv:
        yield srv


# ---------------------------------------------------------------------------------------------------- PostgreSQL
def _postgres_bin() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres(args: list[str]) -> list[str]:
    """Run as user ``postgres`` when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return args
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *args]
    return ["su", "postgres", "-c", shlex.join(args)]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (initdb into a temp folder, a free port); its SQLAlchemy URL."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install postgresql; .ci/run does it)")
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'cofirec[serve]')")
    if os.geteuid() == 0:
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the PostgreSQL server as")
    root = Path(tempfile.mkdtemp(prefix="cofirec-pg-"))
    if os.geteuid() == 0:
        os.chown(root, pw.pw_uid, pw.pw_gid)
    data, port = root / "data", free_port()
    run = lambda args: subprocess.run(_as_postgres(args), capture_output=True, text=True, timeout=120)  # noqa: E731
    init = run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr[-2000:]}")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = run([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "pg.log"), "-w", "-t", "60", "start"])
    if start.returncode != 0:
        log = (root / "pg.log").read_text(errors="replace") if (root / "pg.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed: {start.stderr[-1500:]} {log[-1500:]}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)
