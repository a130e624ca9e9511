"""DataTable helpers shared by the screens."""
from __future__ import annotations

from textual.widgets import DataTable


def fill_width(table: DataTable, key: str, width: int, minimum: int = 12) -> None:
    """Give column `key` what the other columns leave of `width` (each column pads one cell each side)."""
    if key not in table.columns:
        return
    fixed = sum(c.width for k, c in table.columns.items() if k.value != key)
    table.columns[key].width = max(minimum, width - fixed - 2 * len(table.columns) - 2)
    table.refresh()
