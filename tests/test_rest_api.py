"""`rest_api` source against a small threaded HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps import rest_api
from datasetgen_assets.steps.registry import StepContext, StepResult, get_step_type
from tests.fixtures.services import free_port

API = get_step_type("rest_api")
CTX = StepContext(pipeline="test", step_id="api")
TOKEN = "tok-SECRET-123"
TOKEN_ENV = "DG_TEST_API_TOKEN"
ITEMS = [{"id": i, "name": f"n{i}"} for i in range(1, 8)]


class Api:
    """Server state: hits per path+key, and the query of every request per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.queries: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
        self.lock = threading.Lock()
        self.base = ""
        self.other = ""  # base URL of the second server (another origin)


class Handler(BaseHTTPRequestHandler):
    api: Api

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.route()

    def do_POST(self) -> None:
        self.route()

    def route(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        name = parts.path.strip("/")
        with self.api.lock:
            self.api.hits[f"{name}:{q.get('key', '')}"] += 1
            self.api.queries[name].append(q)
            hit = self.api.hits[f"{name}:{q.get('key', '')}"]
        getattr(self, f"r_{name.replace('-', '_')}", self.r_missing)(q, hit)

    def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        ctype = "text/plain" if isinstance(body, str) else "application/json"
        for k, v in {"Content-Type": ctype, **(headers or {})}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def r_missing(self, q: dict, hit: int) -> None:
        self.send(404, "no such thing")

    def r_page(self, q: dict, hit: int) -> None:
        size, page = int(q.get("per_page", 2)), int(q["page"])
        self.send(200, {"data": {"items": ITEMS[:5][(page - 1) * size : page * size]}})

    def r_offset(self, q: dict, hit: int) -> None:
        start, size = int(q["offset"]), int(q["limit"])
        self.send(200, {"results": ITEMS[start : start + size]})

    def r_cursor(self, q: dict, hit: int) -> None:
        pages = {None: (ITEMS[0:2], "c2"), "c2": (ITEMS[2:4], "c3"), "c3": (ITEMS[4:5], None)}
        items, nxt = pages[q.get("cursor")]
        self.send(200, {"items": items, "meta": {"next": nxt}})

    def r_cursor_loop(self, q: dict, hit: int) -> None:
        self.send(200, {"items": ITEMS[:1], "next": "same"})

    def r_link(self, q: dict, hit: int) -> None:
        p = int(q.get("p", 1))
        links = {1: "</link?p=2>", 2: f"<{self.api.base}/link?p=3>"}  # relative, then absolute
        link = f'{links.get(p)}; rel="next", </link?p=1>; rel="first"'
        headers = {"Link": link} if p in links else {}
        self.send(200, ITEMS[(p - 1) * 2 : p * 2], headers)

    def r_link_away(self, q: dict, hit: int) -> None:
        self.send(200, ITEMS[:1], {"Link": f'<{q["to"]}>; rel="next"'})

    def r_redirect(self, q: dict, hit: int) -> None:
        self.send(302, "", {"Location": q["to"]})

    def r_headers(self, q: dict, hit: int) -> None:
        self.send(200, [{k.lower(): v for k, v in self.headers.items()}])

    def r_nested(self, q: dict, hit: int) -> None:
        self.send(200, {"data": [{"id": 1, "user": {"name": "a", "geo": {"lat": 1.5}}}]})

    def r_auth(self, q: dict, hit: int) -> None:
        got = self.headers.get("Authorization", "")
        if got == f"Bearer {TOKEN}":
            self.send(200, [{"ok": True}])
        else:
            self.send(401, f"bad credentials: {got!r}")  # echoes the header back

    def r_key_auth(self, q: dict, hit: int) -> None:
        ok = self.headers.get("X-Api-Key") == TOKEN
        self.send(200 if ok else 403, [{"ok": True}] if ok else "forbidden")

    def r_flaky(self, q: dict, hit: int) -> None:
        self.send(500, "boom") if hit == 1 else self.send(200, [{"attempt": hit}])

    def r_down(self, q: dict, hit: int) -> None:
        self.send(503, "maintenance")

    def r_limited(self, q: dict, hit: int) -> None:
        if hit == 1:
            self.send(429, "slow down", {"Retry-After": "0"})
        else:
            self.send(200, [{"attempt": hit}])

    def r_slow(self, q: dict, hit: int) -> None:
        time.sleep(1.0)
        self.send(200, [])

    def r_html(self, q: dict, hit: int) -> None:
        self.send(200, "<html><body>Maintenance page</body></html>", {"Content-Type": "text/html"})


def _serve(api: Api) -> tuple[ThreadingHTTPServer, str]:
    handler = type("BoundHandler", (Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    state = Api()
    first, state.base = _serve(state)
    second, state.other = _serve(state)
    yield state
    for server in (first, second):
        server.shutdown()
        server.server_close()


def key() -> str:
    return uuid.uuid4().hex


def fetch(api: Api, path: str, **config: Any) -> StepResult:
    """Run the step on the test server: private network allowed, tiny backoff."""
    cfg = {"allow_private_network": True, "backoff_factor": 0.01, **config}
    cfg["url"] = f"{api.base}/{path}"
    return API.run([], API.config_model.model_validate(cfg), CTX)


def fail(api: Api, path: str, **config: Any) -> str:
    with pytest.raises(StepInputError) as err:
        fetch(api, path, **config)
    return str(err.value)


# --- pagination ------------------------------------------------------------------------------


def test_page_pagination_until_an_empty_page(api: Api) -> None:
    pagination = {"type": "page", "size_param": "per_page", "page_size": 2}
    result = fetch(api, "page", records_path="data.items", pagination=pagination)
    assert result.frame["id"].tolist() == [1, 2, 3, 4, 5]
    assert result.report["pages"] == 4  # 2 + 2 + 1 + the empty page that stops
    assert result.report["requests"] == 4
    assert result.report["rows"] == 5
    assert result.report["stopped_by"] == "end"


def test_offset_pagination_advances_by_records_received(api: Api) -> None:
    api.queries["offset"].clear()
    pagination = {"type": "offset", "size_param": "limit", "page_size": 3}
    result = fetch(api, "offset", records_path="results", pagination=pagination)
    assert result.frame["id"].tolist() == list(range(1, 8))
    assert [q["offset"] for q in api.queries["offset"]] == ["0", "3", "6", "7"]


def test_cursor_pagination_follows_the_body_cursor(api: Api) -> None:
    api.queries["cursor"].clear()
    pagination = {"type": "cursor", "cursor_path": "meta.next"}
    result = fetch(api, "cursor", records_path="items", pagination=pagination)
    assert result.frame["name"].tolist() == ["n1", "n2", "n3", "n4", "n5"]
    assert [q.get("cursor") for q in api.queries["cursor"]] == [None, "c2", "c3"]
    assert result.report["pages"] == 3


def test_link_pagination_follows_relative_and_absolute_next_links(api: Api) -> None:
    result = fetch(api, "link", pagination={"type": "link"})
    assert result.frame["id"].tolist() == [1, 2, 3, 4, 5, 6]
    assert result.report["pages"] == 3


def test_max_pages_stops_and_warns(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    pagination = {"type": "page", "size_param": "per_page", "page_size": 2, "max_pages": 2}
    with caplog.at_level(logging.WARNING):
        result = fetch(api, "page", records_path="data.items", pagination=pagination)
    assert result.frame["id"].tolist() == [1, 2, 3, 4]
    assert result.report["stopped_by"] == "max_pages"
    assert "max_pages=2" in caplog.text


def test_a_repeating_cursor_is_an_error_not_an_endless_loop(api: Api) -> None:
    pagination = {"type": "cursor", "cursor_path": "next"}
    message = fail(api, "cursor-loop", records_path="items", pagination=pagination)
    assert "same cursor twice" in message


def test_nested_records_are_flattened_with_dots(api: Api) -> None:
    frame = fetch(api, "nested", records_path="data").frame
    assert list(frame.columns) == ["id", "user.name", "user.geo.lat"]
    assert frame.loc[0, "user.geo.lat"] == 1.5


# --- auth and secrets ------------------------------------------------------------------------


def test_bearer_token_from_env_is_sent_and_never_reported(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    caplog.set_level(logging.DEBUG)
    result = fetch(api, "auth", auth={"env": TOKEN_ENV})
    assert result.frame["ok"].tolist() == [True]
    assert TOKEN not in json.dumps(result.report)
    assert TOKEN not in caplog.text


def test_custom_header_without_scheme(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    result = fetch(api, "key-auth", auth={"env": TOKEN_ENV, "header": "X-Api-Key", "scheme": ""})
    assert result.frame["ok"].tolist() == [True]


def test_rejected_token_error_masks_the_token_the_server_echoed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    message = fail(api, "auth", auth={"env": TOKEN_ENV, "scheme": "Token"})
    assert f"GET {api.base}/auth returned 401 Unauthorized: bad credentials: 'Token ***'" in message
    assert f"check the token in ${TOKEN_ENV}" in message
    assert TOKEN not in message


def test_missing_token_variable_is_named(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    before = api.hits["auth:"]
    message = fail(api, "auth", auth={"env": TOKEN_ENV})
    assert f"environment variable {TOKEN_ENV} is not set" in message
    assert f"Fix: export {TOKEN_ENV}=" in message
    assert api.hits["auth:"] == before  # nothing was sent without the token


def test_token_is_not_sent_to_another_origin(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    auth = {"env": TOKEN_ENV, "header": "X-Api-Key", "scheme": ""}
    same = fetch(api, "headers", auth=auth).frame
    assert same.loc[0, "x-api-key"] == TOKEN
    via_link = fetch(
        api, f"link-away?to={api.other}/headers", auth=auth, pagination={"type": "link"}
    ).frame
    assert via_link["host"].tolist()[-1] == api.other.removeprefix("http://")
    assert "x-api-key" not in via_link.columns
    via_redirect = fetch(api, f"redirect?to={api.other}/headers", auth=auth).frame
    assert "x-api-key" not in via_redirect.columns
    assert "authorization" not in via_redirect.columns


# --- HTTP errors and retries -----------------------------------------------------------------


def test_404_names_method_url_status_and_body(api: Api) -> None:
    message = fail(api, "nowhere", params={"page": 3})
    expected = f"GET {api.base}/nowhere?page=3 returned 404 Not Found: no such thing."
    assert message.startswith(expected)
    assert "Fix: check `url`" in message


def test_500_is_retried_then_succeeds(api: Api) -> None:
    k = key()
    result = fetch(api, "flaky", params={"key": k})
    assert api.hits[f"flaky:{k}"] == 2
    assert result.frame["attempt"].tolist() == [2]
    assert (result.report["requests"], result.report["retries"]) == (2, 1)


def test_5xx_after_all_retries_is_an_error(api: Api) -> None:
    k = key()
    message = fail(api, "down", params={"key": k}, retries=2)
    assert api.hits[f"down:{k}"] == 3
    assert "returned 503 Service Unavailable (after 2 retries): maintenance" in message
    assert "try again later" in message


def test_429_with_retry_after_is_retried(api: Api) -> None:
    k = key()
    started = time.perf_counter()
    result = fetch(api, "limited", params={"key": k}, backoff_factor=0)
    assert api.hits[f"limited:{k}"] == 2
    assert result.frame["attempt"].tolist() == [2]
    assert time.perf_counter() - started < 2


def test_post_is_retried_only_when_opted_in(api: Api) -> None:
    k = key()
    message = fail(api, "flaky", method="POST", params={"key": k}, body={"q": 1})
    assert api.hits[f"flaky:{k}"] == 1
    assert "POST" in message and "returned 500" in message
    k = key()
    result = fetch(api, "flaky", method="POST", params={"key": k}, retry_post=True)
    assert api.hits[f"flaky:{k}"] == 2
    assert result.frame["attempt"].tolist() == [2]


def test_timeout_is_retried_then_reported(api: Api) -> None:
    k = key()
    started = time.perf_counter()
    message = fail(api, "slow", params={"key": k}, timeout=0.3, retries=1)
    assert time.perf_counter() - started < 1.9
    assert api.hits[f"slow:{k}"] == 2
    assert "timed out after 0.3 s" in message
    assert "raise `timeout`" in message


def test_connection_refused_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/x"
    cfg = API.config_model(url=url, allow_private_network=True, retries=0)
    with pytest.raises(StepInputError, match=r"GET http://127\.0\.0\.1:\d+/x failed: .*refused\."):
        API.run([], cfg, CTX)


# --- bodies ----------------------------------------------------------------------------------


def test_non_json_body(api: Api) -> None:
    message = fail(api, "html")
    assert "returned a body that is not JSON (text/html)" in message
    assert "Maintenance page" in message


def test_missing_records_path_says_what_is_there(api: Api) -> None:
    message = fail(api, "page", records_path="data.itemz", params={"page": 1})
    assert "records_path 'data.itemz' is not in the response" in message
    assert "no 'itemz' at data (found: items)" in message


def test_object_body_without_records_path_suggests_one(api: Api) -> None:
    message = fail(api, "nested")
    assert "are a dict, not a list. Lists there: data." in message


# --- SSRF guard ------------------------------------------------------------------------------


def test_loopback_is_refused_without_allow_private_network(api: Api) -> None:
    before = sum(api.hits.values())
    cfg = API.config_model(url=f"{api.base}/page?page=1")
    with pytest.raises(StepInputError, match=r"resolves to 127\.0\.0\.1, a loopback address"):
        API.run([], cfg, CTX)
    assert sum(api.hits.values()) == before  # refused before connecting


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/data", "10.0.0.1, a private address"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8080/x", "loopback"),
        ("http://localhost:1/x", "loopback"),
    ],
)
def test_non_public_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(StepInputError, match=reason):
        API.run([], API.config_model(url=url, timeout=0.1, retries=0), CTX)


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat only 127.0.0.1 as public, so the guard's later checks can be tested offline."""
    real = rest_api.blocked_reason

    def fake(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        return None if str(ip) == "127.0.0.1" else real(ip)

    monkeypatch.setattr(rest_api, "blocked_reason", fake)


@pytest.mark.usefixtures("loopback_is_public")
def test_next_links_and_redirects_are_checked_too(api: Api) -> None:
    cfg = {"allow_private_network": False, "pagination": {"type": "link"}}
    assert fetch(api, "link", **cfg).report["pages"] == 3  # the guard lets this host through
    message = fail(api, "link-away?to=http://10.0.0.1/steal", **cfg)
    assert "refusing to fetch http://10.0.0.1/steal" in message
    message = fail(api, "redirect?to=http://10.0.0.1/steal", allow_private_network=False)
    assert "refusing to fetch http://10.0.0.1/steal" in message


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("192.168.1.5", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::1", "loopback"),
        ("fc00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_blocked_reason(address: str, reason: str | None) -> None:
    assert rest_api.blocked_reason(ipaddress.ip_address(address)) == reason


def test_check_url_refuses_other_schemes() -> None:
    with pytest.raises(StepInputError, match="only http"):
        rest_api.check_url("file:///etc/passwd", allow_private=True)


# --- config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"url": "file:///etc/passwd"}, "http:// or https://"),
        ({"url": "https://u:pw@example.com/"}, "must not contain user:password"),
        ({"url": "https://e.com", "headers": {"authorization": "x"}}, "not in `headers`"),
        ({"url": "https://e.com", "body": {"a": 1}}, "method: POST only"),
        ({"url": "https://e.com", "method": "DELETE"}, "'GET' or 'POST'"),
        ({"url": "https://e.com", "pagination": {"type": "page", "page_size": 5}}, "together"),
        ({"url": "https://e.com", "pagination": {"type": "cursor"}}, "cursor_path"),
        ({"url": "https://e.com", "pagination": {"type": "scroll"}}, "does not match any"),
        ({"url": "https://e.com", "timeout": 0}, "greater than 0"),
    ],
)
def test_config_errors(config: dict, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        API.config_model.model_validate(config)


def test_a_token_pasted_into_auth_env_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as err:
        API.config_model.model_validate({"url": "https://e.com", "auth": {"env": TOKEN + " x"}})
    assert "NAME of an environment variable" in str(err.value)
    assert TOKEN not in str(err.value)


def test_registration() -> None:
    assert (API.kind, API.min_inputs, API.max_inputs) == ("source", 0, 0)
    assert API.kinds == ("api", "pandas")
    props = API.config_model.model_json_schema()["properties"]
    assert all("description" in p for p in props.values())
