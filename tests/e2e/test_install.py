"""The package installs: a wheel built from the checkout, installed (not editable) into a fresh venv,
builds a demo co-op and starts on the lookup screen. The keymap must come from inside the wheel."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.tmux import Terminal

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "kec_tui", "keymaps")


def run(*args, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{args} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r


def test_wheel_installs_into_a_fresh_venv_and_starts(tmp_path):
    # A copy of the sources, so the build leaves nothing in the checkout and sees no stale build/.
    src = tmp_path / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "KEC_TUI_DB",
                                                            "KEC_TUI_CONFIG")}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", src, env=env)
    wheel = next((tmp_path / "dist").glob("kec_tui-*.whl"))

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, env=env)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel, env=env, cwd=tmp_path)
    where = run(venv / "bin" / "python", "-c", "import kec_tui.keymap as k; print(k.DEFAULT_KEYMAP)",
                env=env, cwd=tmp_path).stdout.strip()
    assert where.startswith(str(venv)) and where.endswith("kec_tui/keymaps/default.toml"), where

    kec_tui = venv / "bin" / "kec-tui"
    demo = run(kec_tui, "demo", "--accounts", "200", "--months", "3", env=env, cwd=tmp_path)
    assert (tmp_path / "data" / "kec-tui" / "demo.db").exists()
    assert "--operator super" in demo.stdout, demo.stdout

    term = Terminal(f"cd {tmp_path} && {kec_tui}", env={"XDG_DATA_HOME": env["XDG_DATA_HOME"],
                                                         "XDG_CONFIG_HOME": env["XDG_CONFIG_HOME"]})
    try:
        term.wait_for("Type an account number", timeout=20)
        term.send("C-q")
        term.wait_for("[exited 0]")
    finally:
        term.close()
