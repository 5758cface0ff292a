"""`hybrid serve` in a subprocess, waited for until /healthz answers (tests, benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml


@dataclass
class ServerProcess:
    """A running server. Example: ``start_server(recipe, tmp).url`` -> ``http://127.0.0.1:41234``"""

    url: str
    log: Path
    process: subprocess.Popen | None  # None: a server someone else started

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    recipe: dict, folder: Path, env: dict[str, str] | None = None, timeout_s: float = 180
) -> ServerProcess:
    """Write ``recipe`` to ``folder/serve.yaml``, start the server on a free port, wait for it.

    The log goes to ``folder/server.log``; a server that exits or stays silent raises
    RuntimeError with the log's tail.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "serve.yaml"
    config.write_text(yaml.safe_dump(recipe))
    log = folder / "server.log"
    port = free_port()
    exe = Path(sys.executable).with_name("hybrid")
    process = subprocess.Popen(
        [str(exe), "--config", str(config), "serve", "--port", str(port)],
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = ServerProcess(f"http://127.0.0.1:{port}", log, process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"server did not start in {timeout_s:g} s:\n{server.log_tail()}")
