"""Starting Spark for cofirec: the pyspark and Java checks, a quiet local session and stage progress lines.

Nothing here imports pyspark at module import time: ``import cofirec.engines`` works without the ``spark``
extra, and the first call that needs Spark raises :class:`~cofirec.errors.MissingDependencyError` naming
``pip install 'cofirec[spark]'`` (or :class:`~cofirec.errors.ConfigError` when Java 17+ is missing).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

from cofirec._extras import require
from cofirec.errors import ConfigError

MIN_JAVA = 17
MIN_PYSPARK = (4, 0)
DEFAULT_MASTER = "local[2]"
_JAVA_HINT = "install a Java runtime 17 or newer (e.g. 'apt-get install openjdk-17-jre-headless') and put it on PATH or set JAVA_HOME"

# Spark's own logs: warnings only (and none of the usual harmless start-up warnings), on stderr.
_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{1}: %m%n%ex
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = error
logger.blas.name = dev.ludovic.netlib
logger.blas.level = error
logger.instance.name = com.github.fommil
logger.instance.level = error
logger.pyspark.name = org.apache.spark.api.python
logger.pyspark.level = error
"""


def java_major(java: str) -> int | None:
    """Major version of the ``java`` executable (``1.8`` -> 8), or None when ``java -version`` says nothing usable."""
    try:
        run = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', run.stderr + run.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java() -> str | None:
    """``$JAVA_HOME/bin/java`` when JAVA_HOME is set (as Spark's launcher does), else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.exists() else None
    return shutil.which("java")


def check_java() -> str:
    """The java executable Spark will use; ConfigError (one line, saying what to install) unless it is Java 17+."""
    java = find_java()
    if java is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java" if os.environ.get("JAVA_HOME") else "no 'java' on PATH"
        raise ConfigError(f"the Spark engine needs Java {MIN_JAVA} or newer ({where}): {_JAVA_HINT}")
    major = java_major(java)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major is not None else "a java whose version could not be read"
        raise ConfigError(f"the Spark engine needs Java {MIN_JAVA} or newer, found {found} at {java}: {_JAVA_HINT}")
    return java


def require_pyspark() -> Any:
    """The pyspark module; MissingDependencyError naming the ``spark`` extra when absent, ConfigError when too old."""
    pyspark = require("pyspark", "the Spark engine")
    found = tuple(int(p) for p in re.findall(r"\d+", pyspark.__version__)[:2])
    if found < MIN_PYSPARK:
        raise ConfigError(
            f"the Spark engine needs pyspark {'.'.join(map(str, MIN_PYSPARK))} or newer, found {pyspark.__version__}: pip install -U 'cofirec[spark]'"
        )
    return pyspark


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[") or master.startswith("local-cluster[")


def local_cores(master: str) -> int:
    """Worker threads of a ``local[N]`` / ``local[*]`` master (1 for plain ``local``)."""
    match = re.fullmatch(r"local\[(\d+|\*)(?:,\s*\d+)?\]", master)
    if match is None:
        return 1
    if match.group(1) == "*":
        return os.cpu_count() or 1
    return max(1, int(match.group(1)))


def default_driver_memory() -> str:
    """About 40% of this machine's memory (between 1 and 32 GiB): the local driver is also the executor."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4g"
    return f"{int(min(32, max(1, total * 0.4 / 2**30)))}g"


def spark_session(master: str = DEFAULT_MASTER, *, app_name: str = "cofirec", driver_memory: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """A SparkSession for cofirec (the running one when this process already has one with the same master).

    ``master``: ``local[N]`` (N worker threads in this process's JVM; default ``local[2]``) or a cluster URL such as
    ``spark://HOST:7077``. Local sessions get defaults for a small machine: driver memory about 40% of RAM
    (``driver_memory`` overrides), shuffle partitions 2 per core, no web UI, bound to 127.0.0.1. Spark's logs are
    limited to warnings and its console progress bar is off (cofirec prints one line per stage instead). ``conf``
    adds or overrides any Spark setting. On a cluster the executors need cofirec installed (the batch
    recommender runs cofirec code in Python workers).
    """
    require_pyspark()
    check_java()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        running = active.sparkContext.master
        if running != master:
            raise ConfigError(f"a Spark session with master {running!r} is already running in this process; stop it first or use master={running!r}")
        return active
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    scratch = Path(tempfile.mkdtemp(prefix="cofirec-spark-"))
    (scratch / "log4j2.properties").write_text(_LOG4J2, encoding="utf-8")
    settings = {
        "spark.app.name": app_name,
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{scratch / 'log4j2.properties'}",
        "spark.executor.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{scratch / 'log4j2.properties'}",
        "spark.local.dir": str(scratch / "local"),
    }
    if is_local(master):
        cores = local_cores(master)
        settings.update(
            {
                "spark.driver.memory": driver_memory or default_driver_memory(),
                "spark.sql.shuffle.partitions": str(2 * cores),
                "spark.default.parallelism": str(2 * cores),
                "spark.ui.enabled": "false",
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
            }
        )
    elif driver_memory:
        settings["spark.driver.memory"] = driver_memory
    settings.update(conf or {})
    builder = SparkSession.builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))  # ALS cuts its lineage every 10 iterations
    return spark


class Stages:
    """One progress line per stage (``spark: <stage> (12.3 s)``) on stderr, or through a callable, or nothing."""

    def __init__(self, progress: bool | Callable[[str], None]) -> None:
        self._emit: Callable[[str], None] | None
        if callable(progress):
            self._emit = progress
        elif progress:
            self._emit = lambda line: print(line, file=sys.stderr, flush=True)
        else:
            self._emit = None
        self._start = time.perf_counter()

    def __call__(self, stage: str) -> None:
        if self._emit is not None:
            self._emit(f"spark: {stage} ({time.perf_counter() - self._start:.1f} s)")
