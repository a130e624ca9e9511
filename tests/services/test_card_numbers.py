"""Card numbers are never stored: every free-text field of every table refuses a 13-19 digit number
passing Luhn, through the service that writes it (services/card_numbers.py).

The fields are enumerated from the models: each text column is either driven here through its
service, or listed in NOT_FREE_TEXT with why no person keys free text into it. A new text column
fails this test until it is one or the other."""
from __future__ import annotations

import datetime as dt

import peewee as pw
import pytest
from hypothesis import given, strategies as st

from kec_tui import db
from kec_tui.services import (
    accounts,
    adjustments,
    arrangements,
    assistance,
    autopay,
    bankruptcy,
    batches,
    billing_run,
    capital_credits,
    card_numbers,
    contacts,
    counter,
    damage_claims,
    drawers,
    energy,
    letters,
    lockbox,
    memberships,
    moves,
    notices,
    operators,
    orders,
    outages,
    portal,
    products,
    write_offs,
)
from kec_tui.services.counter import Tender
from kec_tui.services.errors import ValidationError
from tests import factories
from tests.support.notices import notice

PAN = "4111 1111 1111 1111"
PAN_PLAIN = "4111111111111111"
TODAY = dt.date.today()

NOT_FREE_TEXT = {
    # system keys, hashes, sign-in records, seals, search index
    "Meta_.key", "Meta_.value", "Operator.username", "Operator.role", "Operator.os_user", "Operator.password_hash",
    "SignInAttempt.username", "SignInAttempt.address", "Seal.kind", "Seal.prev", "Seal.digest",
    "SearchTerm.term", "SearchPair.key",
    # digits and codes checked by their own rules (10-digit phones, ZIPs, states, choices)
    "Member.tax_id_last4", "Member.tax_id_hash", "Member.phone_home", "Member.phone_mobile", "Member.phone_work",
    "Member.mail_state", "Member.mail_zip", "Member.preferred_contact", "AuthorizedPerson.phone",
    "ServiceLocation.state", "ServiceLocation.zip", "ServiceLocation.owner_phone", "ScheduledFinal.owner_phone",
    "Meter.meter_no", "ServiceOrder.meter_no", "Account.rate_class", "Account.status", "Account.winter_household",
    "ScheduledFinal.kind", "ScheduledFinal.rate_class", "Adjustment.reason", "ReturnedPayment.code",
    "Product.code", "CounterTender.kind", "CounterTender.card_type", "CounterTender.card_last4",
    "DrawerCount.tender", "CashDrawer.status",
    # a bank account number is digits by design (shown masked): not free text
    "Member.bank_routing", "Member.bank_account",
    # statuses, kinds and sources the code sets
    "LedgerEntry.kind", "Reading.source", "ServiceOrder.kind", "ServiceOrder.status", "PaymentBatch.tender",
    "PaymentBatch.source", "PaymentBatch.status", "BatchLine.tender", "BatchLine.source", "BatchLine.status",
    "BatchLine.account_text", "PaymentException.status", "ReadingException.source", "ReadingException.status",
    "ReadingException.codes", "BillingRun.period", "BillingRun.status", "BillingRun.claim", "Bill.kind",
    "Bill.schedule", "Bill.budget", "Bill.status", "LateFeeRun.status", "LateFeeRun.claim",
    # composed by services from parts checked where they were keyed (reasons, check numbers, notes)
    "LedgerEntry.description", "LedgerEntry.reference", "AuditLog.action", "AuditLog.entity", "AuditLog.field",
    "AuditLog.before", "AuditLog.after", "BatchLine.warnings_ack", "BillLine.code", "BillLine.description",
    "BillLine.quantity", "BillLine.rate", "PaymentException.reason", "ReadingException.message",
    "CounterSale.description",                     # copied from the price list (Product.description)
    # files the co-op or its bank sends (not keyed at a screen)
    "PaymentImport.sha256", "PaymentImport.bank_file_id", "PaymentImport.filename", "PaymentImport.format",
    "PaymentException.account_text", "PaymentException.check_no", "PaymentException.payer_name",
    "RateSchedule.code", "RateSchedule.name", "RateSchedule.body", "RateSchedule.sha256",
    "ReadingException.import_name", "ReadingException.meter_no", "ReadingException.reading_text",
    "ReadingException.demand_text",
    # capital credit runs and payments: keys, states and payees the code composes (the heirs are checked)
    "CapitalCreditRun.kind", "CapitalCreditRun.key", "CapitalCreditRun.label", "CapitalCreditRun.params",
    "CapitalCreditRun.status", "CapitalCreditRun.claim", "CapitalRetirement.kind", "CapitalRetirement.method",
    "CapitalRetirement.status", "CapitalRetirement.payee",
    # conversion: the former system's keys and the grid map, from the co-op's files
    "LegacyKey.kind", "LegacyKey.legacy", "LocationGrid.substation", "LocationGrid.feeder",
    "LocationGrid.transformer",
    # outages, energy services: device keys, states and codes the code sets; digits checked as phones
    "OutageEvent.open_key", "OutageEvent.level", "OutageEvent.device", "OutageEvent.substation",
    "OutageEvent.feeder", "OutageEvent.status", "OutageEvent.crew_status", "OutageCall.condition",
    "OutageCall.callback_phone", "HighBillInquiry.found", "EnergyReferral.phone", "EnergyReferral.status",
    # the online account: what the portal reports back (user name, sign-in state, text-alert phone digits),
    # messages composed here to the checked e-mail, the identity questions' names (never the answers)
    "PortalAccount.username", "PortalAccount.status", "PortalAccount.text_phone", "PortalMessage.kind",
    "PortalMessage.to_address", "PortalMessage.subject", "PortalMessage.body", "PortalMessage.error",
    "PortalIdentityCheck.questions", "PortalIdentityCheck.purpose",
    # arrangements, assistance, deposits, write-offs, agencies, bankruptcy: states, kinds, codes the code sets;
    # the agency referral's file and agency name come from the settings; a deposit's basis is composed
    "Arrangement.status", "Arrangement.mode", "AssistanceAgency.code", "AssistanceAgency.kind",
    "AssistanceAgency.phone", "Deposit.basis", "Deposit.reason", "Deposit.status", "DepositInstallment.status",
    "AgencyReferral.file_name", "AgencyReferral.agency", "AgencyReferral.status", "AgencyPayment.status",
    "CreditRun.kind", "CreditRun.status", "CreditRun.claim", "Pledge.status", "BankruptcyCase.status",


    # autopay: digits checked by their own rules (routing by its check digit; a bank account number is
    # digits by design, shown masked), codes and states the code sets, traces and files it writes
    "AutopayEnrollment.routing", "AutopayEnrollment.bank_account", "AutopayEnrollment.account_type",
    "AutopayEnrollment.status", "AutopayEnrollment.prenote_trace", "AutopayRun.status", "AutopayRun.claim",
    "AutopayRun.file_path", "AutopayRun.file_sha256", "AutopayEntry.kind", "AutopayEntry.trace",
    "AutopayEntry.tx_code", "AutopayEntry.routing", "AutopayEntry.account_last4", "AutopayEntry.status",
    "AutopayEntry.return_code",
    # a processor's settlement file (its import refuses a reference that looks like a card number:
    # tests/services/test_autopay.py test_processor_settlement_csv)
    "ProcessorPayment.reference", "ProcessorPayment.method",
    # no service writes it yet (statements read it)
    "StatementPreference.email",
    # letters and notices: the co-op's template and fields checked where keyed (letters.send), names, paths,
    # states and reasons the code sets; the number called is 10 digits, the result a choice
    "Letter.template", "Letter.title", "Letter.text", "Letter.pdf_path", "Letter.reference", "NoticeRun.status",
    "NoticeRun.claim", "NoticeRun.directory", "NoticeRun.vendor_file", "DisconnectNotice.status",
    "DisconnectNotice.closed_reason", "ContactAttempt.phone", "ContactAttempt.result",
    # the GL journal: the chart from the co-op's file, accounts, memos and notes composed by the code from the
    # ledger (services/gl_journal.py: nothing keyed)
    "GlChart.source", "GlChart.sha256", "GlChart.body", "GlDay.notes", "GlDay.digest", "GlLine.gl_account",
    "GlLine.gl_name", "GlLine.memo", "GlJournaled.debit_account", "GlJournaled.credit_account", "GlJournaled.note",
    # damage claims: choices and states the code sets, phones checked as 10 digits, the letters' template
    # names, text and files composed from the claim's checked fields
    "DamageClaim.direction", "DamageClaim.damaged", "DamageClaim.status", "DamageClaim.party_phone",
    "DamageClaim.adjuster_phone", "DamageClaim.invoice_path", "ClaimCostLine.kind", "ClaimTransaction.kind",
    "ClaimLetter.template", "ClaimLetter.title", "ClaimLetter.text", "ClaimLetter.pdf_path",
}


