"""The README names the keys of printing, the policies and the online account as the keymap binds them."""
from __future__ import annotations

from pathlib import Path

from kec_tui.keymap import key_display, keys_for

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_readme_names_the_keys():
    for binding_id in ("app.reference", "app.print", "account.portal", "portal.enroll", "portal.resend",
                       "portal.unlock", "portal.reset", "portal.email"):
        key = key_display(keys_for(binding_id).split(",")[0])
        assert key in README, (binding_id, key)
    assert "portal_connector" in README and "kec-tui portal-outbox" in README
