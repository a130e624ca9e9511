"""An entry form whose password fields show asterisks (typed ahead safely, like every form)."""
from __future__ import annotations

from kec_tui.widgets.entry_form import EntryForm, FieldSpec


class PasswordForm(EntryForm):
    def _display(self, spec: FieldSpec, current: bool) -> str:
        shown = super()._display(spec, current)
        return "*" * len(shown) if "password" in spec.name else shown
