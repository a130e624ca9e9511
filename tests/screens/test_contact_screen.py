from textual.widgets import DataTable, Static

from kec_tui import db
from kec_tui.screens.account import AccountScreen
from kec_tui.screens.contacts import ContactScreen, EditForm
from kec_tui.services import contacts, operators
from tests.screens.conftest import settle


async def open_contacts(pilot):
    await pilot.press(*"john smith", "enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AccountScreen)
    await pilot.press("f6")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ContactScreen)
    return pilot.app.screen.query_one(EditForm)


async def test_change_phone_saves_audits_and_shows_history(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_contacts(pilot)
        assert form.current == "phone_home" and form.values["phone_home"] == "(208) 666-1234"
        await pilot.press("ctrl+e", *"208-555-4321", "f10")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen)
        assert db.Member.get_by_id(coop["smith"].member_id).phone_home == "2085554321"
        assert "(208) 555-4321" in str(app.screen.query_one("#contact", Static).render())
        await pilot.press("f12")
        row = app.screen.query_one("#history-table", DataTable).get_row_at(0)
        assert [str(c) for c in row[1:]] == ["msr1", "contact.update", "phone_home", "2086661234", "2085554321"]


async def test_bad_values_stay_with_a_message(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_contacts(pilot)
        await pilot.press("ctrl+e", *"555-12", "enter")
        assert form.current == "phone_home" and "10 digits" in form.error
        assert form.values["phone_home"] == "555-12"          # nothing typed is lost
        await pilot.press("escape", *"2085550000", "enter", "enter", "enter")  # Reset clears the refused field
        assert form.current == "email"
        await pilot.press("ctrl+e", *"bob@", "f10")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        assert form.current == "email" and "not an e-mail" in form.error
        assert db.AuditLog.select().count() == 0


async def test_someone_else_changed_it_meanwhile(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contacts(pilot)
        other = operators.create("msr2", "Other MSR", "msr")
        contacts.update_contacts(other, coop["smith"].member_id, {"phone_home": "2085559999"})
        form = app.screen.query_one(EditForm)
        await pilot.press("ctrl+e", *"2085551111", "f10")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        assert "someone else" in form.error
        assert db.Member.get_by_id(coop["smith"].member_id).phone_home == "2085559999"


async def test_escape_leaves_without_saving(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contacts(pilot)
        await pilot.press("ctrl+e", *"2085551111", "escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountScreen)
        assert db.Member.get_by_id(coop["smith"].member_id).phone_home == "2086661234"


async def test_add_and_remove_authorized_person(app, coop):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contacts(pilot)
        await pilot.press("f7")
        await settle(pilot)
        await pilot.press(*"Grace Hopper", "enter", *"spouse", "enter", *"2085553333", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactScreen)
        assert "Grace Hopper" in str(app.screen.query_one("#people", Static).render())
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert db.AuthorizedPerson.select().count() == 0
        actions = [r.action for r in db.AuditLog.select().order_by(db.AuditLog.id)]
        assert actions == ["authorized.add", "authorized.remove"]


async def test_keys_typed_ahead_land_in_their_fields(app, coop):
    """The whole edit as one burst, nothing awaited between keys."""
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contacts(pilot)
        keys = ["ctrl+e", *"2085550001", "enter", "ctrl+e", *"2085550002", "enter", "enter",
                "ctrl+e", *"new@example.com", "f10"]
        from textual import events
        for k in keys:
            app._driver.send_message(events.Key(k, k if len(k) == 1 else None))
        await settle(pilot)
        m = db.Member.get_by_id(coop["smith"].member_id)
        assert (m.phone_home, m.phone_mobile, m.email) == ("2085550001", "2085550002", "new@example.com")
