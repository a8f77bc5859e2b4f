"""`rest_api` source: JSON records from an HTTP API, page by page.

Retries are urllib3's `Retry` on a requests `HTTPAdapter`. Every URL fetched (first page,
pagination links, redirects) must resolve to a public address unless the config allows the
private network. The token comes from an environment variable, is sent only to the origin of
`url`, and is masked in every message.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import pandas as pd
import requests
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util import Retry

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.registry import (
    EnvVarName,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    register,
)

RETRY_STATUSES = (429, 500, 502, 503, 504)
_SECRET_HEADERS = {"authorization", "proxy-authorization"}
_EXCERPT = 200


class AuthConfig(BaseModel):
    """A token read from an environment variable and sent as one header."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    env: EnvVarName = Field(
        description="Environment variable holding the token."
    )
    header: str = Field("Authorization", min_length=1, description="Header that carries it.")
    scheme: str | None = Field(
        "Bearer", description="Word before the token (Bearer, Token); empty for the bare token."
    )


class _Paged(StepConfig):
    size_param: str | None = Field(None, description="Query parameter for the page size.")
    page_size: int | None = Field(None, gt=0, description="Records per page to ask for.")
    max_pages: int = Field(1000, gt=0, description="Safety bound: stop after this many pages.")

    @model_validator(mode="after")
    def _size_pair(self) -> _Paged:
        if (self.size_param is None) != (self.page_size is None):
            raise ValueError("give `size_param` and `page_size` together")
        return self


class NoPagination(StepConfig):
    """One request."""

    type: Literal["none"] = Field("none", description="No pagination: a single request.")


class PagePagination(_Paged):
    """page=1, page=2, ... until an empty page."""

    type: Literal["page"] = Field(description="Numbered pages.")
    page_param: str = Field("page", description="Query parameter for the page number.")
    start_page: int = Field(1, ge=0, description="Number of the first page.")


class OffsetPagination(_Paged):
    """offset=0, offset=<records so far>, ... until an empty page."""

    type: Literal["offset"] = Field(description="Record offsets.")
    offset_param: str = Field("offset", description="Query parameter for the offset.")
    start_offset: int = Field(0, ge=0, description="Offset of the first page.")


class CursorPagination(_Paged):
    """Each page's body names the cursor of the next one."""

    type: Literal["cursor"] = Field(description="Opaque cursors taken from each page's body.")
    cursor_param: str = Field("cursor", description="Query parameter that sends the cursor.")
    cursor_path: str = Field(
        min_length=1, description="Dotted path of the next cursor in the body, e.g. meta.next."
    )


class LinkPagination(_Paged):
    """Follow the `Link: <...>; rel="next"` response header."""

    type: Literal["link"] = Field(description='Follow the Link rel="next" header.')


Pagination = Annotated[
    NoPagination | PagePagination | OffsetPagination | CursorPagination | LinkPagination,
    Field(discriminator="type"),
]
Scalar = bool | int | float | str


