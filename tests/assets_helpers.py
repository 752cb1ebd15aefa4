"""Shared pieces of the hostile asset tests: a misbehaving HTTP server on 127.0.0.1, manifests,
small disks (a tmpfs when mounting is permitted, else a simulated one) and a subprocess runner."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

PAYLOAD = bytes(range(256)) * 1200  # 307,200 bytes
SHA = hashlib.sha256(PAYLOAD).hexdigest()
REPO = Path(__file__).resolve().parent.parent


def safetensors_blob(n_floats: int = 64) -> bytes:
    """A valid one-tensor safetensors file."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [n_floats], "data_offsets": [0, 4 * n_floats]}})
    raw = header.encode()
    return len(raw).to_bytes(8, "little") + raw + bytes(4 * n_floats)


class Handler(http.server.BaseHTTPRequestHandler):
    """GET /<behaviour>/<name>; the server object carries counters and the bodies."""

    def do_GET(self) -> None:  # noqa: C901  (one branch per behaviour)
        srv = self.server
        kind, _, name = self.path.lstrip("/").partition("/")
        srv.hits[kind] = srv.hits.get(kind, 0) + 1
        body = srv.bodies.get(name, PAYLOAD)
        headers = {"Content-Length": str(len(body))}
        if kind == "good":
            pass
        elif kind == "slow":  # answer after a pause, so two clients overlap
            time.sleep(0.6)
        elif kind == "short":  # a short body whose Content-Length matches it
            body = body[: len(body) // 3]
            headers["Content-Length"] = str(len(body))
        elif kind == "html":
            body = b"<!DOCTYPE html><html><body>Rate limit exceeded</body></html>"
            headers = {"Content-Length": str(len(body)), "Content-Type": "text/html; charset=utf-8"}
        elif kind == "htmlplain":  # an error page labelled as a binary file
            body = b"<html><body>Sign in to continue</body></html>"
            headers = {"Content-Length": str(len(body)), "Content-Type": "application/octet-stream"}
        elif kind in ("badlen", "neglen"):
            headers["Content-Length"] = "abc" if kind == "badlen" else "-5"
        elif kind == "biglen":  # announces 10 GB
            headers["Content-Length"] = str(10 * 10**9)
        elif kind == "endless":  # no Content-Length, never stops on its own
            self.send_response(200)
            self.end_headers()
            block = bytes(65536)
            try:
                while True:
                    self.wfile.write(block)
                    srv.sent[kind] = srv.sent.get(kind, 0) + len(block)
            except OSError:
                return
        elif kind == "trickle":  # one byte at a time, never a read timeout
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
            return
        else:
            self.send_error(404)
            return
        self.send_response(200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.hits, httpd.sent, httpd.bodies = {}, {}, {}
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def stalled_server() -> Iterator[str]:
    """Accepts connections and never answers (a stalled package index)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conns.append(sock.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for c in conns:
            c.close()
        sock.close()


def manifest(files: list[dict], sources: list[dict], asset_id: str = "blob", **extra: object) -> dict:
    spec = {"title": "test asset", "type": "data", "license": "test", "profiles": ["smoke"],
            "files": files, "sources": sources, **extra}
    return {"version": 1, "assets": {asset_id: spec}}


def blob_manifest(base: str, sha: str | None = SHA, **extra: object) -> dict:
    entry = {"name": "blob.bin", "sha256": sha}
    if sha is not None:
        entry["size"] = len(PAYLOAD)
    return manifest([entry], [{"kind": "url", "base": base}], **extra)


def leftovers(root: Path) -> list[str]:
    """Everything under ``root`` that is temporary or a lock (should be nothing after a run)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.startswith((".tmp", ".locks")) or p.name.endswith((".tmp", ".lock")))


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120,
               cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (the repo importable); return the finished process."""
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, timeout=timeout, cwd=cwd)


def cli(args: list[str], env: dict[str, str] | None = None, manifest_path: Path | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m tlcourse ARGS`` in a real process (optionally with a test manifest)."""
    code = "import sys\n"
    if manifest_path:  # the manifest module's path (tlcourse.assets' own before the module split)
        code += ("import tlcourse.assets as m\ntry:\n    import tlcourse.assets.manifest as m\n"
                 f"except ImportError:\n    pass\nm.MANIFEST_PATH = {str(manifest_path)!r}\n")
    code += f"from tlcourse.__main__ import main\nsys.exit(main({args!r}))\n"
    return run_python(code, env, timeout)


def assert_clean_failure(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Non-zero exit, no traceback, a one-line message holding every needle; return it."""
    err = proc.stderr.strip()
    assert proc.returncode not in (0, None), (proc.returncode, proc.stdout, err)
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("waiting for")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, err)
    return lines[0]


@contextlib.contextmanager
def small_disk(path: Path, size: str = "1m", readonly: bool = False) -> Iterator[bool]:
    """Mount a tmpfs of ``size`` at ``path``; yield True, or False when mounting is not permitted
    (the caller then simulates the condition and says so)."""
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if readonly else "")
    mounted = False
    if not os.environ.get("TLCOURSE_TEST_NO_MOUNT"):  # set it to try the simulated path
        try:
            mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                                     capture_output=True).returncode == 0
        except OSError:  # no mount command
            mounted = False
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
