"""Keymaps: keymaps/default.toml names the key(s) of every binding id; a user file overrides some."""
from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from textual.binding import Binding


def default_keymap_path() -> Path:
    """keymaps/default.toml: the top-level file in a checkout, the copy the wheel carries when installed."""
    checkout = Path(__file__).resolve().parent.parent / "keymaps" / "default.toml"
    if checkout.is_file():
        return checkout
    return Path(str(resources.files("kec_tui") / "keymaps" / "default.toml"))


DEFAULT_KEYMAP = default_keymap_path()


class KeymapError(ValueError):
    pass


def read(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise KeymapError(f"Keymap file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise KeymapError(f"Keymap file {path} is not valid TOML: {exc}") from exc
    table = data.get("bindings", data)
    bad = [k for k, v in table.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise KeymapError(f"Keymap {path}: give each binding id a key string ({', '.join(bad[:3])})")
    return {k: v.replace(" ", "") for k, v in table.items()}


def load(user: str | Path | None = None) -> dict[str, str]:
    keymap = read(DEFAULT_KEYMAP)
    if user:
        keymap.update(read(Path(user).expanduser()))
    return keymap


def keys_for(binding_id: str, keymap: dict[str, str] | None = None) -> str:
    """The first key of a binding, for the code that declares it (one source: the TOML)."""
    return (keymap or _DEFAULTS)[binding_id]


_DEFAULTS = read(DEFAULT_KEYMAP)


def bind(binding_id: str, action: str, description: str, *, show: bool = True, priority: bool = False) -> Binding:
    """A Binding whose keys come from keymaps/default.toml under its id."""
    return Binding(keys_for(binding_id), action, description, show=show, priority=priority, id=binding_id)
