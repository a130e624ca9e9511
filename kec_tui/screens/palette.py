"""Command palette: open an account by number or name from anywhere."""
from __future__ import annotations

import asyncio
from functools import partial

from textual.command import Hit, Hits, Provider

from kec_tui.services import accounts


class AccountCommands(Provider):
    async def search(self, query: str) -> Hits:
        if len(query.strip()) < 2:
            return
        result = await asyncio.to_thread(accounts.lookup, query, limit=10)
        for rank, h in enumerate(result.hits):
            yield Hit(1.0 - rank / 100, f"Open {h.number}  {h.name}  {h.service_address}",
                      partial(self.app.open_account, h.account_id), help=f"Account, found by {h.matched}")