class RestApiConfig(StepConfig):
    """Where to fetch, how to page, and how patient to be."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    url: str = Field(description="http(s) URL of the endpoint (first page).")
    method: Literal["GET", "POST"] = Field("GET", description="HTTP method.")
    params: dict[str, Scalar] = Field(default_factory=dict, description="Query parameters.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra non-secret headers (secrets go in `auth`)."
    )
    body: dict[str, Any] | None = Field(None, description="JSON body sent with POST.")
    auth: AuthConfig | None = Field(None, description="Token header, token from the env.")
    records_path: str | None = Field(
        None, description="Dotted path of the list of records in each page (the body if omitted)."
    )
    pagination: Pagination = Field(default_factory=NoPagination, description="How to page.")
    timeout: float = Field(30, gt=0, description="Seconds to wait to connect and per read.")
    retries: int = Field(3, ge=0, le=20, description="Retries on 429/5xx and network errors.")
    backoff_factor: float = Field(0.5, ge=0, description="Backoff between retries, in seconds.")
    retry_post: bool = Field(False, description="Also retry POST (only if it is idempotent).")
    allow_private_network: bool = Field(
        False, description="Allow private, loopback and link-local addresses (internal APIs)."
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"}:
            raise ValueError("must be an http:// or https:// URL")
        if not parts.hostname:
            raise ValueError("has no host")
        if parts.username or parts.password:
            raise ValueError("must not contain user:password; use `auth` with an env variable")
        return value

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name.lower() in _SECRET_HEADERS:
                raise ValueError(f"put '{name}' in `auth: {{env: VAR}}`, not in `headers`")
        return value

    @model_validator(mode="after")
    def _post_only(self) -> RestApiConfig:
        if self.body is not None and self.method != "POST":
            raise ValueError("`body` is sent with method: POST only")
        if self.auth and self.auth.header.lower() in {h.lower() for h in self.headers}:
            raise ValueError(f"`headers` sets '{self.auth.header}', which `auth` sends")
        return self


def check_url(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and, unless allowed, hosts resolving to non-public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise StepInputError(
            f"refusing to fetch {_display(url)}: only http(s) URLs with a host are fetched.",
            fix="use an http:// or https:// URL",
        )
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise StepInputError(
            f"cannot resolve host '{parts.hostname}' of {_display(url)}: {exc.strerror}.",
            fix="check the host name in `url` and the machine's DNS",
        ) from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if reason := blocked_reason(ip):
            raise StepInputError(
                f"refusing to fetch {_display(url)}: '{parts.hostname}' resolves to {ip},"
                f" a {reason} address.",
                fix="use a public API address, or set allow_private_network: true when the"
                " API is meant to be on this network",
            )


def blocked_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not public (loopback, private, ...), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for reason in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{reason}"):
            return reason.replace("_", "-")
    return None if ip.is_global else "non-public"


def _display(url: str) -> str:
    """The URL without any user:password part."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class _TokenAuth(requests.auth.AuthBase):
    """Adds the token header, only for requests to the configured origin."""

    def __init__(self, header: str, value: str, origin: tuple[str, str, int | None]) -> None:
        self.header, self.value, self.origin = header, value, origin

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if _origin(request.url or "") == self.origin:
            request.headers[self.header] = self.value
        return request


class _GuardedSession(requests.Session):
    """A session whose redirects pass the address check and drop the token off-origin."""

    def __init__(self, allow_private: bool, token_auth: _TokenAuth | None) -> None:
        super().__init__()
        self.allow_private, self.token_auth = allow_private, token_auth

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: Any) -> None:
        """Runs once per redirect hop with the resolved target, before that hop is sent."""
        check_url(prepared_request.url or "", self.allow_private)
        super().rebuild_auth(prepared_request, response)
        auth = self.token_auth
        if auth and _origin(prepared_request.url or "") != auth.origin:
            prepared_request.headers.pop(auth.header, None)


@dataclass
class _Stats:
    pages: int = 0
    requests: int = 0
    retries: int = 0
    stopped_by: str = "end"
    records: list[Any] = field(default_factory=list)


