"""schemathesis against the app in-process: generated requests (valid and invalid by the OpenAPI document)
to every operation. No answer is a 5xx, every answer is strict JSON of the documented status and shape,
and no request reaches the last-resort handler (its count stays 0).

Bounded and seeded (derandomized) so it runs the same few hundred requests on every run; the larger,
randomised campaign is `benchmarks/web_abuse.py`.
"""
from __future__ import annotations

import json
import warnings

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (content_type_conformance, negative_data_rejection, not_a_server_error,  # noqa: E402
                                 response_schema_conformance, status_code_conformance)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from infercast.web.app import create_app  # noqa: E402

EXAMPLES = 50  # per operation (both generation modes): ~400 requests, ~20 s
APP = create_app(allowed_hosts=["testserver"])
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


RESULT_NUMBERS = {"output_tok_s_per_gpu", "input_tok_s_per_gpu", "tokens_per_s_per_user", "ttft_s", "tpot_s",
                  "upper_forward_passes_per_s", "lower_forward_passes_per_s", "usd_per_m_output", "total_params"}


def _null_numbers(o, depth=0) -> list[str]:
    """Result numbers sent as null: NaN or infinity in the computation (a silent wrong number)."""
    if depth > 8:
        return []
    if isinstance(o, dict):
        return [k for k, v in o.items() if k in RESULT_NUMBERS and v is None] + [
            x for v in o.values() for x in _null_numbers(v, depth + 1)]
    if isinstance(o, list):
        return [x for v in o for x in _null_numbers(v, depth + 1)]
    return []


def _strict(text: str):
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c} in the answer"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests_get_documented_answers_never_5xx(case):
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    assert response.status_code < 500, response.text[:300]
    ctype = (response.headers.get("content-type") or [""])[0]  # schemathesis: header -> list of values
    if ctype.startswith("application/json"):
        body = _strict(response.text)
        if response.status_code >= 400:
            assert isinstance(body["detail"], str) and body["detail"] and "field" in body
        else:
            assert not _null_numbers(body), (case.query, _null_numbers(body)[:3])
    assert APP.state.unexpected_errors == [0], "a request reached the last-resort handler (see the log)"
