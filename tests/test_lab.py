"""`make lab` end to end, as a learner uses it: start, run a lesson and save it, stop, start again.

JupyterLab is started exactly as `make lab` does (here on a free localhost port with a token, in a
throw-away workspace). The lesson is executed in a kernel of that server and saved through its REST
contents API with its outputs, as JupyterLab's "Run All" + "Save" do. After a restart JupyterLab
must come up again and serve the saved notebook unchanged; the course's copy stays untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tlcourse.lessons import all_lessons

ROOT = Path(__file__).resolve().parent.parent
LESSON = "00_start_here.ipynb"
STUB = "n_params = None  # your expression here"
ANSWER = "n_params = sum(p.numel() for p in model.parameters())  # my answer"

pytestmark = [
    pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="make lab needs the course's virtualenv"),
    pytest.mark.skipif(not shutil.which("make"), reason="GNU make not installed"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running `make lab` and the REST calls JupyterLab's front end makes."""

    def __init__(self, port: int, token: str, proc: subprocess.Popen) -> None:
        self.base, self.token, self.proc = f"http://127.0.0.1:{port}", token, proc

    def call(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw and resp.headers.get_content_type() == "application/json" else raw

    def run_all_and_save(self, path: str) -> dict[str, Any]:
        """Open ``path`` in a kernel session, run every code cell, save it with its outputs."""
        import websocket  # websocket-client, a dependency of jupyter_server

        model = self.call("GET", f"/api/contents/{path}?type=notebook&content=1")
        nb = model["content"]
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and STUB in cell["source"]:
                cell["source"] = cell["source"].replace(STUB, ANSWER)  # the learner answers
        session = self.call("POST", "/api/sessions", {
            "path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}})
        kernel, sid = session["kernel"]["id"], uuid.uuid4().hex
        conn = websocket.create_connection(
            f"ws://{self.base[7:]}/api/kernels/{kernel}/channels?session_id={sid}",
            header=[f"Authorization: token {self.token}"], timeout=300)
        try:
            for count, cell in enumerate((c for c in nb["cells"] if c["cell_type"] == "code"), 1):
                cell["outputs"], cell["execution_count"] = execute(conn, sid, cell["source"]), count
        finally:
            conn.close()
            self.call("DELETE", f"/api/sessions/{session['id']}")
        nbformat.validate(nbformat.from_dict(nb))
        self.call("PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json", "content": nb})
        return nb


def execute(conn: Any, session: str, code: str) -> list[dict[str, Any]]:
    """Run ``code`` over the kernel's websocket; return its outputs in nbformat's shape."""
    msg_id = uuid.uuid4().hex
    conn.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                   "username": "learner", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    outputs: list[dict[str, Any]] = []
    reply, idle = None, False
    while reply is None or not idle:
        msg = json.loads(conn.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["header"]["msg_type"], msg["content"]
        if msg["channel"] == "shell" and kind == "execute_reply":
            reply = content
        elif kind == "status":
            idle = content["execution_state"] == "idle"
        elif kind == "stream":
            if outputs and outputs[-1]["output_type"] == "stream" and outputs[-1]["name"] == content["name"]:
                outputs[-1]["text"] += content["text"]
            else:
                outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
        elif kind in ("display_data", "execute_result"):
            out = {"output_type": kind, "data": content["data"], "metadata": content["metadata"]}
            if kind == "execute_result":
                out["execution_count"] = content["execution_count"]
            outputs.append(out)
        elif kind == "error":
            outputs.append({"output_type": "error", **{k: content[k] for k in ("ename", "evalue", "traceback")}})
        elif kind == "clear_output":
            outputs.clear()
    assert reply["status"] == "ok", f"cell failed: {code[:200]}\n{reply.get('evalue')}"
    return outputs


def work(nb: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What a learner's save holds: each cell's source, outputs and execution count.

    (Cell metadata is left out: the contents API adds a display-only ``trusted`` flag.)
    """
    return [(c["cell_type"], c["source"], c.get("outputs"), c.get("execution_count")) for c in nb["cells"]]


@contextlib.contextmanager
def make_lab(workspace: Path, runtime: Path) -> Iterator[Lab]:
    """`make lab` on a free port; yields once the server answers; stops it afterwards.

    ``-o setup``: the install step is `make test`'s; here it would reinstall into the running venv.
    """
    port, token = free_port(), secrets.token_hex(16)
    lab_args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "TLCOURSE_PROFILE": "smoke"}
    proc = subprocess.Popen(
        ["make", "-s", "-o", "setup", "lab", f"VENV={sys.prefix}", f"WORKSPACE={workspace}", f"LAB_ARGS={lab_args}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    lab = Lab(port, token, proc)
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"make lab exited ({proc.returncode}):\n{proc.stdout.read().decode()[-3000:]}")
            try:
                lab.call("GET", "/api/status", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not answer within 240 s"
                time.sleep(1)
        yield lab
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_saved_answers_survive_a_restart_of_make_lab(tmp_path):
    # The workspace sits in the course folder as workspace/ does (notebooks find docs/ one level up);
    # a throw-away name, so a learner's own workspace/ is never touched.
    workspace = ROOT / f".lab-test-{secrets.token_hex(4)}"
    course_copy = (ROOT / "notebooks" / LESSON).read_bytes()
    try:
        with make_lab(workspace, tmp_path) as lab:
            names = {item["name"] for item in lab.call("GET", "/api/contents")["content"]}
            expected = {lesson.student().name for lesson in all_lessons()}
            assert expected <= names, f"the workspace lists {names}, expected the lessons {expected}"
            assert b"JupyterLab" in lab.call("GET", "/lab")
            ran = lab.run_all_and_save(LESSON)
        saved = nbformat.read(workspace / LESSON, as_version=4)  # multi-line strings joined, as the API sends them
        assert work(saved) == work(ran), "the file on disk is not what was saved"
        code = [c for c in saved["cells"] if c["cell_type"] == "code"]
        assert all(c["execution_count"] for c in code) and sum(bool(c["outputs"]) for c in code) >= 5
        answer = next(c for c in code if ANSWER in "".join(c["source"]))
        assert "correct" in "".join(o.get("text", "") for o in answer["outputs"]), answer["outputs"]
        saved_bytes = (workspace / LESSON).read_bytes()

        with make_lab(workspace, tmp_path) as lab:  # the second day
            again = lab.call("GET", f"/api/contents/{LESSON}?type=notebook&content=1")["content"]
            assert work(again) == work(saved), "the saved answers and outputs are gone"
            assert b"JupyterLab" in lab.call("GET", "/lab")
        assert (workspace / LESSON).read_bytes() == saved_bytes
        assert (ROOT / "notebooks" / LESSON).read_bytes() == course_copy, "the course's copy changed"
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
