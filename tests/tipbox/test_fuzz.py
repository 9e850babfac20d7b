"""Fuzzing the intake: no input makes the server answer 5xx.

- The OpenAPI description (tipbox/openapi.json, served at /api/v1/openapi.json)
  lists exactly the app's API routes.
- schemathesis generates valid and invalid requests for every operation and
  runs them in-process (WSGI) against an app with CSRF on: each case carries
  the form page's token and session cookie; for half of the cases of the
  upload operations (three in four) the path and ``X-Upload-Token`` point at a
  real open upload (with a random first piece before ``complete``), so the
  handlers behind the id check are reached too. Every answer
  must be a non-5xx that matches the description (status, content type, body
  schema), and invalid input must be refused.
- hypothesis posts random forms (fields, repeated fields, files, odd
  encodings) to the no-JS path.

Bounded by ``max_examples``: well under a minute.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.datastructures import FileStorage, MultiDict

from crypto.identity import ReviewerIdentity
from tests.tipbox.conftest import csrf_token, make_app
from tipbox.intake.fields import FIELDS

SPEC = json.loads((Path(__file__).resolve().parents[2] / "tipbox" / "openapi.json").read_text())
# Negative cases only where there is something (a parameter or a body) to make invalid.
CASES = sorted(
    (op["operationId"], mode)
    for path in SPEC["paths"].values()
    for op in path.values()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or op.get("parameters") or op.get("requestBody")
)
UPLOAD_OPERATIONS = {"putChunk", "completeAttachment", "finalize"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = 40
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    directory = tmp_path_factory.mktemp("fuzz")
    app = make_app(directory / "var", f"sqlite:///{directory / 'fuzz.sqlite3'}", [ReviewerIdentity.generate()])
    yield app
    app.extensions["tipbox.engine"].dispose()


@pytest.fixture(scope="module")
def schema(fuzz_app: Flask):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


def test_description_lists_exactly_the_api_routes(fuzz_app: Flask) -> None:
    routes = set()
    for rule in fuzz_app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    described = {(path, method) for path, ops in SPEC["paths"].items() for method in ops}
    assert routes == described
    served = fuzz_app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json() == SPEC
    from tipbox.errors import MESSAGES

    assert set(SPEC["components"]["schemas"]["Error"]["properties"]["error"]["enum"]) == set(MESSAGES)


@pytest.mark.parametrize(("operation_id", "mode"), CASES, ids=[f"{o}-{m.value}" for o, m in CASES])
def test_no_generated_request_gets_a_server_error(fuzz_app: Flask, schema, operation_id: str,
                                                  mode: GenerationMode) -> None:
    operation = schema.find_operation_by_id(operation_id)
    browser = fuzz_app.test_client()
    token = csrf_token(browser)
    cookie = browser.get_cookie("tipbox").value
    seen: dict[int, int] = {}

    def real_upload() -> tuple[str, str]:
        opened = browser.post("/api/v1/submissions", headers={"X-CSRFToken": token}).get_json()
        return opened["tip_id"], opened["token"]

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), real=st.integers(0, 3), piece=st.binary(max_size=600))
    def run(case, real: int, piece: bytes) -> None:
        # Make credentials real only where the case has them, so an invalid case stays invalid.
        headers = dict(case.headers or {})
        if "X-CSRFToken" in headers:
            headers["X-CSRFToken"] = token
        tip_id = (case.path_parameters or {}).get("tip_id")
        if (operation_id in UPLOAD_OPERATIONS and real and "X-Upload-Token" in headers
                and isinstance(tip_id, str) and re.fullmatch(r"[0-9a-f]{32}", tip_id)):
            tip_id, upload_token = case.path_parameters["tip_id"], headers["X-Upload-Token"] = real_upload()
            attachment_id = case.path_parameters.get("attachment_id")
            if operation_id == "completeAttachment" and piece and isinstance(attachment_id, str):
                browser.put(f"/api/v1/submissions/{tip_id}/attachments/{attachment_id}/chunks/0", data=piece,
                            content_type="application/octet-stream",
                            headers={"X-CSRFToken": token, "X-Upload-Token": upload_token})
        response = case.call(headers=headers, cookies={"tipbox": cookie})
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS
        case.validate_response(response, checks=checks)

    run()
    print(f"{operation_id} {mode.value}: statuses {dict(sorted(seen.items()))}")
    assert seen and max(seen) < 500, seen


VALUES = st.one_of(st.text(max_size=300), st.sampled_from(["", "1", "on", "ANAK-EKO", "11", "11.01", "yes",
                                                            "danger_now", "13-17", "9" * 30, "-1", "\x00"]))

# File names and types are header values in a multipart body: a line break there is not HTTP at all.
LINE = st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=40)


@FUZZ_SETTINGS
@given(
    fields=st.lists(st.tuples(st.sampled_from([f.name for f in FIELDS] + ["x", "csrf_token", "lang"]), VALUES),
                    max_size=25),
    files=st.lists(st.tuples(LINE, st.binary(max_size=2048), LINE), max_size=3),
    encoding=st.sampled_from(["multipart", "urlencoded"]),
)
def test_no_posted_form_gets_a_server_error(fuzz_form_app: tuple[Flask, str, str], fields, files, encoding) -> None:
    app, token, cookie = fuzz_form_app
    client = app.test_client()
    client.set_cookie("tipbox", cookie)
    data = MultiDict([("csrf_token", token), *fields])
    if encoding == "multipart":
        for name, content, media_type in files:
            data.add("attachments", FileStorage(stream=io.BytesIO(content), filename=name,
                                                content_type=media_type or "application/octet-stream"))
        response = client.post("/", data=data, content_type="multipart/form-data")
    else:
        response = client.post("/", data=data)
    assert response.status_code < 500, response.status_code
    assert response.status_code in (200, 400, 413)


@pytest.fixture(scope="module")
def fuzz_form_app(fuzz_app: Flask) -> tuple[Flask, str, str]:
    client = fuzz_app.test_client()
    token = csrf_token(client)
    return fuzz_app, token, client.get_cookie("tipbox").value
