"""A shared local[2] Spark session for the engine tests (skipped, with the reason, without pyspark or Java 17+)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from cofirec.errors import ConfigError, MissingDependencyError

    try:
        from cofirec.engines.session import check_java, require_pyspark

        require_pyspark()
        check_java()
    except (MissingDependencyError, ConfigError) as exc:
        pytest.skip(f"Spark engine unavailable: {exc}")
    from cofirec.engines.session import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()
