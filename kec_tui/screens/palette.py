"""Command palette: open an account by number or name from anywhere; the tools any screen may open."""
from __future__ import annotations

import asyncio
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from kec_tui.services import accounts


class AccountCommands(Provider):
    async def search(self, query: str) -> Hits:
        if len(query.strip()) < 2:
            return
        result = await asyncio.to_thread(accounts.lookup, query, limit=10)
        for rank, h in enumerate(result.hits):
            yield Hit(1.0 - rank / 100, f"Open {h.number}  {h.name}  {h.service_address}",
                      partial(self.app.open_account, h.account_id), help=f"Account, found by {h.matched}")


# Tools that need no account: (title, screen name, help).
TOOLS = (("Bill calculator", "bill_calculator", "What would my bill be: kWh and schedule in, the bill out"),
         ("Policies and rates", "reference", "Policies, procedures, training documents and rate schedules "
                                             "(Shift+F1)"),
         ("Agency payment", "agency_check", "Energy assistance: an agency's check keyed and matched to its pledges"))


class ToolCommands(Provider):
    async def discover(self) -> Hits:
        for title, name, help_text in TOOLS:
            yield DiscoveryHit(title, partial(self.app.open, name), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, name, help_text in TOOLS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.open, name), help=help_text)
