"""The order queue as the tests read it."""
from __future__ import annotations

from textual.widgets import DataTable


def table_orders(app) -> list[str]:
    """The order numbers in the queue, top to bottom."""
    t = app.screen.query_one("#queue", DataTable)
    return [str(t.get_row_at(i)[0]) for i in range(t.row_count)]


def highlight(app, order_no: int) -> None:
    app.screen.query_one("#queue", DataTable).move_cursor(row=table_orders(app).index(str(order_no)))


def notices(app) -> str:
    """The notifications on screen, joined."""
    return " | ".join(n.message for n in app._notifications)
