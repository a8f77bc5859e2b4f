"""A fault-injecting emulator of the OpenAI chat-completions and Anthropic messages APIs,
for tests and benchmarks of the real SDK clients over HTTP (loopback only).

Answers are deterministic functions of the request's rows (see `emulated_answer`), so tests
can assert content. Each profile (URL prefix `/p/<name>`, or none for the default profile)
has its own latency and fault: 429 with Retry-After, 500, timeout (answer after a long
sleep), truncated or malformed JSON, answers violating the schema, misaligned batches
(wrong ids, missing rows) and 401. A fault hits the first `times` attempts for the same
rows (so SDK retries and our re-ask then succeed), for a `rate` fraction of row sets."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("429", "500", "timeout", "truncated", "malformed", "schema", "misaligned",
          "missing", "401")
ROWS_MARKER = "ROWS:"


def _h(*parts: Any) -> int:
    return int(hashlib.sha256(json.dumps(parts, sort_keys=True, default=str)
                              .encode()).hexdigest()[:12], 16)


def row_text(row: dict[str, Any]) -> str:
    return " ".join(str(row[k]) for k in sorted(row))


def emulated_answer(row: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The emulator's answer for one row: string -> "<field>:<row values>", enum -> a choice
    by hash, integer -> length of the row text, number -> that / 10 (clamped to minimum /
    maximum), boolean -> even length, array/object -> empty."""
    text = row_text(row)
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if name == "id":
            continue
        t = prop.get("type")
        if "enum" in prop:
            out[name] = prop["enum"][_h(text, name) % len(prop["enum"])]
        elif t == "integer":
            out[name] = len(text)
        elif t == "number":  # clamped to the schema's range
            value = len(text) / 10
            value = min(value, prop.get("maximum", value))
            out[name] = max(value, prop.get("minimum", value))
        elif t == "boolean":
            out[name] = len(text) % 2 == 0
        elif t == "array":
            out[name] = []
        elif t == "object":
            out[name] = {}
        else:
            out[name] = f"{name}:{text}"
    return out


@dataclass
class Profile:
    latency_s: float = 0.0
    fault: str | None = None
    times: int = 1  # faulty attempts per row set (large = always)
    rate: float = 1.0  # fraction of row sets affected
    retry_after_s: float = 0.05
    timeout_sleep_s: float = 3.0
    api_key: str | None = None  # when set, other keys get 401


