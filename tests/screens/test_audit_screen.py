import pytest
from textual.widgets import DataTable, Static

from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.screens.audit import AuditScreen
from kec_tui.screens.lookup import LookupScreen
from kec_tui.services import accounts, audit, contacts, operators
from kec_tui.services.errors import PermissionDenied
from tests.screens.conftest import settle


@pytest.fixture
def history(coop, msr_op):
    other = operators.create("msr2", "Other MSR", "msr")
    contacts.update_contacts(msr_op, coop["smith"].member_id, {"phone_home": "2085551000"}, account_id=coop["smith"].id)
    contacts.update_contacts(other, coop["ada"].member_id, {"email": "ada@lovelace.org"}, account_id=coop["ada"].id)
    accounts.add_note(other, coop["ada"].id, "Called about a high bill")
    return other


def test_service_refuses_msr(history, msr_op):
    with pytest.raises(PermissionDenied):
        audit.search(msr_op)


def test_service_filters(history, coop, sqlite_db):
    boss = operators.create("super", "Sam Boss", "supervisor")
    assert len(audit.search(boss)) == 3
    assert [e.action for e in audit.search(boss, operator="msr2")] == ["note.add", "contact.update"]
    assert [e.field for e in audit.search(boss, account_number=coop["smith"].number)] == ["phone_home"]
    assert [e.action for e in audit.search(boss, action="note")] == ["note.add"]
    import datetime as dt
    assert audit.search(boss, date_to=dt.date(2000, 1, 1)) == []


async def test_supervisor_filters_by_operator(history, coop, sqlite_db):
    boss = operators.create("super", "Sam Boss", "supervisor")
    app = KecApp(Settings(db=sqlite_db), boss)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 3
        await pilot.press(*"msr2", "f10")
        await settle(pilot)
        assert table.row_count == 2 and "2 entries" in str(app.screen.query_one("#summary", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen)


async def test_msr_is_told_no(app, history):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen)
