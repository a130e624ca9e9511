"""Damage claims keyed in bursts (screens/damage_claims.py): a claim against a third party opened from the
back-office menu, its cost lines and the invoice (a PDF, its path shown); a payment over the balance
refused with the keys typed after it held; a settlement with a supervisor signing in, and one with a
wrong password; F1 on each screen. Every key is queued before anything is awaited; what is asserted is
what the database holds."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from kec_tui import db
from kec_tui.screens.damage_claims import ClaimMoneyDialog, ClaimScreen, DamageClaimsScreen, PartyDialog
from kec_tui.screens.help import HelpScreen
from kec_tui.services import damage_claims as dc, operators, passwords
from tests.screens.test_help import KEY_IN_TEXT, bound_keys
from tests.support.batch import expand, make_app
from tests.support.keys import send_burst, settle

INCIDENT = dt.date(2026, 1, 3)


@pytest.fixture
def people(sqlite_db):
    msr = operators.create("msr1", "Pat Keyer", "msr")
    operators.create("super", "Sam Boss", "supervisor")
    passwords.set_password("super", "sup3rpass-long")
    return msr


def invoiced_claim(op, tmp_path) -> dc.Claim:
    c = dc.open_claim(op, incident_on=INCIDENT, place="Seltice Way", damaged="line", party_name="Dig Co",
                      insurer="Gem State Mutual")
    dc.add_line(op, c.id, "labor", "Splice crew", 10, 50_00)             # 500.00 + 15 % = 575.00
    return dc.invoice(op, c.id, today=INCIDENT, directory=tmp_path / "out")


def txns(claim_id: int) -> list[tuple]:
    T = db.ClaimTransaction
    return [(t.kind, t.amount_cents) for t in T.select().where(T.claim == claim_id).order_by(T.id)]


async def test_a_claim_with_its_cost_lines_and_the_invoice_keyed_in_bursts(people, sqlite_db, tmp_path):
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        # The back-office menu (Shift+F6), Damage claims (7); F6 new claim: every field in one burst.
        send_burst(app, ["shift+f6", "7"])
        await settle(pilot, lambda: isinstance(app.screen, DamageClaimsScreen))
        send_burst(app, expand("f6", "010326", "enter", "Hwy 95 at Lancaster Rd", "enter", "p",
                               "enter", "Pickup slid into the pole", "enter", "Dale Driver", "enter", "enter",
                               "2085550142", "enter", "Gem State Mutual", "enter", "GS-26-0042", "enter",
                               "Ann Adjuster", "enter", "2085550199", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, ClaimScreen))
        c = db.DamageClaim.get()
        assert (c.incident_on, c.place, c.damaged, c.party_name, c.party_phone, c.insurer, c.insurer_claim_no,
                c.adjuster_phone, c.status) == (INCIDENT, "Hwy 95 at Lancaster Rd", "pole", "Dale Driver",
                                                "2085550142", "Gem State Mutual", "GS-26-0042", "2085550199", "open")
        screen = app.screen
        # Two cost lines and the invoice, one burst.
        send_burst(app, expand("f6", "l", "enter", "Line crew, 2 linemen", "enter", "6.5", "enter", "85.00", "enter",
                               "f6", "m", "enter", "Class 4 pole, 40 ft", "enter", "1", "enter", "1234.56", "enter",
                               "f7"))
        await settle(pilot, lambda: app.screen is screen and db.DamageClaim.get().status == "invoiced")
        claim = dc.get(c.id)
        assert [(ln.kind, ln.amount_cents) for ln in claim.lines] == [("labor", 552_50), ("material", 1_234_56)]
        # 1,787.06 + 15 % (268.059 -> 268.06) = 2,055.12
        assert (claim.direct_cents, claim.overhead_cents, claim.total_cents) == (1_787_06, 268_06, 2_055_12)
        path = Path(claim.invoice_path)
        assert path.parent == tmp_path / "reports" / "claims" and path.read_bytes()[:4] == b"%PDF"
        message = str(screen.query_one("#message").render())
        assert "Invoiced $2,055.12" in message and path.name in message
        # A partial payment keyed, then back to the list: the claim is there with its balance.
        send_burst(app, expand("f8", "1000", "enter", "GS check 5521", "enter", "enter"))
        await settle(pilot, lambda: txns(c.id) == [("payment", 1_000_00)] and app.screen is screen)
        send_burst(app, ["escape"])
        await settle(pilot, lambda: isinstance(app.screen, DamageClaimsScreen))
        assert app.screen.items[0].balance_cents == 1_055_12


async def test_a_payment_over_the_balance_is_refused_and_keys_typed_ahead_are_held(people, sqlite_db, tmp_path):
    c = invoiced_claim(people, tmp_path)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open("damage_claim", c.id)
        await settle(pilot, lambda: isinstance(app.screen, ClaimScreen))
        send_burst(app, expand("f8", "600", "enter", "CK 1", "enter", "note", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, ClaimMoneyDialog))
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "amount"
        assert "Payment $600.00 is more than the balance, $575.00" in form.error
        assert form.held_keys == 10
        assert txns(c.id) == [] and db.DamageClaim.get_by_id(c.id).status == "invoiced"


async def test_a_settlement_with_a_supervisor_signing_in(people, sqlite_db, tmp_path):
    c = invoiced_claim(people, tmp_path)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.open("damage_claim", c.id)
        await settle(pilot, lambda: app.screen is screen)
        send_burst(app, expand("f9", "500", "enter", "Agreed with the adjuster", "enter", "super", "enter",
                               "sup3rpass-long", "enter"))
        await settle(pilot, lambda: txns(c.id) != [] and app.screen is screen)
        t = db.ClaimTransaction.get()
        assert (t.kind, t.amount_cents, t.approver.username, t.note) == ("settlement", 75_00, "super",
                                                                         "Agreed with the adjuster")
        assert db.DamageClaim.get_by_id(c.id).status == "settled"


async def test_a_wrong_supervisor_password_settles_nothing(people, sqlite_db, tmp_path):
    c = invoiced_claim(people, tmp_path)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open("damage_claim", c.id)
        await settle(pilot, lambda: isinstance(app.screen, ClaimScreen))
        send_burst(app, expand("f9", "500", "enter", "agreed", "enter", "super", "enter", "wrong-password",
                               "enter", "enter", "y"))
        await settle(pilot, lambda: isinstance(app.screen, ClaimMoneyDialog))
        form = app.screen.query_one("#form")
        assert form.locked and "sign-in refused" in form.error and form.held_keys == 2
        assert txns(c.id) == [] and db.DamageClaim.get_by_id(c.id).status == "invoiced"


OPENERS = {
    "DamageClaimsScreen": lambda app, c: send_burst(app, ["shift+f6", "7"]),
    "ClaimScreen": lambda app, c: app.open("damage_claim", c.id),
    "NewClaimDialog": lambda app, c: app.open("damage_claim_new", "member"),
    "CostLineDialog": lambda app, c: app.open("damage_claim_line", c.id),
    "ClaimMoneyDialog": lambda app, c: app.open("damage_claim_money", c.id, "settle"),
    "ClaimLetterDialog": lambda app, c: app.open("damage_claim_letter", c.id),
    "PartyDialog": lambda app, c: app.open("damage_claim_party", c.id),
}


@pytest.mark.parametrize("name", OPENERS)
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_f1_lists_the_keys_of_each_claims_screen(people, sqlite_db, tmp_path, name, size):
    c = invoiced_claim(people, tmp_path)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=size) as pilot:
        OPENERS[name](app, c)
        await settle(pilot, lambda: type(app.screen).__name__ == name)
        under = app.screen
        own, working = bound_keys(under)
        assert own
        send_burst(app, ["f1"])
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = app.screen.as_text()
        keys_part = text.split("Everywhere")[0]
        for key in own:
            assert re.search(rf"(?<![\w+]){re.escape(key)}(?![\w+])", keys_part), (key, text)
        assert set(KEY_IN_TEXT.findall(text)) <= working, text
        send_burst(app, ["escape"])
        await settle(pilot, lambda: app.screen is under)


async def test_a_future_incident_date_is_refused_and_no_claim_is_opened(people, sqlite_db, tmp_path):
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open("damage_claim_new", "against")
        await settle(pilot, lambda: type(app.screen).__name__ == "NewClaimDialog")
        later = dt.date.today() + dt.timedelta(days=3)
        send_burst(app, expand(f"{later:%m/%d/%Y}", "enter", "Hwy 95", "enter", "p", "enter", "enter", "Dale",
                               "enter"))
        await settle(pilot)
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "incident_on" and "in the future" in form.error
        assert form.held_keys == 15
        assert db.DamageClaim.select().count() == 0


async def test_a_bad_quantity_is_refused_and_no_cost_line_is_added(people, sqlite_db, tmp_path):
    c = dc.open_claim(people, incident_on=INCIDENT, place="Seltice Way", damaged="line", party_name="Dig Co")
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.open("damage_claim", c.id)
        await settle(pilot, lambda: app.screen is screen)
        send_burst(app, expand("f6", "l", "enter", "Crew", "enter", "6,5", "enter", "85", "enter"))
        await settle(pilot, lambda: type(app.screen).__name__ == "CostLineDialog")
        form = app.screen.query_one("#form")
        assert form.locked and form.current == "quantity" and "a number" in form.error
        assert form.held_keys == 3
        assert db.ClaimCostLine.select().count() == 0


async def test_a_members_claim_on_their_account_decided_and_paid_in_bursts(people, sqlite_db, tmp_path):
    from tests import factories

    a = factories.account()
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        send_burst(app, ["shift+f6", "7"])
        await settle(pilot, lambda: isinstance(app.screen, DamageClaimsScreen))
        send_burst(app, expand("f7", "01/03/2026", "enter", "1234 N Government Way", "enter", "a", "enter",
                               "Surge burned the furnace board", "enter", "Ada Lovelace", "enter", "enter", "enter",
                               "enter", "enter", "enter", "enter", str(a.number), "enter", "800", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, ClaimScreen))
        screen = app.screen
        c = db.DamageClaim.get()
        assert (c.direction, c.damaged, c.account_id, c.claimed_cents) == ("member", "appliance", a.id, 800_00)
        send_burst(app, expand("f9", "500", "enter", "Board covered, labor not", "enter", "super", "enter",
                               "sup3rpass-long", "enter", "f8", "500", "enter", "check 7001", "enter", "enter"))
        await settle(pilot, lambda: db.DamageClaim.get().status == "closed" and app.screen is screen)
        c = db.DamageClaim.get()
        assert (c.approved_cents, txns(c.id)) == (500_00, [("payment", 500_00)])


async def test_an_invoiced_claim_marked_negotiating(people, sqlite_db, tmp_path):
    c = invoiced_claim(people, tmp_path)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.open("damage_claim", c.id)
        await settle(pilot, lambda: app.screen is screen)
        send_burst(app, expand("f5", "Insurer disputes the crew hours", "enter"))
        await settle(pilot, lambda: db.DamageClaim.get().status == "negotiating" and app.screen is screen)
        assert db.AuditLog.select().where(db.AuditLog.action == "claim.negotiate",
                                          db.AuditLog.after.contains("crew hours")).exists()


async def test_the_print_key_prints_the_invoice_or_says_there_is_none(people, sqlite_db, tmp_path, monkeypatch):
    import dataclasses

    from tests.screens.test_print_key import fake_lp
    from tests.support.orders import notices

    log = fake_lp(tmp_path, monkeypatch)
    c = invoiced_claim(people, tmp_path)
    other = dc.open_claim(people, incident_on=INCIDENT, place="Prairie Ave", damaged="meter", party_name="Van Co")
    app = make_app(sqlite_db, people, tmp_path)
    app.settings = dataclasses.replace(app.settings, printer="claims-desk")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.open("damage_claim", other.id)
        await settle(pilot, lambda: app.screen is screen)
        send_burst(app, ["shift+f7"])
        await settle(pilot)
        assert "has no invoice yet: F7 writes it" in notices(app)
        assert not log.exists()
        send_burst(app, ["escape"])
        await settle(pilot, lambda: app.screen is not screen)
        screen = app.open("damage_claim", c.id)
        await settle(pilot, lambda: app.screen is screen)
        send_burst(app, ["shift+f7"])
        await app.workers.wait_for_complete()
        await settle(pilot, lambda: log.exists())
        assert log.read_text().splitlines() == ["-d", "claims-desk", str(Path(c.invoice_path).resolve())]


async def test_a_cost_line_removed_before_the_invoice(people, sqlite_db, tmp_path):
    c = dc.open_claim(people, incident_on=INCIDENT, place="Seltice Way", damaged="line", party_name="Dig Co")
    dc.add_line(people, c.id, "labor", "Splice crew", 10, 50_00)
    dc.add_line(people, c.id, "labor", "Typo line", 1, 9_999_00)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.open("damage_claim", c.id)
        await settle(pilot, lambda: app.screen is screen)
        send_burst(app, ["down", "delete", "enter"])           # Enter does not say yes: the line stays
        await settle(pilot)
        assert db.ClaimCostLine.select().count() == 2
        send_burst(app, ["escape", "delete", "y"])
        await settle(pilot, lambda: db.ClaimCostLine.select().count() == 1 and app.screen is screen)
        assert [ln.description for ln in dc.get(c.id).lines] == ["Splice crew"]
        assert db.AuditLog.select().where(db.AuditLog.action == "claim.line_remove").count() == 1


async def test_a_write_off_with_a_supervisor_after_a_partial_payment(people, sqlite_db, tmp_path):
    c = invoiced_claim(people, tmp_path)
    dc.pay(people, c.id, 200_00)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.open("damage_claim", c.id)
        await settle(pilot, lambda: app.screen is screen)
        send_burst(app, expand("f11", "Company dissolved", "enter", "super", "enter", "sup3rpass-long", "enter"))
        await settle(pilot, lambda: db.DamageClaim.get_by_id(c.id).status == "written_off" and app.screen is screen)
        assert txns(c.id) == [("payment", 200_00), ("write_off", 375_00)]
        assert db.ClaimTransaction.get(db.ClaimTransaction.kind == "write_off").approver.username == "super"


def audited_changes(claim_id: int) -> list[tuple[str, str, str]]:
    A = db.AuditLog
    return [(a.field, a.before, a.after) for a in A.select().where(A.action == "claim.update", A.entity_id == claim_id)
            .order_by(A.id)]


async def test_the_party_and_insurer_changed_in_one_burst(people, sqlite_db, tmp_path):
    c = invoiced_claim(people, tmp_path)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open("damage_claim", c.id)
        await settle(pilot, lambda: isinstance(app.screen, ClaimScreen))
        screen = app.screen
        # Ctrl+E: the details as recorded; Enter keeps a field as it is, what is keyed into an empty one is added.
        send_burst(app, expand("ctrl+e", "enter", "enter", "44 Oak St, Post Falls ID", "enter", "enter", "enter",
                               "GS-26-0099", "enter", "Bo Adjuster", "enter", "2085550111", "enter"))
        await settle(pilot, lambda: app.screen is screen and audited_changes(c.id))
        row = db.DamageClaim.get_by_id(c.id)
        assert (row.party_name, row.party_address, row.insurer, row.insurer_claim_no, row.adjuster_name,
                row.adjuster_phone) == ("Dig Co", "44 Oak St, Post Falls ID", "Gem State Mutual", "GS-26-0099",
                                        "Bo Adjuster", "2085550111")
        assert audited_changes(c.id) == [("party_address", "", "44 Oak St, Post Falls ID"),
                                         ("insurer_claim_no", "", "GS-26-0099"), ("adjuster_name", "", "Bo Adjuster"),
                                         ("adjuster_phone", "", "2085550111")]
        assert "The party and insurer saved" in str(screen.query_one("#message").render())
        assert "GS-26-0099" in str(screen.query_one("#about").render())


async def test_an_emptied_party_name_is_refused_and_the_keys_typed_after_it_held(people, sqlite_db, tmp_path):
    c = invoiced_claim(people, tmp_path)
    app = make_app(sqlite_db, people, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open("damage_claim", c.id)
        await settle(pilot, lambda: isinstance(app.screen, ClaimScreen))
        send_burst(app, expand("ctrl+e", "enter", "ctrl+e", "enter", "Somebody Else", "enter", "2085550111", "enter",
                               "enter", "enter", "enter", "enter", "enter"))
        await settle(pilot, lambda: isinstance(app.screen, PartyDialog) and app.screen.form.locked)
        form = app.screen.form
        assert form.current == "party_name" and "Responsible party is required" in form.error
        assert form.held_keys > 0
        # Esc unlocks, the old name is keyed back, a 9-digit phone is refused the same way.
        send_burst(app, expand("escape", "Dig Co", "enter", "enter", "208555011", "enter", "enter"))
        await settle(pilot, lambda: form.locked and form.current == "party_phone")
        assert "10 digits" in form.error
        assert db.DamageClaim.get_by_id(c.id).party_name == "Dig Co" and audited_changes(c.id) == []
