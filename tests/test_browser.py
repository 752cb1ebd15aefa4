"""The course as learners meet it: lessons run in JupyterLab in a real browser.

Starts JupyterLab the way ``make lab`` does (a free localhost port, a token, the smoke profile) on a
fresh learner workspace (filled from ``notebooks/``), drives Debian's Chromium headless with Playwright,
and for each lesson: runs every cell from the Run menu, saves, and checks that every cell has an
execution count, no cell has an error output, every figure is displayed as an image, every widget renders
as a widget (not its text fallback) and reacts to one interaction. Screenshots go to ``build/browser/``.

Which lessons, which copy: by default (``make test``) lesson 00 (every learner's first notebook) and every
lesson whose student copy builds an interactive widget (the part only a browser can check), as their
*solution* copies (copied into the workspace as ``NN_name.solution.ipynb``): these checks include nbval's (every
cell runs, no error), so the repository's conftest.py deselects nbval's run of the same solution notebooks
in the same session (each ran twice before, about 150 s of ``make test``'s worker time). Where the browser
cannot run (no Chromium or Playwright), nothing is deselected. ``TLCOURSE_BROWSER=all`` (``make
test-browser``) runs every lesson's student copy, every cell. tests/test_student_copies.py proves a student
copy differs from its solution only where no later cell can break.

Skips (with the reason) only where Chromium or Playwright is missing; ``make setup`` installs both, and
under ``CI=true`` that skip is a failure (tests/ci_skips.py), never a silent pass or a collection error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tlcourse.lessons import all_lessons

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("TLCOURSE_CHROMIUM", "/usr/bin/chromium"))
OUT = ROOT / "build" / "browser"
ALL_NOTEBOOKS = [lesson.student().name for lesson in all_lessons()]
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
RUN_TIMEOUT_S = int(os.environ.get("TLCOURSE_BROWSER_TIMEOUT", "900"))  # per notebook: a ceiling, not a goal
REACT_TIMEOUT_S = 180  # a click's callback (03 fine-tunes once, in the smoke profile) well inside this
TOKEN = "tlcourse-browser-test"
WIDGET_TEXT_FALLBACK = re.compile(  # how a widget prints when no widget manager renders it
    r"(IntSlider|Button|VBox|HBox|Dropdown|Text|Textarea|FloatProgress|RadioButtons|HTML)\((value|children|description|layout)=")


def missing() -> str | None:
    """Why the browser test cannot run on this machine (None: it can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright is not installed ({exc}): make setup installs it (the dev extra)"
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} not found: install Debian's chromium (make setup does, as root), or point "
                "TLCOURSE_CHROMIUM at a Chromium")
    return None


@pytest.fixture(scope="module", autouse=True)
def _browser_is_here() -> None:
    """Skip, with the reason, before JupyterLab starts (tests/ci_skips.py: under CI=true, a failure)."""
    why = missing()
    if why:
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - localhost only
        return resp.read()


@pytest.fixture(scope="module")
def lab():
    """A JupyterLab server on a fresh learner workspace (student notebooks, plus the solution copies this test
    runs); yields (base URL, folder)."""
    from tlcourse import workspace

    OUT.mkdir(parents=True, exist_ok=True)
    # A fresh learner workspace beside notebooks/, filled the way `make lab` fills workspace/.
    work = Path(tempfile.mkdtemp(prefix=".browser-workspace-", dir=ROOT))
    assert sorted(workspace.sync(work)["added"]) == ALL_NOTEBOOKS
    for name in NOTEBOOKS:
        if runs_solution(name):
            shutil.copy2(ROOT / "solutions" / name, work / _workspace_path(name))
    port = _free_port()
    env = dict(os.environ, TLCOURSE_PROFILE="smoke")
    # The test's own JupyterLab user settings: every cell rendered (JupyterLab 4 only renders the
    # cells near the viewport by default, and the checks below read the whole notebook's DOM).
    settings = work / ".settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
           f"--notebook-dir={work}", f"--LabApp.user_settings_dir={settings}",
           f"--LabApp.workspaces_dir={work / '.workspaces'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(OUT / "jupyterlab.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                _get(f"{base}/api/status?token={TOKEN}")
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited; see {OUT / 'jupyterlab.log'}")
                time.sleep(1)
        else:
            pytest.fail("JupyterLab did not answer within 120 s")
        yield base, work
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
        yield b
        b.close()


