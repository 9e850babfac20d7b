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
  encodings, numbers in every script) to the no-JS path.
- hypothesis also goes where schemathesis stays inside the description:
  path parameters at and past their type limits (piece numbers up to 2**80
  and Unicode digits, ids with line breaks and NULs), JSON bodies nested
  thousands deep or carrying numbers of thousands of digits, and (against a
  real gunicorn, whose parser raises inside the app) malformed chunked bodies.

Everything in-process runs on SQLite and on PostgreSQL, whose column types
refuse what SQLite stores. Bounded by ``max_examples``: about a minute.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
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

from bench.net import raw_exchange, status_of
from crypto.identity import ReviewerIdentity
from tests.conftest import POSTGRES_URL, postgres_available, reset_postgres
from tests.support import missing_service
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


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    directory = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{directory / 'fuzz.sqlite3'}"
    if request.param == "postgresql":
        if not postgres_available():
            missing_service("PostgreSQL is not reachable at " + POSTGRES_URL.split("@")[-1])
        reset_postgres()
        url = POSTGRES_URL
    app = make_app(directory / "var", url, [ReviewerIdentity.generate()])
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


# Numbers as a hand-made request may write them: every script's digits, superscripts, huge, signed.
NUMBERS = st.one_of(
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=12),
    st.text(alphabet=st.characters(categories=["No"]), min_size=1, max_size=3),
    st.integers(-(10**30), 10**30).map(str),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.sampled_from(["²", "١٢", "１２", "1e3", "0x1f", " 7 ", "12.5", "+4"]),
)
VALUES = st.one_of(st.text(max_size=300), NUMBERS,
                   st.sampled_from(["", "1", "on", "ANAK-EKO", "11", "11.01", "yes",
                                    "danger_now", "13-17", "9" * 30, "-1", "\x00"]))

# File names and types are header values in a multipart body: a line break there is not HTTP at all.
LINE = st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=40)


@FUZZ_SETTINGS
@given(
    fields=st.lists(st.tuples(st.sampled_from([f.name for f in FIELDS] + ["x", "csrf_token", "lang"]), VALUES),
                    max_size=25),
    files=st.lists(st.tuples(LINE, st.binary(max_size=2048), LINE), max_size=3),
    encoding=st.sampled_from(["multipart", "urlencoded"]),
    count=NUMBERS,
)
def test_no_posted_form_gets_a_server_error(fuzz_form_app: tuple[Flask, str, str], fields, files, encoding,
                                            count: str) -> None:
    app, token, cookie = fuzz_form_app
    client = app.test_client()
    client.set_cookie("tipbox", cookie)
    data = MultiDict([("csrf_token", token), ("description", "x"), ("victims_count", count), *fields])
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


# --------------------------------------------------------------------------- beyond the description


def _real_upload(client, token: str) -> tuple[str, str]:
    opened = client.post("/api/v1/submissions", headers={"X-CSRFToken": token}).get_json()
    return opened["tip_id"], opened["token"]


HEX32 = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
# An id is 32 hex digits; around that: line breaks and NULs (percent-encoded in the path), case, length.
IDS = st.one_of(
    HEX32,
    st.tuples(HEX32, st.sampled_from(["%0A", "%0D%0A", "%00", "%20", "/", "%2F", "0", "\u00e9"])).map("".join),
    HEX32.map(str.upper),
    st.text(alphabet=st.characters(blacklist_characters="/?#%"), min_size=1, max_size=80),
)
PIECES = st.one_of(
    st.integers(-(2**80), 2**80).map(str),
    st.integers(2**31 - 3, 2**64).map(str),
    st.sampled_from([str(2**31 - 1), str(2**31), str(2**32), str(2**63), "9" * 5000]),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=12),
)


MORE_EXAMPLES = settings(FUZZ_SETTINGS, max_examples=100)


def _send(client, base: str, attachment_id: str, seq: str, action: str, headers: dict[str, str]):
    if action == "chunks":
        return client.put(f"{base}/attachments/{attachment_id}/chunks/{seq}", data=b"piece",
                          content_type="application/octet-stream", headers=headers)
    if action == "complete":
        return client.post(f"{base}/attachments/{attachment_id}/complete", headers=headers,
                           json={"size": 5, "sha256": "0" * 64})
    return client.post(f"{base}/finalize", headers=headers,
                       json={"payload": "", "attachments": [attachment_id], "key_fingerprint": "0" * 64})


@MORE_EXAMPLES
@given(seq=PIECES, attachment_id=HEX32)
def test_piece_numbers_at_their_type_limits_never_get_a_server_error(fuzz_form_app: tuple[Flask, str, str],
                                                                     seq: str, attachment_id: str) -> None:
    app, token, cookie = fuzz_form_app
    client = app.test_client()
    client.set_cookie("tipbox", cookie)
    upload_id, upload_token = _real_upload(client, token)
    headers = {"X-CSRFToken": token, "X-Upload-Token": upload_token}
    response = _send(client, f"/api/v1/submissions/{upload_id}", attachment_id, seq, "chunks", headers)
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:200])


@MORE_EXAMPLES
@given(which=st.sampled_from(["upload", "attachment"]), bad_id=IDS, attachment_id=HEX32,
       action=st.sampled_from(["chunks", "complete", "finalize"]), base=st.sampled_from(["submissions", "followups"]))