@dataclass
class Stats:
    requests: int = 0
    by_profile: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    batched: int = 0
    single: int = 0
    rows: int = 0
    max_in_flight: int = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # answers go out in two writes (headers, body): without NODELAY, Nagle plus the
        # client's delayed ACK add ~40 ms to every request
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:
        return None

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path == "/_stats":
            self._send(200, self.server.emulator.stats_dict())
        elif self.path.rstrip("/").endswith("/health"):
            self._send(200, {"status": "ok"})
        elif self.path.endswith("/v1/models"):
            self._send(200, {"object": "list", "data": [{"id": "emu-cheap", "object": "model"}]})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        emu = self.server.emulator
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.path in {"/_configure", "/_reset"}:  # control API (out-of-process use)
            if self.path == "/_reset":
                emu.reset()
            body = json.loads(raw or b"{}")
            if body:
                emu.configure(body.pop("profile", ""), **body)
            self._send(200, {"ok": True})
            return
        m = re.match(r"^(?:/p/([A-Za-z0-9_-]+))?(/v1/chat/completions|/v1/messages)$",
                     self.path)
        if not m:
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        profile_name, route = m.group(1) or "", m.group(2)
        anthropic = route == "/v1/messages"
        emu.enter(profile_name)
        try:
            self._answer(emu, emu.profile(profile_name), profile_name, anthropic, raw)
        finally:
            emu.leave()

    def _answer(self, emu: Emulator, prof: Profile, pname: str, anthropic: bool,
                raw: bytes) -> None:
        try:
            req = json.loads(raw)
        except json.JSONDecodeError:
            self._send(400, _err(anthropic, "invalid_request_error", "body is not JSON"))
            return
        if prof.api_key is not None:
            got = (self.headers.get("x-api-key") if anthropic else
                   (self.headers.get("authorization") or "").removeprefix("Bearer "))
            if got != prof.api_key:
                emu.count_fault("401")
                self._send(401, _err(anthropic, "authentication_error", "invalid api key"))
                return
        emu.log(req)
        text, schema, tool_name = _parse(req, anthropic)
        rows = _rows(text)
        if rows is None or schema is None:
            self._send(400, _err(anthropic, "invalid_request_error",
                                 "emulator: no ROWS: payload or no JSON schema"))
            return
        batched = "results" in (schema.get("properties") or {})
        key = json.dumps([r.get("row") for r in rows], sort_keys=True) + str(batched)
        attempt = emu.attempt(pname, key)
        emu.count(batched, len(rows))
        fault = prof.fault
        hit = fault is not None and attempt < prof.times and (
            prof.rate >= 1.0 or (_h(key) % 1000) < prof.rate * 1000)
        if fault in {"misaligned", "missing"} and not batched:
            hit = False
        if prof.latency_s:
            time.sleep(prof.latency_s)
        if hit and fault == "429":
            emu.count_fault(fault)
            self._send(429, _err(anthropic, "rate_limit_error", "slow down"),
                       {"retry-after": str(prof.retry_after_s)})
            return
        if hit and fault == "500":
            emu.count_fault(fault)
            self._send(500, _err(anthropic, "api_error", "internal error"))
            return
        if hit and fault == "timeout":
            emu.count_fault(fault)
            time.sleep(prof.timeout_sleep_s)
        if batched:
            item = schema["properties"]["results"].get("items", {})
            answer: Any = {"results": [{"id": r.get("id"), **emulated_answer(r.get("row") or {},
                                                                              item)}
                                       for r in rows]}
        else:
            answer = emulated_answer((rows[0].get("row") or {}) if rows else {}, schema)
        finish = "stop"
        body_text = json.dumps(answer)
        if hit and fault == "misaligned":
            emu.count_fault(fault)
            for r in answer["results"]:
                r["id"] = (r["id"] or 0) + 1  # every id shifted: unknown ids
            body_text = json.dumps(answer)
        elif hit and fault == "missing":
            emu.count_fault(fault)
            answer["results"] = answer["results"][:-1]
            body_text = json.dumps(answer)
        elif hit and fault == "truncated":
            emu.count_fault(fault)
            body_text = body_text[: max(1, len(body_text) // 2)]
            finish = "length"
        elif hit and fault == "malformed":
            emu.count_fault(fault)
            body_text = "Sure! Here is the answer: {" + body_text.strip("{}") + ",}"
        elif hit and fault == "schema":
            emu.count_fault(fault)
            body_text = json.dumps({"unexpected": True} if not batched else
                                   {"results": [{"id": r.get("id")} for r in rows]})
        in_tok, out_tok = len(raw) // 4 + 1, len(body_text) // 4 + 1
        if anthropic:
            if tool_name and finish == "stop" and not (hit and fault == "malformed"):
                content = [{"type": "tool_use", "id": "toolu_emu", "name": tool_name,
                            "input": json.loads(body_text)}]
                stop = "tool_use"
            else:
                content = [{"type": "text", "text": body_text}]
                stop = "max_tokens" if finish == "length" else "end_turn"
            self._send(200, {"id": "msg_emu", "type": "message", "role": "assistant",
                             "model": req.get("model", ""), "content": content,
                             "stop_reason": stop, "stop_sequence": None,
                             "usage": {"input_tokens": in_tok, "output_tokens": out_tok,
                                       "cache_read_input_tokens": 0,
                                       "cache_creation_input_tokens": 0}})
        else:
            self._send(200, {"id": "chatcmpl-emu", "object": "chat.completion",
                             "created": int(time.time()), "model": req.get("model", ""),
                             "choices": [{"index": 0, "finish_reason": finish,
                                          "message": {"role": "assistant",
                                                      "content": body_text}}],
                             "usage": {"prompt_tokens": in_tok, "completion_tokens": out_tok,
                                       "total_tokens": in_tok + out_tok}})


def _err(anthropic: bool, kind: str, message: str) -> dict[str, Any]:
    if anthropic:
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": None}}


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def _parse(req: dict[str, Any], anthropic: bool) -> tuple[str, dict[str, Any] | None,
                                                          str | None]:
    msgs = req.get("messages") or []
    user = next((_content_text(m.get("content")) for m in reversed(msgs)
                 if m.get("role") == "user"), "")
    schema = None
    tool_name = None
    if anthropic:
        tools = req.get("tools") or []
        if tools:
            schema, tool_name = tools[0].get("input_schema"), tools[0].get("name")
        system = req.get("system")
        sys_text = _content_text(system) if not isinstance(system, str) else system
    else:
        rf = req.get("response_format") or {}
        if rf.get("type") == "json_schema":
            schema = (rf.get("json_schema") or {}).get("schema")
        sys_text = next((_content_text(m.get("content")) for m in msgs
                         if m.get("role") == "system"), "")
    if schema is None:  # prompt mode: the schema is in the system prompt
        m = re.search(r"matches this JSON schema:\n(\{.*\})\s*$", sys_text or "", re.S)
        if m:
            schema = json.loads(m.group(1))
    return user, schema, tool_name


def _rows(text: str) -> list[dict[str, Any]] | None:
    idx = text.find(ROWS_MARKER)
    if idx < 0:
        return None
    try:
        rows, _ = json.JSONDecoder().raw_decode(text[idx + len(ROWS_MARKER):].lstrip())
    except json.JSONDecodeError:
        return None
    return rows if isinstance(rows, list) else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    emulator: Emulator


class Emulator:
    """Start with `start()` (a thread on 127.0.0.1), configure profiles, read `stats`."""

    def __init__(self, port: int = 0):
        self._port = port
        self._profiles: dict[str, Profile] = {"": Profile()}
        self._attempts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._in_flight = 0
        self.stats = Stats()
        self.last_requests: list[dict[str, Any]] = []  # the last 50 request bodies
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> Emulator:
        self._server = _Server(("127.0.0.1", self._port), _Handler)
        self._server.emulator = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="llm-emulator")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the emulator first"
        return self._server.server_address[1]

    def base(self, profile: str = "") -> str:
        return f"http://127.0.0.1:{self.port}" + (f"/p/{profile}" if profile else "")

    def openai_base_url(self, profile: str = "") -> str:
        return self.base(profile) + "/v1"

    def anthropic_base_url(self, profile: str = "") -> str:
        return self.base(profile)

    # configuration
    def configure(self, profile: str = "", **settings: Any) -> Profile:
        if settings.get("fault") not in (None, *FAULTS):
            raise ValueError(f"unknown fault {settings['fault']!r}; one of {FAULTS}")
        with self._lock:
            self._profiles[profile] = Profile(**settings)
            self._attempts = {k: v for k, v in self._attempts.items() if k[0] != profile}
            return self._profiles[profile]

    def reset(self) -> None:
        with self._lock:
            self._profiles = {"": Profile()}
            self._attempts.clear()
            self.stats = Stats()
            self.last_requests = []

    def profile(self, name: str) -> Profile:
        with self._lock:
            return self._profiles.get(name) or self._profiles[""]

    # bookkeeping (handler threads)
    def attempt(self, profile: str, key: str) -> int:
        with self._lock:
            n = self._attempts.get((profile, key), 0)
            self._attempts[(profile, key)] = n + 1
            return n

    def enter(self, profile: str) -> None:
        with self._lock:
            self.stats.requests += 1
            self.stats.by_profile[profile] = self.stats.by_profile.get(profile, 0) + 1
            self._in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def count(self, batched: bool, rows: int) -> None:
        with self._lock:
            if batched:
                self.stats.batched += 1
            else:
                self.stats.single += 1
            self.stats.rows += rows

    def log(self, request: dict[str, Any]) -> None:
        with self._lock:
            self.last_requests = [*self.last_requests[-49:], request]

    def stats_dict(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.stats.__dict__)

    def count_fault(self, fault: str) -> None:
        with self._lock:
            self.stats.faults[fault] = self.stats.faults.get(fault, 0) + 1


def main() -> None:
    ap = argparse.ArgumentParser(description="Fault-injecting OpenAI/Anthropic emulator")
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--fault", choices=FAULTS)
    ap.add_argument("--times", type=int, default=1)
    a = ap.parse_args()
    emu = Emulator(a.port).start()
    emu.configure(latency_s=a.latency, fault=a.fault, times=a.times)
    print(f"emulator on {emu.base()} (OpenAI: {emu.openai_base_url()}, Anthropic:"
          f" {emu.anthropic_base_url()})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emu.stop()


if __name__ == "__main__":
    main()


class EmulatorProcess:
    """The emulator in its own process (benchmarks: keeps the server's CPU out of the
    client's interpreter). Same configure/reset/stats/base-URL API, over HTTP."""

    def __init__(self) -> None:
        import subprocess
        import sys
        import urllib.request

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._urlopen = urllib.request.urlopen
        self._Request = urllib.request.Request
        self.process = subprocess.Popen(
            [sys.executable, "-m", "datasetgen_resources.llm.emulator", "--port",
             str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self._get("/health")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the emulator process did not start")

    def _get(self, path: str) -> Any:
        with self._urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return json.loads(r.read())

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        req = self._Request(f"http://127.0.0.1:{self.port}{path}", method="POST",
                            data=json.dumps(body).encode(),
                            headers={"content-type": "application/json"})
        with self._urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def configure(self, profile: str = "", **settings: Any) -> None:
        self._post("/_configure", {"profile": profile, **settings})

    def reset(self) -> None:
        self._post("/_reset", {})

    @property
    def stats(self) -> Stats:
        return Stats(**self._get("/_stats"))

    def base(self, profile: str = "") -> str:
        return f"http://127.0.0.1:{self.port}" + (f"/p/{profile}" if profile else "")

    def openai_base_url(self, profile: str = "") -> str:
        return self.base(profile) + "/v1"

    def anthropic_base_url(self, profile: str = "") -> str:
        return self.base(profile)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