def _shutdown_kernels(base: str) -> None:
    req = urllib.request.Request(f"{base}/api/sessions?token={TOKEN}")
    for session in json.loads(_get(req.full_url)):
        urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - localhost only
            f"{base}/api/sessions/{session['id']}?token={TOKEN}", method="DELETE"), timeout=30)


def _read_notebook(path: Path) -> dict | None:
    """The notebook file as JSON, or None while it is being written (empty, partial or missing)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return nb if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else None


def _wait_saved(path: Path, timeout: float = 60) -> dict:
    """The saved notebook once every code cell has an execution count.

    JupyterLab may be writing the file when we look: a file that is not (yet) a whole notebook is
    read again, and the notebook is returned only when two reads a second apart agree.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        nb = _read_notebook(path)
        done = nb is not None and all(c.get("execution_count") for c in nb["cells"]
                                      if c["cell_type"] == "code")
        if done and nb == last:
            return nb
        if time.monotonic() > deadline:
            if nb is None:
                raise AssertionError(f"{path} is not a readable notebook {timeout:.0f} s after saving")
            return nb
        last = nb
        time.sleep(1)


INTERACTIVE = re.compile(r"widgets\.(Button|IntSlider|FloatSlider|Dropdown|Text|Textarea|RadioButtons)\b"
                         r"|\.widget\(\)|\binteract\(")


def _widget_cells(name: str) -> list[int]:
    """Indices of the student copy's cells that build an interactive widget."""
    cells = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))["cells"]
    return [i for i, c in enumerate(cells) if c["cell_type"] == "code" and INTERACTIVE.search("".join(c["source"]))]


def _interactive(name: str) -> bool:
    return bool(_widget_cells(name))


EVERY_CELL = os.environ.get("TLCOURSE_BROWSER") == "all"
NOTEBOOKS = ALL_NOTEBOOKS if EVERY_CELL else [n for n in ALL_NOTEBOOKS if n.startswith("00_") or _interactive(n)]


def runs_solution(name: str) -> bool:
    """Whether this test runs lesson ``name``'s solution copy (default mode) rather than its student copy."""
    return not EVERY_CELL and name in NOTEBOOKS


def _workspace_path(name: str) -> str:
    """The notebook the test opens, in the workspace: a solution copy sits beside the student copies (the same
    working folder, so the same relative paths), as ``NN_name.solution.ipynb``."""
    return f"{name[:-6]}.solution.ipynb" if runs_solution(name) else name