class _Fetcher:
    """One configured session plus counters; every message passes through `scrub`."""

    def __init__(self, config: RestApiConfig, token: str | None) -> None:
        self.config, self.token, self.stats = config, token, _Stats()
        auth = None
        if config.auth and token:
            value = f"{config.auth.scheme} {token}" if config.auth.scheme else token
            auth = _TokenAuth(config.auth.header, value, _origin(config.url))
        self.session = _GuardedSession(config.allow_private_network, auth)
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", **config.headers})
        methods = Retry.DEFAULT_ALLOWED_METHODS | ({"POST"} if config.retry_post else set())
        retry = Retry(
            total=config.retries,
            backoff_factor=config.backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=methods,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    def get(self, url: str, params: dict[str, Any]) -> tuple[requests.Response, Any]:
        """Fetch one page and decode its JSON body."""
        method = self.config.method
        shown = self.scrub(_display(_with_params(url, params)))
        check_url(url, self.config.allow_private_network)
        try:
            response = self.session.request(
                method, url, params=params, json=self.config.body, timeout=self.config.timeout
            )
        except requests.RequestException as exc:
            raise self._network_error(exc, shown) from None
        for hop in [*response.history, response]:
            history = getattr(getattr(hop.raw, "retries", None), "history", ())
            self.stats.requests += 1 + len(history)
            self.stats.retries += len(history)
        self.stats.pages += 1
        shown = self.scrub(_display(response.url))
        if response.status_code >= 400:
            raise self._http_error(response, shown)
        try:
            return response, response.json()
        except requests.JSONDecodeError:
            kind = response.headers.get("Content-Type", "no Content-Type")
            raise StepInputError(
                f"{method} {shown} returned a body that is not JSON ({kind}):"
                f" {self._excerpt(response.text)}",
                fix="check `url`: the endpoint must answer JSON",
            ) from None

    def _excerpt(self, text: str) -> str:
        """The body's first characters, token masked, ending as a sentence."""
        excerpt = self.scrub(" ".join(text.split()))[:_EXCERPT] or "(empty body)"
        return excerpt if excerpt.endswith((".", "!", "?")) else excerpt + "."

    def _http_error(self, response: requests.Response, shown: str) -> StepInputError:
        status = response.status_code
        tries = len(getattr(getattr(response.raw, "retries", None), "history", ()))
        after = f" (after {tries} retries)" if tries else ""
        auth = self.config.auth
        if status in (401, 403):
            fix = (
                f"check the token in ${auth.env} and auth.header/auth.scheme"
                if auth
                else "this API needs credentials: add `auth: {env: VAR}`"
            )
        elif status == 429:
            fix = "the API is rate limiting: raise `retries`/`backoff_factor` or ask less often"
        elif status >= 500:
            fix = "the server failed: try again later or raise `retries`"
        else:
            fix = "check `url`, `params`, `headers` and `body`"
        return StepInputError(
            f"{self.config.method} {shown} returned {status} {response.reason}{after}:"
            f" {self._excerpt(response.text)}",
            fix=fix,
        )

    def _network_error(self, exc: requests.RequestException, shown: str) -> StepInputError:
        method, retries = self.config.method, self.config.retries
        reason: BaseException = exc
        if exc.args and isinstance(exc.args[0], MaxRetryError) and exc.args[0].reason:
            reason = exc.args[0].reason
        timed_out = isinstance(reason, ReadTimeoutError | ConnectTimeoutError)
        if isinstance(exc, requests.Timeout) or (
            timed_out and not isinstance(reason, NewConnectionError)  # a subclass, not a timeout
        ):
            return StepInputError(
                f"{method} {shown} timed out after {self.config.timeout} s"
                f" ({retries} retries allowed).",
                fix="raise `timeout`, or check that the API is up",
            )
        detail = str(reason).split("Failed to establish a new connection: ")[-1]
        return StepInputError(
            f"{method} {shown} failed: {self.scrub(detail)[:_EXCERPT]}.",
            fix="check `url` and that the API is reachable from this machine",
        )


def _with_params(url: str, params: dict[str, Any]) -> str:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, params)
    return prepared.url or url


_MISSING = object()


def _at_path(body: Any, path: str) -> tuple[Any, str]:
    """The value at a dotted path, or (_MISSING, what is missing and what is there)."""
    node, walked = body, []
    for key in path.split("."):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            where = ".".join(walked) or "the top level"
            there = ", ".join(map(str, node)) if isinstance(node, dict) else type(node).__name__
            return _MISSING, f"no '{key}' at {where} (found: {there or 'nothing'})"
        walked.append(key)
    return node, ""


