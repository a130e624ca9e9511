"""The credit walkthroughs: bill a deposit the rules call for, approve the write-off list with a
supervisor, record a bankruptcy. Each starts on a member made for it on the practice database
(services/credit_practice.py); the checks read what the trainee did through the services."""
from __future__ import annotations

import datetime as dt

from kec_tui import money
from kec_tui.services import bankruptcy, credit_practice, deposits, write_offs
from kec_tui.training.walkthroughs import FIND, Ctx, NotPossible, Step, Verdict, Walkthrough, _account_open

DEPOSIT_SCREEN = "kec_tui.screens.credit:DepositScreen"
CREDIT_SCREEN = "kec_tui.screens.credit_lists:CreditScreen"
BANKRUPTCY_SCREEN = "kec_tui.screens.credit:BankruptcyScreen"
CASE_NO = "25-20417"


def _scenario(ctx: Ctx, kind: str, permission: str, role_text: str, walkthrough: str) -> dict:
    if not ctx.op.can(permission):
        raise NotPossible(f"{role_text} ({ctx.op.role} may not): train as one: "
                          f"kec-tui train --role collections --walkthrough {walkthrough}")
    data = credit_practice.ensure_scenario(kind)
    data["street"] = "the service address"
    return data


# ---- a deposit the rules call for ------------------------------------------------------------------------

def _setup_deposit(ctx: Ctx) -> dict:
    data = _scenario(ctx, "late", "deposit.bill", "Deposits are billed by MSRs and collections staff", "deposit")
    found = deposits.assess(data["account_id"], data["today"])
    data.update(amount=money.fmt_dollars(found.due_cents),
                caller=f"\"This is {data['name']}: my power was almost shut off, I want to get back on track.\"")
    return data


def _deposit_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(DEPOSIT_SCREEN, account_id=ctx.data["account_id"]) else None


def _deposit_billed(ctx: Ctx) -> Verdict:
    billed = deposits.for_account(ctx.data["account_id"])
    if not billed:
        return None
    d = billed[0]
    if d.installments != 2:
        return (f"That deposit is in {d.installments} installment(s); the member agreed to 2. It is billed now: "
                "tell the member, and go on.") if d.installments else None
    return True


DEPOSIT = Walkthrough(
    "deposit", "Bill a deposit the rules call for",
    "A member with bills paid late: see that the rules call for a deposit, and bill it in two installments.",
    steps=(
        FIND,
        Step("Open the deposit form",
             "Ctrl+D on the account: the form says why the rules call for a deposit and how much.",
             "A deposit is asked when the member's history says the co-op may lose money: bills paid late, "
             "payments returned, a disconnection for non-payment. The amount is the rule's (twice the average "
             "bill), not a guess, so members are treated alike.",
             _deposit_open),
        Step("Bill {amount} in 2 installments",
             "Reason: Enter takes L (late payments, the one the rules call for); amount: Enter takes {amount}; "
             "installments: 2, Enter; a note (Agreed on the phone), Enter.",
             "Installments spread the deposit over two bills: the first is billed now, the second a month later "
             "by the deposit review. After 12 months of prompt payment the review credits it back with any "
             "interest; the final bill uses it.",
             _deposit_billed, milestone=True),
    ),
    setup=_setup_deposit,
    done="You billed a deposit the rules called for, in two installments agreed with the member.",
    needs=(DEPOSIT_SCREEN,),
)


# ---- the write-off list ----------------------------------------------------------------------------------

def _setup_writeoff(ctx: Ctx) -> dict:
    data = _scenario(ctx, "final", "collections.act", "The write-off list is for collections staff", "writeoff")
    return data


def _list_open(ctx: Ctx) -> Verdict:
    return True if ctx.open(CREDIT_SCREEN) else None


def _written_off(ctx: Ctx) -> Verdict:
    return True if write_offs.written_off([ctx.data["account_id"]]) else None


WRITEOFF = Walkthrough(
    "writeoff", "Approve the write-off list",
    "Final accounts unpaid 90 days after the final bill are written off as bad debt, a supervisor approving.",
    steps=(
        Step("Open the write-off list",
             "Shift+F6, 4 opens the credit lists; the write-off list is first: {name} ({number}) owes {owed} on a "
             "final bill 120 days old.",
             "A final account that has not paid 90 days after its final bill is unlikely to pay the co-op: "
             "writing it off keeps the receivables honest. Nothing is forgiven: the member stays on the books "
             "for the bad-debt audit of any later application, and the agency can still collect.",
             _list_open),
        Step("Approve it with the supervisor",
             "F8: the supervisor signs in ({sup_user}, password {sup_password}), Enter: the list is written off.",
             "A write-off needs a second person: a supervisor's name goes on every one. F6 would leave an "
             "account out (a payment promised, a dispute open) before approving.",
             _written_off, milestone=True),
    ),
    setup=_setup_writeoff,
    done="You approved the write-off list with a supervisor: each account's balance is a writeoff entry, the "
         "accounts are closed, and the members will show in the bad-debt audit.",
    needs=(CREDIT_SCREEN,),
)


# ---- a bankruptcy ------------------------------------------------------------------------------------------

def _setup_bankruptcy(ctx: Ctx) -> dict:
    data = _scenario(ctx, "filing", "bankruptcy.record", "Bankruptcies are recorded by collections staff",
                     "bankruptcy")
    filed = data["today"] - dt.timedelta(days=3)
    data.update(case_no=CASE_NO, filed=f"{filed:%m/%d/%Y}", filed_keys=f"{filed:%m%d%Y}",
                caller=f"The court's notice: {data['name']} filed chapter 13, case {CASE_NO}, on {filed:%m/%d/%Y}.")
    return data


def _case_recorded(ctx: Ctx) -> Verdict:
    case = bankruptcy.open_case(ctx.data["account_id"])
    if case is None:
        return None
    if case.chapter != 13 or case.case_no != ctx.data["case_no"]:
        return (f"Case {case.case_no}, chapter {case.chapter} is recorded: the notice says chapter 13, "
                f"case {ctx.data['case_no']}.")
    return True


BANKRUPTCY = Walkthrough(
    "bankruptcy", "Record a bankruptcy",
    "From the court's notice: record the case, which stops collection and sets the balance owed apart.",
    steps=(
        FIND,
        Step("Record the case",
             "F8, 4 (the account's menu: bankruptcy): chapter 13 (key 13, or space until 13), "
             "Enter; case {case_no}, Enter; filed {filed_keys}, Enter; court: Enter (D. Idaho); adequate "
             "assurance: Enter (yes).",
             "From the filing, the co-op may not collect what was owed before it (11 U.S.C. 366): no notices, "
             "late fees or disconnects for it. The balance owed at the filing is set apart for the court; the "
             "co-op may ask a deposit as adequate assurance, due 20 days after the filing.",
             _case_recorded, milestone=True),
        Step("Read the account",
             "Back on the account: the ledger shows the pre-petition balance set apart and the deposit billed.",
             "When the case ends, a discharge writes the set-apart balance off; a dismissal returns it to "
             "collection. F8, 4 on the account closes the case then.",
             _account_open),
    ),
    setup=_setup_bankruptcy,
    done="You recorded a bankruptcy: collection stopped, the pre-petition balance set apart, the adequate "
         "assurance asked.",
    needs=(BANKRUPTCY_SCREEN,),
)

CATALOG = (DEPOSIT, WRITEOFF, BANKRUPTCY)