def text_fields() -> set[str]:
    out = set()
    for model in db.MODELS:
        for f in model._meta.sorted_fields:
            if isinstance(f, (pw.CharField, pw.TextField)) and not isinstance(f, pw.ForeignKeyField):
                out.add(f"{model.__name__}.{f.name}")
    return out


@pytest.fixture
def world(database, msr, supervisor):
    products.seed_demo()
    a = factories.account(bills=[5_000])
    loc = memberships.add_location(supervisor, "77 Lakeview Rd", "Hayden", "83835")
    o = orders.create_order(msr, a.id, "meter_test", notes="")
    b = batches.open_batch(msr, "check", 1, 1_000)
    drawers.open_drawer(msr, 5_000)
    r = counter.take(msr, a.number, 1_000, [Tender("cash", 1_000)])
    d = drawers.open_drawer_of(msr)
    db.CapitalCredit.create(member=a.member_id, year=2000, allocated_cents=1_000)
    outage = outages.log_call(msr, a.location_id, "flicker")
    referral = energy.refer(msr, a.id, "high bills")
    n = notice(a, TODAY - dt.timedelta(days=8))
    assistance.add_demo_agencies()
    claim = damage_claims.open_claim(msr, incident_on=TODAY, place="Hwy 95", damaged="pole", party_name="Dale")
    return dict(a=a, loc=loc, order=o, batch=b, receipt=r, drawer=d, msr=msr, sup=supervisor, outage=outage,
                referral=referral, notice=n, claim=claim)