def test_ids_at_their_limits_never_get_a_server_error(fuzz_form_app: tuple[Flask, str, str], which: str,
                                                      bad_id: str, attachment_id: str, action: str,
                                                      base: str) -> None:
    app, token, cookie = fuzz_form_app
    client = app.test_client()
    client.set_cookie("tipbox", cookie)
    upload_id, upload_token = _real_upload(client, token)
    headers = {"X-CSRFToken": token, "X-Upload-Token": upload_token}
    if which == "upload":
        upload_id = bad_id
    else:
        attachment_id = bad_id
    response = _send(client, f"/api/v1/{base}/{upload_id}", attachment_id, "0", action, headers)
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:200])


JSON_OPERATIONS = ("/api/v1/status", "/api/v1/followups", "complete", "finalize", "followup-finalize")
LEAVES = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.integers(1, 6000).map(lambda n: "-" * (n % 2) + "9" * n),
    st.integers(4300, 6000).map(lambda n: "9" * n),  # past Python's integer-string limit
    st.sampled_from(["1e999", "-1e999", "1.5", "NaN", "Infinity", "-Infinity", "true", "null", '"x"', '"\\u0000"']),
)


@st.composite
def hostile_json(draw) -> str:
    """A body shaped like the operation's, with one value replaced by something nested or huge."""
    levels = draw(st.one_of(st.integers(0, 40), st.integers(900, 6000)))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"k":', "}")]))
    inner = opener * levels + draw(LEAVES) + closer * draw(st.sampled_from([levels, 0, max(0, levels - 1)]))
    key = draw(st.sampled_from(["lookup", "access", "size", "sha256", "payload", "attachments", "key_fingerprint",
                                "source_recipient", "extra"]))
    body = {"lookup": "0" * 64, "access": "x", "size": 1, "sha256": "0" * 64, "payload": "",
            "attachments": [], "key_fingerprint": "0" * 64, "source_recipient": "age1x"}
    text = json.dumps({k: v for k, v in body.items() if k != key})
    return text[:-1] + f', "{key}": {inner}}}' if text != "{}" else f'{{"{key}": {inner}}}'


@FUZZ_SETTINGS
@given(operation=st.sampled_from(JSON_OPERATIONS), body=hostile_json(), attachment=HEX32)
def test_nested_and_huge_number_json_never_gets_a_server_error(fuzz_form_app: tuple[Flask, str, str],
                                                              operation: str, body: str, attachment: str) -> None:
    app, token, cookie = fuzz_form_app
    client = app.test_client()
    client.set_cookie("tipbox", cookie)
    headers = {"X-CSRFToken": token}
    path = operation
    if not operation.startswith("/"):
        upload_id, headers["X-Upload-Token"] = _real_upload(client, token)
        path = {"complete": f"/api/v1/submissions/{upload_id}/attachments/{attachment}/complete",
                "finalize": f"/api/v1/submissions/{upload_id}/finalize",
                "followup-finalize": f"/api/v1/followups/{upload_id}/finalize"}[operation]
    response = client.post(path, data=body.encode(), content_type="application/json", headers=headers)
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:200])
    assert response.status_code in (400, 403, 404, 409, 413), response.status_code


# --------------------------------------------------------------------------- malformed framing, through gunicorn

CHUNK_SIZES = st.one_of(
    st.integers(0, 2**100).map(lambda n: format(n, "x")),
    st.text(alphabet="0123456789abcdefABCDEFxz-+ ;=\t", min_size=0, max_size=30),
    st.binary(max_size=12).map(lambda b: b.decode("latin-1")),
)
TERMINATORS = st.sampled_from(["\r\n", "\n", "", "XX", "\r"])


@st.composite
def chunked_bodies(draw) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        data = draw(st.binary(max_size=64))
        size = draw(st.one_of(st.just(format(len(data), "x")), CHUNK_SIZES))
        parts.append(size.encode("latin-1") + draw(TERMINATORS).encode() + data + draw(TERMINATORS).encode())
    if draw(st.booleans()):
        parts.append(b"0\r\n\r\n")
    return b"".join(parts)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    from bench.load import Client, TipboxServer

    server = TipboxServer.create(tmp_path_factory.mktemp("framing") / "var")
    server.start()
    client = Client(server.url)
    client.start()
    client.close()
    yield server, client
    server.stop()


@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(target=st.sampled_from([("POST", "/", "application/x-www-form-urlencoded"),
                               ("POST", "/", "multipart/form-data; boundary=b"),
                               ("POST", "/status", "application/x-www-form-urlencoded"),
                               ("POST", "/api/v1/status", "application/json"),
                               ("POST", "/api/v1/submissions", "application/json")]),
       body=chunked_bodies())
def test_malformed_chunked_bodies_never_get_a_server_error(live_server, target: tuple[str, str, str],
                                                          body: bytes) -> None:
    server, client = live_server
    method, path, media = target
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {media}\r\nCookie: {client.cookie}\r\n"
            f"X-CSRFToken: {client.csrf}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    status = status_of(raw_exchange(server.gunicorn.port, head.encode() + body, half_close=True))
    assert status < 500, (status, body[:80], server.log()[-500:])
