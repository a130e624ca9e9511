"""DataTable helpers shared by the screens."""
from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable


def widest(table: DataTable, key: str) -> int:
    """The widest cell of column `key`, its label included."""
    column = table.columns[key]
    cells = [cell_width(c) for c in table.get_column(key)]
    return max([column.label.cell_len, *cells])


def cell_width(cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))


def grows(table: DataTable, key: str, cell) -> bool:
    """Widen column `key` to fit one new cell; True if it grew (a row added: no scan of the column)."""
    column = table.columns[key]
    if cell_width(cell) <= column.width:
        return False
    column.width = cell_width(cell)
    return True


def fill_width(table: DataTable, key: str, width: int, minimum: int = 12, ids: Iterable[str] = ()) -> None:
    """Give column `key` (a description) what the other columns leave of `width`.

    The `ids` columns (account, reference, check numbers, amounts) first grow to their widest
    cell: an identifier is never cut, a description is. Each column pads one cell each side.
    """
    if key not in table.columns:
        return
    for id_key in ids:
        if id_key in table.columns:
            column = table.columns[id_key]
            column.width = max(column.width, widest(table, id_key))
    fixed = sum(c.width for k, c in table.columns.items() if k.value != key)
    table.columns[key].width = max(minimum, width - fixed - 2 * len(table.columns) - 2)
    table.refresh()
