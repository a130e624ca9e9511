"""No screen that shows a member ever shows a full tax ID or bank account number."""
import re

import pytest

from kec_tui import db
from kec_tui.app import KecApp
from kec_tui.config import Settings
from kec_tui.services import accounts, operators
from kec_tui.services.errors import PermissionDenied
from tests.screens.conftest import settle

BANK = "000123456789"
ROUTING = "123000848"


@pytest.fixture
def banked(coop):
    m = db.Member.get_by_id(coop["smith"].member_id)
    m.bank_routing, m.bank_account = ROUTING, BANK
    m.save()
    return coop["smith"]


def shown(app) -> str:
    svg = app.export_screenshot()
    return re.sub(r"&#160;", " ", svg)


async def test_every_member_screen_masks(app, banked, sqlite_db):
    seen = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"smith")
        await settle(pilot)
        seen.append(shown(app))                                 # lookup results
        await pilot.press("enter")
        await settle(pilot)
        seen.append(shown(app))                                 # account
        assert "****6789" in seen[-1] and "***-**-1234" in seen[-1]   # the masked forms are on screen
        await pilot.press("ctrl+b")                             # an MSR may not reveal
        await settle(pilot)
        seen.append(shown(app))
        await pilot.press("f6")
        await settle(pilot)
        seen.append(shown(app))                                 # contacts
        await pilot.press("escape", "f12")
        await settle(pilot)
        seen.append(shown(app))                                 # history
        await pilot.press("f4")
        await settle(pilot)
        seen.append(shown(app))                                 # order queue
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("f5")                                 # a new batch, then the member's stub keyed
        await settle(pilot)
        await pilot.press("enter", "enter", "1", "enter", *"10.00", "enter")
        await settle(pilot)
        await pilot.press(*str(banked.number), "enter")
        await settle(pilot)
        seen.append(shown(app))                                 # batch entry with the member shown
        assert "Smith" in seen[-1]
    for text in seen:
        assert BANK not in text and BANK[-9:] not in text
        assert not re.search(r"\b\d{3}-\d{2}-\d{4}\b", text), "a full tax ID pattern is on screen"
    assert db.AuditLog.select().where(db.AuditLog.action == "sensitive.view").count() == 0


def test_reveal_needs_the_role_and_is_audited(banked, msr_op):
    with pytest.raises(PermissionDenied):
        accounts.reveal_bank_account(msr_op, banked.id)
    boss = operators.create("super", "Sam Boss", "supervisor")
    assert accounts.reveal_bank_account(boss, banked.id) == f"routing {ROUTING}  account {BANK}"
    row = db.AuditLog.get(db.AuditLog.action == "sensitive.view")
    assert row.operator.username == "super" and BANK not in row.before + row.after


async def test_supervisor_reveal_is_brief_and_logged(banked, sqlite_db):
    boss = operators.create("super", "Sam Boss", "supervisor")
    app = KecApp(Settings(db=sqlite_db), boss)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"john smith", "enter")
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        notices = [n.message for n in app._notifications]
        assert any(BANK in m for m in notices), notices   # a notice that times out; the showing is logged
        await pilot.press("f12")
        await settle(pilot)
        assert "sensitive.view" in shown(app)