def _records(body: Any, config: RestApiConfig, shown: str) -> list[Any]:
    path = config.records_path
    node, missing = _at_path(body, path) if path else (body, "")
    if node is _MISSING:
        raise StepInputError(
            f"records_path '{path}' is not in the response of {config.method} {shown}: {missing}.",
            fix="set `records_path` to the dotted path of the list of records",
        )
    if node is None:
        return []
    if not isinstance(node, list):
        items = node.items() if isinstance(node, dict) else []
        lists = [k for k, v in items if isinstance(v, list)]
        prefix = f"{path}." if path else ""
        hint = f" Lists there: {', '.join(prefix + k for k in lists)}." if lists else ""
        raise StepInputError(
            f"the records at '{path or 'the top level'}' of {config.method} {shown} are a"
            f" {type(node).__name__}, not a list.{hint}",
            fix="set `records_path` to the dotted path of the list of records",
        )
    return node


def _paginate(fetcher: _Fetcher, config: RestApiConfig) -> None:
    """Fetch pages until the pagination style says stop, collecting records in the stats."""
    pg, stats = config.pagination, fetcher.stats
    url, params = config.url, dict(config.params)
    if not isinstance(pg, NoPagination) and pg.size_param:
        params[pg.size_param] = pg.page_size
    page = pg.start_page if isinstance(pg, PagePagination) else 0
    offset = pg.start_offset if isinstance(pg, OffsetPagination) else 0
    seen: set[str] = set()
    while True:
        if isinstance(pg, PagePagination):
            params[pg.page_param] = page
        elif isinstance(pg, OffsetPagination):
            params[pg.offset_param] = offset
        response, body = fetcher.get(url, params)
        records = _records(body, config, fetcher.scrub(_display(response.url)))
        stats.records.extend(records)
        if isinstance(pg, NoPagination) or not records:
            return
        page, offset = page + 1, offset + len(records)
        if isinstance(pg, CursorPagination):
            cursor, _ = _at_path(body, pg.cursor_path)
            if cursor is _MISSING or cursor in (None, ""):
                return
            params[pg.cursor_param] = _once(str(cursor), seen, "cursor")
        elif isinstance(pg, LinkPagination):
            nxt = response.links.get("next", {}).get("url")
            if not nxt:
                return
            url, params = _once(urljoin(response.url, nxt), seen, "next link"), {}
        if stats.pages >= pg.max_pages:
            stats.stopped_by = "max_pages"
            return


def _once(value: str, seen: set[str], what: str) -> str:
    if value in seen:
        raise StepInputError(
            f"the API sent the same {what} twice; paging would never end.",
            fix="check the pagination settings (cursor_path, params) against the API's docs",
        )
    seen.add(value)
    return value


def _token(config: RestApiConfig) -> str | None:
    if config.auth is None:
        return None
    token = os.environ.get(config.auth.env, "").strip()
    if not token:
        raise StepInputError(
            f"environment variable {config.auth.env} is not set; it must hold the API token.",
            fix=f"export {config.auth.env}=<token> (or point auth.env at the variable holding it)",
        )
    return token


def run(inputs: list[pd.DataFrame], config: RestApiConfig, ctx: StepContext) -> StepResult:
    """Fetch every page and flatten the records into one frame."""
    started = time.perf_counter()
    fetcher = _Fetcher(config, _token(config))
    with fetcher.session:
        _paginate(fetcher, config)
    stats = fetcher.stats
    if stats.stopped_by == "max_pages":
        ctx.log.warning("rest_api: stopped after max_pages=%d; more pages may exist", stats.pages)
    rows = [r if isinstance(r, dict) else {"value": r} for r in stats.records]
    frame = pd.json_normalize(rows, sep=".") if rows else pd.DataFrame()
    return StepResult(
        frame,
        {
            "url": fetcher.scrub(config.url),
            "pages": stats.pages,
            "rows": len(frame),
            "requests": stats.requests,
            "retries": stats.retries,
            "stopped_by": stats.stopped_by,
            "elapsed_s": round(time.perf_counter() - started, 3),
        },
    )


register(
    StepType(
        name="rest_api",
        kind="source",
        config_model=RestApiConfig,
        run=run,
        description="Fetch JSON records from an HTTP API, following its pagination.",
        min_inputs=0,
        max_inputs=0,
        kinds=("api", "pandas"),
    )
)
