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
_active: dict[str, str] | None = None       # the running app's keymap (one app per process)

_NAMES = {"escape": "Esc", "asterisk": "*", "plus": "+", "minus": "-", "space": "Space", "pageup": "PgUp",
          "pagedown": "PgDn"}


def use(keymap: dict[str, str]) -> None:
    """The keymap the app runs with: what keys_text names."""
    global _active
    _active = keymap


def key_display(key: str) -> str:
    """A Textual key name as printed on the keyboard and in messages: "ctrl+s" -> "Ctrl+S"."""
    if key in _NAMES:
        return _NAMES[key]
    return "+".join(part.upper() if len(part) == 1 or part[0] == "f" and part[1:].isdigit()
                    else _NAMES.get(part, part.capitalize()) for part in key.split("+"))


def keys_of(binding_id: str) -> tuple[str, ...]:
    """The keys of a binding id in the running app's keymap."""
    keys = (_active or _DEFAULTS).get(binding_id) or _DEFAULTS[binding_id]
    return tuple(keys.split(","))


def keys_text(binding_id: str) -> str:
    """The keys of a binding id as the operator sees them ("F10/Ctrl+S"): for any text naming a key."""
    return "/".join(key_display(k) for k in keys_of(binding_id))


def bind(binding_id: str, action: str, description: str, *, show: bool = True, priority: bool = False) -> Binding:
    """A Binding whose keys come from keymaps/default.toml under its id."""
    return Binding(keys_for(binding_id), action, description, show=show, priority=priority, id=binding_id)