def claim_with(w, **kw):
    base = dict(incident_on=TODAY, place="Hwy 95", damaged="pole", party_name="Dale Driver")
    return damage_claims.open_claim(w["msr"], **(base | kw))


def applicant(**kw) -> memberships.Applicant:
    base = dict(first_name="Grace", last_name="Hopper", birth_date=dt.date(1960, 1, 1), phone_home="2085550111")
    return memberships.Applicant(**(base | kw))


# model.field -> how a person would key a card number into it, through its service
DRIVERS = {
    "Operator.name": lambda w: operators.create("newbie", f"Card {PAN}", "msr"),
    "Member.first_name": lambda w: memberships.open_account(w["msr"], w["loc"].id, applicant(first_name=PAN_PLAIN)),
    "Member.last_name": lambda w: memberships.open_account(w["msr"], w["loc"].id, applicant(last_name=f"X {PAN}")),
    "Member.email": lambda w: contacts.update_contacts(w["msr"], w["a"].member_id, {"email": f"{PAN_PLAIN}@x.com"}),
    "Member.mail_street": lambda w: contacts.update_contacts(w["msr"], w["a"].member_id, {"mail_street": PAN}),
    "Member.mail_city": lambda w: contacts.update_contacts(w["msr"], w["a"].member_id, {"mail_city": PAN}),
    "AuthorizedPerson.name": lambda w: contacts.add_authorized(w["msr"], w["a"].member_id, f"Jo {PAN}"),
    "AuthorizedPerson.relation": lambda w: contacts.add_authorized(w["msr"], w["a"].member_id, "Jo", PAN),
    "ServiceLocation.street": lambda w: memberships.add_location(w["sup"], f"{PAN} Main St", "Hayden", "83835"),
    "ServiceLocation.city": lambda w: memberships.add_location(w["sup"], "1 Main St", PAN, "83835"),
    "ServiceLocation.map_location": lambda w: memberships.add_location(w["sup"], "2 Main St", "Hayden", "83835",
                                                                       map_location=PAN),
    "ServiceLocation.owner_name": lambda w: memberships.add_location(w["sup"], "3 Main St", "Hayden", "83835",
                                                                     owner=memberships.Landlord(PAN)),
    "ServiceOrder.notes": lambda w: orders.create_order(w["msr"], w["a"].id, "reread", notes=f"cc {PAN}"),
    "ServiceOrder.dispatched_to": lambda w: orders.dispatch_order(w["msr"], w["order"].order_no, PAN),
    "ServiceOrder.resolution": lambda w: orders.cancel_order(w["msr"], w["order"].order_no, PAN),
    "ScheduledFinal.notes": lambda w: moves.transfer_service(w["msr"], w["a"].id, w["loc"].id, notes=PAN),
    "ScheduledFinal.owner_name": lambda w: moves.transfer_service(w["msr"], w["a"].id, w["loc"].id,
                                                                  landlord=memberships.Landlord(PAN)),
    "Note.text": lambda w: accounts.add_note(w["msr"], w["a"].id, f"member read me {PAN} on the phone"),
    "PaymentBatch.accept_reason": lambda w: batches.post_batch(w["sup"], w["batch"].id, accept_reason=PAN),
    "BatchLine.unapplied_reason": lambda w: batches.key_line(w["msr"], w["batch"].id, str(w["a"].number), 1_000,
                                                             "101", reason=PAN),
    "BatchLine.check_no": lambda w: batches.key_line(w["msr"], w["batch"].id, str(w["a"].number), 1_000, PAN_PLAIN),
    "PaymentException.resolution": lambda w: lockbox.return_exception(w["msr"], 1, PAN),
    "Bill.cancel_reason": lambda w: billing_run.cancel_bill(w["sup"], 1, PAN),
    "Adjustment.note": lambda w: adjustments.adjust(w["msr"], w["a"].number, "OTHER", 500, PAN),
    "Product.description": lambda w: products.save(w["sup"], "GIFT", PAN, 100),
    "CashDrawer.accept_reason": lambda w: drawers.close_drawer(w["msr"], w["drawer"].id, {100: 1},
                                                               approver=w["sup"], reason=PAN),
    "DrawerCount.reference": lambda w: drawers.close_drawer(w["msr"], w["drawer"].id, {},
                                                            [drawers.CheckItem("check", PAN, 100)]),
    "CounterTxn.note": lambda w: counter.take(w["msr"], w["a"].number, 100, [Tender("cash", 100)], note=PAN),
    "CounterTxn.void_reason": lambda w: counter.void(w["msr"], w["receipt"].id, PAN),
    "CounterTender.reference": lambda w: counter.take(w["msr"], w["a"].number, 100, [Tender("check", 100, PAN)]),
    "CapitalRetirement.heirs": lambda w: capital_credits.retire_estate(w["msr"], w["sup"], w["a"].member_id,
                                                                       heirs=f"Heir {PAN}", paperwork="will"),
    "CapitalRetirement.paperwork": lambda w: capital_credits.retire_estate(w["msr"], w["sup"], w["a"].member_id,
                                                                           heirs="Heir", paperwork=PAN),
    "OutageCall.caller": lambda w: outages.log_call(w["msr"], w["a"].location_id, "out", caller=f"Jo {PAN}"),
    "OutageCall.notes": lambda w: outages.log_call(w["msr"], w["a"].location_id, "out", notes=PAN),
    "OutageEvent.cause": lambda w: outages.update(w["msr"], w["outage"].event_id, cause=PAN),
    "HighBillInquiry.note": lambda w: energy.record_inquiry(w["msr"], w["a"].id, {"weather": True}, PAN),
    "EnergyReferral.reason": lambda w: energy.refer(w["msr"], w["a"].id, f"bills {PAN}"),
    "EnergyReferral.outcome": lambda w: energy.update_referral(w["msr"], w["referral"].id, "done", PAN),
    "PortalAccount.email": lambda w: portal.enroll(w["msr"], w["a"].id, f"{PAN_PLAIN}@example.com"),
    "ContactAttempt.note": lambda w: notices.log_contact(w["msr"], w["notice"].id, "2085550100", "reached",
                                                         note=f"read me {PAN}"),
    "Arrangement.note": lambda w: arrangements.make(w["sup"], w["a"].id, total_cents=1_000, installments=2,
                                                    note=f"cc {PAN}"),
    "AssistanceApplication.note": lambda w: assistance.record_application(w["sup"], w["a"].id, "CAP", note=PAN),
    "AssistanceAgency.name": lambda w: assistance.add_agency(w["sup"], "NEWFUND", f"Fund {PAN}"),
    "Pledge.reference": lambda w: assistance.pledge(w["sup"], w["a"].id, "CAP", 10_000, reference=PAN_PLAIN),
    "AgencyPayment.check_no": lambda w: assistance.open_payment(w["sup"], "CAP", PAN_PLAIN, 10_000, 1),
    "WriteOff.note": lambda w: write_offs.write_off_account(w["sup"], w["a"].id, supervisor=w["sup"], note=PAN),
    "BankruptcyCase.case_no": lambda w: bankruptcy.record_case(w["sup"], w["a"].id, 7, PAN_PLAIN, TODAY,
                                                               "D. Idaho"),
    "BankruptcyCase.court": lambda w: bankruptcy.record_case(w["sup"], w["a"].id, 7, "26-10001", TODAY, PAN),
    "AutopayEnrollment.stop_reason": lambda w: autopay.stop(w["msr"], w["a"].id, f"member said {PAN}"),
    "CounterTender.approval": lambda w: counter.take(w["msr"], w["a"].number, 100, [
        Tender("card", 100, card_type="VISA", card_last4="1111", approval=PAN_PLAIN)]),
    "DamageClaim.place": lambda w: claim_with(w, place=f"Hwy 95 {PAN}"),
    "DamageClaim.description": lambda w: claim_with(w, description=f"card {PAN}"),
    "DamageClaim.party_name": lambda w: claim_with(w, party_name=f"Dale {PAN}"),
    "DamageClaim.party_address": lambda w: claim_with(w, party_address=PAN),
    "DamageClaim.insurer": lambda w: claim_with(w, insurer=f"Gem {PAN}"),
    "DamageClaim.insurer_claim_no": lambda w: claim_with(w, insurer_claim_no=PAN_PLAIN),
    "DamageClaim.adjuster_name": lambda w: claim_with(w, adjuster_name=f"Ann {PAN}"),
    "ClaimCostLine.description": lambda w: damage_claims.add_line(w["msr"], w["claim"].id, "labor", PAN, 1, 100),
    "ClaimTransaction.reference": lambda w: damage_claims.pay(w["msr"], w["claim"].id, 100, reference=PAN_PLAIN),
    "ClaimTransaction.note": lambda w: damage_claims.pay(w["msr"], w["claim"].id, 100, note=f"paid by {PAN}"),
}
# Free text that lands in a column composed from it (the ledger's or the audit log's text).
EXTRA_DRIVERS = {
    "deposit waiver": lambda w: memberships.open_account(w["msr"], w["loc"].id, applicant(), deposit_waiver=PAN),
    "order completion notes": lambda w: orders.complete_order(w["msr"], w["order"].order_no, notes=PAN),
    "batch line void reason": lambda w: batches.void_line(w["msr"], 1, PAN),
    "batch void reason": lambda w: batches.void_batch(w["msr"], w["batch"].id, PAN),
    "rebill reason": lambda w: billing_run.rebill(w["sup"], 1, PAN),
    "a letter's field": lambda w: letters.send(w["msr"], w["a"].id, "collection_letter", {"past_due": PAN}),
    "a claim's party changed": lambda w: damage_claims.update_party(w["msr"], w["claim"].id, insurer=PAN),
    "a settlement's note": lambda w: damage_claims.settle(w["msr"], w["sup"], w["claim"].id, 0, note=PAN),
    "a reduction's note": lambda w: damage_claims.reduce(w["msr"], w["sup"], w["claim"].id, 100, note=PAN),
    "a write-off's note": lambda w: damage_claims.write_off(w["msr"], w["sup"], w["claim"].id, note=PAN),
    "a decision's note": lambda w: damage_claims.decide(w["msr"], w["sup"], w["claim"].id, 0, note=PAN),
}


