"""Settings: built-in defaults < TOML file < environment < command-line flags."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


def default_config_path() -> Path:
    env = os.environ.get("KEC_TUI_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kec-tui" / "config.toml"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kec-tui"


@dataclass(frozen=True)
class Settings:
    db: str = ""                       # URL or path; empty = the demo database in the data dir
    operator: str = ""                 # empty = the OS user mapped to an operator
    keymap: str = ""                   # a user keymap TOML overriding keymaps/default.toml
    theme: str = "textual-dark"
    idle_lock_minutes: int = 10        # lock the screen after this long without input; 0 = never
    scan_account_width: int = 10
    scan_amount_width: int = 10
    late_fee_percent: str = "1.5"
    late_fee_minimum_cents: int = 200
    returned_payment_fee_cents: int = 2500
    reconnect_fee_cents: int = 4000
    reconnect_after_hours_fee_cents: int = 16000
    extra: dict = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.db or str(default_data_dir() / "demo.db")


ENV_PREFIX = "KEC_TUI_"


def load(path: Path | None = None, **overrides) -> Settings:
    """Read the TOML file (if any), then KEC_TUI_* variables, then explicit overrides."""
    values: dict = {}
    path = path or default_config_path()
    known = {f.name for f in fields(Settings)} - {"extra"}
    extra: dict = {}
    if path.exists():
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for k, v in data.items():
            (values if k in known else extra)[k] = v
    for name in known:
        env = os.environ.get(ENV_PREFIX + name.upper())
        if env is not None:
            f = next(f for f in fields(Settings) if f.name == name)
            values[name] = int(env) if f.type == "int" else env
    values.update({k: v for k, v in overrides.items() if v not in (None, "")})
    return replace(Settings(), **values, extra=extra)