def _widget_reacts(page, name: str, path: Path, console: list[str]) -> str | None:
    """Nudge the first slider (or click the first widget button); return what changed.

    None when the lesson has no interactive widget (progress bars only) and its code creates none.
    """
    button = page.locator(".jp-OutputArea-output button.jupyter-button").first
    slider = page.locator(".jp-OutputArea-output .widget-slider").first
    text = page.locator(".jp-OutputArea-output .widget-text input[type='text']").first
    source = "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                       if c["cell_type"] == "code")
    if not (button.count() or slider.count() or text.count()) and not INTERACTIVE.search(source):
        return None
    if slider.count():  # a slider first: moving it is cheap (a button may start a training run)
        area = slider.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea')][1]")
        before = area.inner_text()
        handle = slider.locator(".noUi-handle, .ui-slider-handle").first
        handle.scroll_into_view_if_needed()
        handle.click()  # the handle takes the keyboard: in command mode JupyterLab's own shortcuts would
        handle.press("ArrowRight")  # take the arrow key (a focus() alone lost it to the notebook once in 4 runs)
        what = "slider"
    elif text.count():  # a text box: type a new value and press Enter (the kernel recomputes)
        area = text.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea')][1]")
        before = area.inner_text()
        text.scroll_into_view_if_needed()
        text.fill("A dull, lifeless film.")
        text.press("Enter")
        what = "text box"
    elif button.count():
        area = button.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea')][1]")
        before = area.inner_text()
        button.scroll_into_view_if_needed()
        button.click()
        what = f"button {button.inner_text()!r}"
    else:
        pytest.fail(f"{name}: widgets rendered but none can be clicked or moved")
    deadline = time.monotonic() + REACT_TIMEOUT_S
    while area.inner_text() == before:
        assert time.monotonic() < deadline, \
            f"{name}: {what} changed nothing in {REACT_TIMEOUT_S} s; browser console: {console[-5:]}"
        time.sleep(0.5)
    return what


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(lab, browser, name):
    base, work = lab
    rel = _workspace_path(name)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text[:300]}"))
    try:
        # A JupyterLab workspace of its own per lesson, reset: no tabs restored from the previous one.
        page.goto(f"{base}/lab/workspaces/{name[:-6]}/tree/{rel}?reset&token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_function("() => document.body.innerText.includes('| Idle')", timeout=180_000)
        assert "official Jupyter news" not in page.inner_text("body"), \
            "the news pop-up is shown: the course's settings override is not installed (make setup)"
        cells = page.locator(".jp-Notebook .jp-Cell")
        page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
        page.click("li.lm-Menu-item[data-command='runmenu:run-all']")
        deadline = time.monotonic() + RUN_TIMEOUT_S
        stopped = 0  # polls in a row with nothing queued or running: an error ended the run early
        while True:
            prompts = page.eval_on_selector_all(  # the prompts of the code cells
                ".jp-Notebook .jp-CodeCell", "els => els.map(e => e.querySelector('.jp-InputPrompt').textContent.trim())")
            if prompts and all(p not in ("[*]:", "[ ]:", "") for p in prompts):
                break
            ran = any(p not in ("[*]:", "[ ]:", "") for p in prompts)
            stopped = stopped + 1 if ran and "[*]:" not in prompts else 0
            if stopped >= 5:  # JupyterLab dropped the queue after an error: the checks below name it
                break
            if time.monotonic() > deadline:
                page.screenshot(path=str(OUT / f"{name[:-6]}-timeout.png"), full_page=True)
                pytest.fail(f"{name}: cells still running after {RUN_TIMEOUT_S} s (screenshot in {OUT})")
            time.sleep(1)
        page.screenshot(path=str(OUT / f"{name[:-6]}.png"))
        page.click("div.lm-MenuBar-itemLabel:text-is('File')")
        page.click("li.lm-Menu-item[data-command='docmanager:save']")
        nb = _wait_saved(work / rel)
        assert len(nb["cells"]) == cells.count(), f"{name}: the saved file has other cells than the page"

        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        failed = [(o.get("ename"), o.get("evalue", "")[:200]) for c in code for o in c["outputs"]
                  if o["output_type"] == "error"]
        assert not failed, f"{name}: error outputs {failed}"
        not_run = [i for i, c in enumerate(code) if not c.get("execution_count")]
        assert not not_run, f"{name}: code cells {not_run} did not run"

        figures = sum("image/png" in o.get("data", {}) for c in code for o in c["outputs"])
        shown = page.eval_on_selector_all(".jp-OutputArea-output img", "els => els.length")
        assert shown >= figures, f"{name}: {figures} figures in the outputs, {shown} shown as images"

        views = sum("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                    for c in code for o in c["outputs"])
        if views:
            # Progress bars with leave=False are closed when done: their outputs stay in the file but
            # render nothing. So: at least one live widget, none shown as text, no display error.
            rendered = page.eval_on_selector_all(".jp-OutputArea-output .jupyter-widgets",
                                                 "els => els.length")
            source = "".join("".join(c["source"]) for c in code)
            assert rendered >= 1 or not INTERACTIVE.search(source), \
                f"{name}: {views} widget outputs, none rendered as a widget"
            texts = page.eval_on_selector_all(".jp-OutputArea-output",
                                              "els => els.map(e => e.textContent.trim())")
            fallback = [t[:60] for t in texts if WIDGET_TEXT_FALLBACK.match(t)]
            assert not fallback, f"{name}: widgets shown as text: {fallback}"
            broken = [t[:80] for t in texts if "Error displaying widget" in t]
            assert not broken, f"{name}: {broken}"
            what = _widget_reacts(page, name, work / rel, console)
            page.screenshot(path=str(OUT / f"{name[:-6]}-widget.png"))
            print(f"{rel}: {len(code)} code cells run, {figures} figures, {views} widgets "
                  f"({what + ' reacted' if what else 'progress bars only'})")
        else:
            print(f"{rel}: {len(code)} code cells run, {figures} figures, no widgets")
        assert not errors, f"{name}: JavaScript errors in the page: {errors[:3]}"
    finally:
        page.close()
        _shutdown_kernels(base)