def test_every_text_column_is_driven_or_explained():
    fields = text_fields()
    unknown = fields - set(DRIVERS) - NOT_FREE_TEXT
    assert not unknown, f"Text columns neither driven with a card number nor listed as not free text: {unknown}"
    assert not (set(DRIVERS) & NOT_FREE_TEXT)
    assert set(DRIVERS) <= fields and NOT_FREE_TEXT <= fields


def _rows() -> dict[str, int]:
    return {m.__name__: m.select().count() for m in db.MODELS if m not in (db.SearchTerm, db.SearchPair)}


def test_a_card_number_is_refused_in_every_free_text_field(world):
    """One world per backend, every field in turn: each refused with the message, nothing written."""
    before = _rows()
    missed = {}
    for field, drive in sorted(DRIVERS.items()) + sorted(EXTRA_DRIVERS.items()):
        try:
            drive(world)
        except ValidationError as e:
            if "card numbers are never stored" not in e.message:
                missed[field] = e.message
        else:
            missed[field] = "accepted"
        assert _rows() == before, field
    assert not missed, missed
    for model in db.MODELS:
        for f in model._meta.sorted_fields:
            if isinstance(f, (pw.CharField, pw.TextField)) and not isinstance(f, pw.ForeignKeyField):
                assert not model.select().where(f.contains(PAN_PLAIN) | f.contains(PAN)).exists(), f


@pytest.mark.parametrize("text,found", [
    (PAN, True), (PAN_PLAIN, True), ("4111-1111-1111-1111", True), ("amex 3782 822463 10005", True),
    ("6011000990139424 exp 12/26", True), ("4111111111111112", False), ("call 208-555-0100", False),
    ("000012345700000123457", False), ("check 1042 for 55.00", False), ("", False),
])
def test_what_counts_as_a_card_number(text, found):
    assert card_numbers.has_card_number(text) is found


@given(st.text(alphabet="0123456789", min_size=12, max_size=19))
def test_luhn_valid_numbers_of_13_to_19_digits_are_found(digits):
    # Make the number pass Luhn by choosing its check digit.
    body = digits[:-1]
    for d in "0123456789":
        if card_numbers.luhn_ok(body + d):
            number = body + d
            break
    assert card_numbers.has_card_number(f"note {number} end") is (len(number) >= 13)
