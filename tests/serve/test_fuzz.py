"""Fuzz every endpoint of the OpenAPI schema with schemathesis against a real server: no 5xx, ever, and every
documented answer matches its schema. Examples are bounded so the whole run stays well under a minute.

(Driven through hypothesis directly: schemathesis' lazy pytest fixture loader does not work with pytest 9.)
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed (pip install 'cofirec[dev]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance  # noqa: E402

from .conftest import running, sqlite_url  # noqa: E402

EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _fuzz(operation, base_url: str, statuses: list[int]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        response = case.call(base_url=base_url, timeout=30)
        statuses.append(response.status_code)
        assert "Traceback" not in response.text
        case.validate_response(response, checks=CHECKS)

    run()


def test_every_endpoint_survives_fuzzing_with_no_server_error(model_dir, tmp_path):
    with running(model_dir, sqlite_url(tmp_path), tmp_path / "server.log") as srv:
        schema = schemathesis.openapi.from_url(f"{srv.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        labels = {op.label for op in operations}
        assert {"GET /users/{user_id}/recommendations", "POST /recommendations", "POST /users/{user_id}/ratings", "POST /admin/reload", "GET /items"} <= labels
        failures, statuses = [], []
        for operation in operations:
            try:
                _fuzz(operation, srv.url, statuses)
            except Exception as exc:  # collect every endpoint's first failure, then report them together
                failures.append(f"{operation.label}: {exc}")
        assert not failures, "\n\n".join(failures)
        assert not [s for s in statuses if s >= 500]
        assert len(statuses) >= 5 * len(operations)
        assert {200, 404, 422} <= set(statuses)  # the fuzzing reached real answers as well as rejections
