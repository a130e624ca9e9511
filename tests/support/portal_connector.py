"""A co-op's portal connector as the setting names it (tests): records what it is handed."""
from __future__ import annotations

SENT: list[tuple[int, str, str]] = []


class Recorder:
    def send(self, message) -> None:
        SENT.append((message.account_number, message.kind, message.to_address))

    def unlock(self, account_number: int, username: str) -> None:
        SENT.append((account_number, "unlock", username))
