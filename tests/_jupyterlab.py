"""JupyterLab driven by Debian's Chromium, for ``tests/test_browser.py``.

``JupyterLab(repo)`` serves a throw-away copy of ``notebooks/`` (the rest of the repository linked in) on
127.0.0.1, on a free port the OS picks, behind a random token, with its own runtime, config, data, settings
and IPython folders, so nothing of the user's Jupyter setup is read or written and the committed notebooks are
never saved over. ``Chromium()`` starts the system's ``chromium`` through Playwright (``executable_path``;
no browser is ever downloaded) with a new empty profile. ``run_notebook()`` opens one notebook, runs every
cell, and returns per cell what the kernel sent and what the page shows.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# Headless, no sandbox (CI runs as root), and no background traffic: on a closed network Chromium's own
# connections (updates, sync, QUIC probes) are refused and slow everything down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

INSTALL_HINT = (
    "needs Debian's Chromium and Playwright for Python: `sudo apt-get install -y chromium` and "
    "`pip install -r requirements-test.txt` (no browser download: the test uses /usr/bin/chromium)"
)

# JupyterLab settings for a test run: every cell in the DOM (no virtual windowing, so off-screen outputs can
# be inspected and photographed), never save the notebook, no news or update pop-ups over the screenshot.
_USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
_PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}


def find_chromium() -> str | None:
    """The system Chromium (Debian's ``chromium`` package), or None."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


class JupyterLab:
    """A JupyterLab server for one test session; a context manager that stops it and its kernels."""

    def __init__(self, repo: Path, *, start_timeout: float = 90.0):
        self.repo = Path(repo)
        self.start_timeout = start_timeout
        self.token = secrets.token_hex(16)
        self.base_url = ""
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> JupyterLab:
        self._tmp = tempfile.TemporaryDirectory(prefix="epollkit-lab-")
        try:
            self._start(Path(self._tmp.name))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, tmp: Path) -> None:
        root = tmp / "root"
        root.mkdir()
        # The notebooks are copied (the kernel may write beside them; JupyterLab must never save over the
        # committed files); everything else is linked, so relative paths like ../data resolve as in the repo.
        for entry in self.repo.iterdir():
            if entry.name in (".git", ".venv", "notebooks"):
                continue
            (root / entry.name).symlink_to(entry)
        shutil.copytree(self.repo / "notebooks", root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        names = ("runtime", "config", "data", "ipython", "settings", "workspaces")
        dirs = {name: tmp / name for name in names}
        for d in dirs.values():
            d.mkdir()
        for rel, value in _USER_SETTINGS.items():
            path = dirs["settings"] / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        (dirs["config"] / "labconfig").mkdir()
        (dirs["config"] / "labconfig" / "page_config.json").write_text(json.dumps(_PAGE_CONFIG))
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # the kernel's own default (inline) is what readers get
        env.update(
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            IPYTHONDIR=str(dirs["ipython"]),
            JUPYTER_PLATFORM_DIRS="1",
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        cmd = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--expose-app-in-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port=0",  # the OS picks a free port; we read it from the runtime file
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        self.log_path = tmp / "jupyterlab.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in __exit__
        self._proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        info = None
        while info is None:
            if self._proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self._proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not start within {self.start_timeout:.0f} s:\n"
                                   f"{self.log_tail()}")
            for f in dirs["runtime"].glob("jpserver-*.json"):
                try:
                    info = json.loads(f.read_text())
                except (OSError, json.JSONDecodeError):  # being written
                    info = None
            time.sleep(0.1)
        self.base_url = f"http://127.0.0.1:{info['port']}{info.get('base_url', '/')}"
        while True:
            try:
                self.api("GET", "api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self.shutdown_kernels()
            except OSError:
                pass
            self._proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    # ------------------------------------------------------------------ helpers
    def url(self, notebook: str) -> str:
        return f"{self.base_url}lab/tree/{notebook}?token={self.token}&reset"

    def api(self, method: str, path: str):
        req = urllib.request.Request(self.base_url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for session in self.api("GET", "api/sessions") or []:
            self.api("DELETE", f"api/sessions/{session['id']}")
        for kernel in self.api("GET", "api/kernels") or []:
            self.api("DELETE", f"api/kernels/{kernel['id']}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


class Chromium:
    """Debian's Chromium driven by Playwright, with a new empty profile; a context manager."""

    def __init__(self, executable: str):
        self.executable = executable
        self._pw = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.context = None

    def __enter__(self) -> Chromium:
        from playwright.sync_api import sync_playwright

        self._tmp = tempfile.TemporaryDirectory(prefix="epollkit-chromium-")
        self._pw = sync_playwright().start()
        try:
            self.context = self._pw.chromium.launch_persistent_context(
                self._tmp.name,  # --user-data-dir: new and empty
                executable_path=self.executable,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
            )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.context is not None:
            self.context.close()
        if self._pw is not None:
            self._pw.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


# The DOM class each ipywidgets control view renders with (ipywidgets 8 / @jupyter-widgets/controls). A widget
# the kernel created with one of these views must show at least that many such elements on the page.
VIEW_CSS = {
    **dict.fromkeys(
        ["IntSliderView", "FloatSliderView", "FloatLogSliderView", "IntRangeSliderView",
         "FloatRangeSliderView", "SelectionSliderView", "SelectionRangeSliderView"], ".widget-slider"),
    "DropdownView": ".widget-dropdown",
    "ToggleButtonsView": ".widget-toggle-buttons",
    "ToggleButtonView": ".widget-toggle-button",
    "RadioButtonsView": ".widget-radio",
    "CheckboxView": ".widget-checkbox",
    "ButtonView": ".widget-button",
    "SelectView": ".widget-select",
    "SelectMultipleView": ".widget-select-multiple",
    **dict.fromkeys(["TextView", "IntTextView", "FloatTextView", "BoundedIntTextView", "BoundedFloatTextView",
                     "PasswordView", "ComboboxView"], ".widget-text"),
    "TextareaView": ".widget-textarea",
    "PlayView": ".widget-play",
    "ProgressView": ".widget-progress",
    "OutputView": ".widget-output",
    "HTMLView": ".widget-html",
    "TabView": ".widget-tab",
    "AccordionView": ".widget-accordion",
}


@dataclass
class NotebookRun:
    """What one notebook did in the browser."""

    path: str
    finished: bool = False  # run-all returned true: every cell ran, none raised
    error: str | None = None  # why run-all did not return (its deadline passed, the page broke)
    cells: list = field(default_factory=list)  # one dict per cell, see _COLLECT_JS
    widget_views: dict = field(default_factory=dict)  # model_id of each displayed widget -> its views' names
    interactions: list = field(default_factory=list)  # one dict per widget moved, see _interact()
    console_errors: list = field(default_factory=list)
    seconds: float = 0.0
    screenshot: Path | None = None
    edits: list = field(default_factory=list)  # one dict per cell edited and run again, see _EDIT_JS


_FIND_PANEL = """
  const app = window.jupyterapp;
  let panel = null;
  for (const w of app.shell.widgets('main')) { if (w.context && w.context.path === path) panel = w; }
"""

# Open the notebook, wait for its kernel, show it alone, run every cell. Resolves to true when all cells ran
# without an error (NotebookActions.runAll stops at the first one).
_RUN_JS = """
async ([path, timeoutMs]) => {
  const app = window.jupyterapp;
  await app.started;
  await app.restored;
  let panel = null;
  for (const w of app.shell.widgets('main')) { if (w.context && w.context.path === path) panel = w; }
  if (!panel) panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await panel.context.ready;
  await panel.sessionContext.ready;
  app.shell.activateById(panel.id);
  app.shell.collapseLeft();
  app.shell.collapseRight();
  const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`run-all did not finish within ${timeoutMs} ms`)), timeoutMs));
  return await Promise.race([app.commands.execute('notebook:run-all-cells'), timeout]);
}
"""

# Per cell: the model's outputs (what the kernel sent) and, per output, what the DOM shows.
_COLLECT_JS = """
([path, selectors]) => {
""" + _FIND_PANEL + """
  const controls = '.jupyter-widgets :is(input, select, button, textarea, .noUi-handle)';
  return panel.content.widgets.map((cell, index) => {
    const m = cell.model;
    const rec = {index, type: m.type, source: m.sharedModel.getSource()};
    if (m.type !== 'code') return rec;
    rec.execution_count = m.executionCount;
    rec.outputs = [];
    for (let j = 0; j < m.outputs.length; j++) {
      const o = m.outputs.get(j).toJSON();
      let text = o.text || '';
      if (Array.isArray(text)) text = text.join('');
      const view = (o.data || {})['application/vnd.jupyter.widget-view+json'];
      rec.outputs.push({output_type: o.output_type, name: o.name || null, mimes: Object.keys(o.data || {}),
                        ename: o.ename || null, evalue: o.evalue || null, text: String(text).slice(0, 2000),
                        model_id: view ? view.model_id : null});
    }
    const node = cell.outputArea.node;
    // One DOM child per output, in the model's order.
    rec.children = Array.from(node.querySelectorAll(':scope > .jp-OutputArea-child')).map(child => {
      const imgs = Array.from(child.querySelectorAll('img'));
      const counts = {};
      for (const sel of selectors) counts[sel] = child.querySelectorAll(sel).length;
      return {
        widget: child.querySelector('.jupyter-widgets') !== null,
        controls: child.querySelectorAll(controls).length,
        counts,
        imgs: imgs.length,
        loaded_imgs: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
        svgs: child.querySelectorAll('svg').length,
        error: child.textContent.includes('Error displaying widget'),
        loading: child.textContent.includes('Loading widget'),
        traceback: child.textContent.includes('Traceback (most recent call last)'),
        text: child.innerText.slice(0, 1000),
      };
    });
    return rec;
  });
}
"""

# Ask the kernel which views make up each displayed widget (children of boxes, widgets shown inside Output
# widgets), without touching the notebook's namespace or history.
_VIEWS_PY = r"""
import json
from ipywidgets.widgets import widget as _w

instances = getattr(_w, "_instances", None) or _w.Widget.widgets


def walk(mid, seen):
    w = instances.get(mid)
    if w is None or mid in seen:
        return []
    seen.add(mid)
    names = [w._view_name] if w._view_name else []
    for child in getattr(w, "children", None) or ():
        names += walk(child.model_id, seen)
    for out in getattr(w, "outputs", None) or ():
        view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
        if view:
            names += walk(view["model_id"], seen)
    return names


print("EPOLLKIT-VIEWS" + json.dumps({mid: walk(mid, set()) for mid in MODEL_IDS}))
"""

_KERNEL_JS = """
async ([path, code]) => {
""" + _FIND_PANEL + """
  const kernel = panel.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let out = '';
  future.onIOPub = msg => {
    if (msg.header.msg_type === 'stream') out += msg.content.text;
    if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  return out;
}
"""

_HEIGHT_JS = """
(path) => {
""" + _FIND_PANEL + """
  // JupyterLab 4 scrolls the notebook inside .jp-WindowedPanel-outer: the window must grow by what is hidden.
  const scroller = panel.content.node.querySelector('.jp-WindowedPanel-outer') || panel.content.node;
  return window.innerHeight + scroller.scrollHeight - scroller.clientHeight;
}
"""

_TOP_JS = """
(path) => {
""" + _FIND_PANEL + """
  const scroller = panel.content.node.querySelector('.jp-WindowedPanel-outer') || panel.content.node;
  scroller.scrollTop = 0;
}
"""

# A reader edits a cell (the first whose source contains `marker`) and runs it again: set its source, run
# it (notebook:run-cell resolves once the kernel has executed it), and report what its outputs show.
_EDIT_JS = """
async ([path, marker, source, timeoutMs]) => {
""" + _FIND_PANEL + """
  const nb = panel.content;
  const index = nb.widgets.findIndex(c => c.model.sharedModel.getSource().includes(marker));
  if (index < 0) return {marker, error: `no cell contains ${marker}`};
  nb.activeCellIndex = index;
  const cell = nb.widgets[index];
  cell.model.sharedModel.setSource(source);
  const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`the edited cell ran over ${timeoutMs} ms`)), timeoutMs));
  let ok = false;
  try { ok = await Promise.race([app.commands.execute('notebook:run-cell'), timeout]); }
  catch (e) { return {marker, index, error: String(e)}; }
  const texts = [];
  for (let j = 0; j < cell.model.outputs.length; j++) {
    const o = cell.model.outputs.get(j).toJSON();
    let t = o.text || (o.data || {})['text/plain'] || (o.ename ? o.ename + ': ' + o.evalue : '');
    texts.push(Array.isArray(t) ? t.join('') : String(t));
  }
  return {marker, index, ok, execution_count: cell.model.executionCount, text: texts.join('\\n'),
          shown: cell.outputArea.node.innerText};
}
"""

_SHUTDOWN_JS = """
async (path) => {
""" + _FIND_PANEL + """
  if (panel) { await panel.sessionContext.shutdown(); panel.dispose(); }
}
"""

# Resolves once the notebook's DOM has not changed for quietMs (widget views and the outputs captured by
# Output widgets render after the kernel is idle), or after capMs.
_QUIET_JS = """
([path, quietMs, capMs]) => new Promise(resolve => {
""" + _FIND_PANEL + """
  let timer = null;
  const obs = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, quietMs); });
  const cap = setTimeout(() => done(false), capMs);
  function done(quiet = true) { obs.disconnect(); clearTimeout(timer); clearTimeout(cap); resolve(quiet); }
  obs.observe(panel.content.node, {subtree: true, childList: true, characterData: true, attributes: true});
  timer = setTimeout(done, quietMs);
})
"""

# What a widget shows: its text (labels, HTML widgets, printed output), its Output widgets' content and its
# pictures, to tell when an action changed it.
_SHOWS_JS = """
(node) => ({
  outputs: node.innerText + '\\n' +
           Array.from(node.querySelectorAll('.widget-output')).map(n => n.innerHTML).join('\\n'),
  pictures: Array.from(node.querySelectorAll('img')).map(i => i.src).join('\\n'),
})
"""

# Resolves once what the widget shows differs from `before` and has then been still for quietMs (the
# kernel may print first and plot after), with every picture loaded; false after timeoutMs.
_CHANGE_JS = """
(node, [before, quietMs, timeoutMs]) => new Promise(resolve => {
  const shows = """ + _SHOWS_JS.strip() + """;
  const t0 = Date.now();
  let last = null, since = Date.now();
  const check = () => {
    const now = shows(node);
    const key = now.outputs + now.pictures;
    if (key !== last) { last = key; since = Date.now(); }
    const changed = now.outputs !== before.outputs || now.pictures !== before.pictures;
    const loaded = Array.from(node.querySelectorAll('img')).every(i => i.complete);
    if (changed && loaded && Date.now() - since >= quietMs) resolve(true);
    else if (Date.now() - t0 > timeoutMs) resolve(false);
    else setTimeout(check, 100);
  };
  check();
})
"""


def _widget_views(page, notebook: str, cells: list) -> dict:
    ids = [o["model_id"] for c in cells for o in c.get("outputs", []) if o.get("model_id")]
    if not ids:
        return {}
    code = f"exec({_VIEWS_PY!r}, {{'MODEL_IDS': {ids!r}}})"
    out = page.evaluate(_KERNEL_JS, [notebook, code])
    for line in out.splitlines():
        if line.startswith("EPOLLKIT-VIEWS"):
            return json.loads(line[len("EPOLLKIT-VIEWS"):])
    raise RuntimeError(f"could not list the widgets' views from the kernel: {out!r}")


def _interact(page, cells: list, timeout: float) -> list:
    """Use every displayed widget once, as a reader would, and wait for what it shows to change: press its
    first enabled button (e.g. Run); or, if it shows a picture and has no button, move its first slider
    (keyboard End, or Home if it already was at the end) or pick another entry of its first dropdown. A
    change proves the kernel heard the control and answered through the widget (a comm round trip)."""
    done = []
    cell_nodes = page.locator(".jp-Notebook .jp-Cell")
    for cell in cells:
        for j, child in enumerate(cell.get("children", [])):
            if not child["widget"] or child["error"]:
                continue
            node = cell_nodes.nth(cell["index"]).locator(".jp-Cell-outputArea > .jp-OutputArea-child").nth(j)
            rec = {"cell": cell["index"], "output": j, "control": None, "value_changed": True,
                   "changed": False, "pictures_before": child["imgs"]}
            try:
                if not _use_widget(page, node, child, rec, timeout):
                    continue
            except Exception as exc:  # noqa: BLE001 - reported; the test fails on it
                rec["error"] = str(exc).splitlines()[0]
            text = node.inner_text()
            rec["pictures_after"] = node.locator("img").count()
            rec["traceback"] = "Traceback (most recent call last)" in text
            rec["text"] = text[:500]
            done.append(rec)
    return done


def _use_widget(page, node, child: dict, rec: dict, timeout: float) -> bool:
    """One action on one widget (see _interact); False when it has nothing to act on."""
    button = node.locator("button.widget-button:not([disabled])").first
    handle = node.locator(".noUi-handle").first
    select = node.locator("select:not([disabled])").first
    before = node.evaluate(_SHOWS_JS)
    if button.count():
        rec["control"] = f"button {button.inner_text().strip()!r}"
        button.click()
    elif child["imgs"] and handle.count():
        rec["control"] = "slider"
        readout = node.locator(".widget-readout").first
        old = readout.inner_text() if readout.count() else None
        handle.focus()
        for key in ("End", "Home"):
            handle.press(key)
            page.wait_for_timeout(200)
            if readout.count() == 0 or readout.inner_text() != old:
                break
        rec["value_changed"] = readout.count() == 0 or readout.inner_text() != old
    elif child["imgs"] and select.count() and select.locator("option").count() > 1:
        rec["control"] = "dropdown"
        current = select.evaluate("s => s.selectedIndex")
        select.select_option(index=1 if current == 0 else 0)
    else:
        return False
    if rec["value_changed"]:
        rec["changed"] = bool(node.evaluate(_CHANGE_JS, [before, 1000, int(timeout * 1000)]))
    rec["picture_changed"] = node.evaluate(_SHOWS_JS)["pictures"] != before["pictures"]
    return True


def run_notebook(browser: Chromium, lab: JupyterLab, notebook: str, *, screenshot: Path | None,
                 run_timeout: float = 240.0, settle_timeout: float = 30.0,
                 interact: bool = True, edits: tuple = ()) -> NotebookRun:
    """Open ``notebook`` (a path relative to the repository) in JupyterLab, run all cells, wait until every
    widget has rendered, collect per-cell facts, use each widget, and take a full-height screenshot.
    ``edits``: ``(marker, source)`` pairs: after the run, the cell containing ``marker`` gets ``source``
    and runs again, as a reader editing it would (results in ``run.edits``)."""
    t0 = time.monotonic()
    page = browser.context.new_page()
    run = NotebookRun(path=notebook)
    page.on("console", lambda msg: run.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: run.console_errors.append(f"pageerror: {err}"))
    page.set_default_timeout(60_000)
    try:
        page.goto(lab.url(notebook), wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
        try:
            run.finished = bool(page.evaluate(_RUN_JS, [notebook, int(run_timeout * 1000)]))
        except Exception as exc:  # noqa: BLE001 - e.g. the run-all deadline; still collect and photograph
            run.error = str(exc).splitlines()[0]
        # Widget views render asynchronously after the kernel is idle: wait until the page is still for a
        # second and every picture has loaded (or give up after settle_timeout: the facts show what is
        # missing).
        page.evaluate(_QUIET_JS, [notebook, 1000, int(settle_timeout * 1000)])
        try:
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.jp-OutputArea-output img'))"
                ".every(i => i.complete)",
                timeout=settle_timeout * 1000,
            )
        except Exception:  # noqa: BLE001 - the facts collected next say what is still loading
            pass
        run.cells = page.evaluate(_COLLECT_JS, [notebook, sorted(set(VIEW_CSS.values()))])
        run.widget_views = _widget_views(page, notebook, run.cells)
        if interact and run.finished:
            run.interactions = _interact(page, run.cells, timeout=run_timeout / 4)
        if run.finished:
            for marker, source in edits:
                run.edits.append(page.evaluate(_EDIT_JS, [notebook, marker, source, int(run_timeout * 250)]))
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            height = int(page.evaluate(_HEIGHT_JS, notebook) or 0)
            # The notebook scrolls inside JupyterLab: make the window as tall as the notebook (Chromium's
            # limit for one capture is 16384 px) so one picture shows every cell.
            page.set_viewport_size({"width": 1280, "height": max(900, min(height + 40, 16000))})
            page.wait_for_timeout(300)
            page.evaluate(_TOP_JS, notebook)  # using the widgets scrolled it; start the picture at the title
            page.wait_for_timeout(300)
            page.screenshot(path=str(screenshot))
            run.screenshot = screenshot
    finally:
        try:
            page.evaluate(_SHUTDOWN_JS, notebook)
        except Exception:  # noqa: BLE001 - the page may be gone; the server's kernels are shut down below
            pass
        page.close()
        lab.shutdown_kernels()
        run.seconds = time.monotonic() - t0
    return run
