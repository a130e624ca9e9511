"""Keys as the terminal driver delivers them: bursts posted before anything is awaited."""
from __future__ import annotations

import asyncio

from textual import events
from textual.app import App
from textual.keys import _character_to_key, key_to_character


def key_event(key: str) -> events.Key:
    """A Key event as the terminal driver makes it ("1", "enter", "ctrl+e", "." ...)."""
    if len(key) == 1:
        return events.Key(_character_to_key(key) if not key.isalnum() else key, key)
    return events.Key(key, key_to_character(key))


def send_burst(app: App, keys: list[str]) -> None:
    """Deliver keys like Textual's driver does (Driver.process_message ->
    send_message -> App._post_message), all at once, awaiting nothing."""
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        app._driver.send_message(event)


async def settle(pilot, done=lambda: True, timeout: float = 30.0) -> None:
    """Pause until ``done()`` holds and every message queue stayed empty twice running."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    idle = 0
    while loop.time() < deadline:
        await pilot.pause()
        busy = any(not node._message_queue.empty() for node in (app, app.screen, *app.screen.walk_children()))
        idle = 0 if busy or not done() else idle + 1
        if idle >= 2:
            return
    raise AssertionError("burst not processed in time")


async def settle_workers(pilot) -> None:
    """Let workers finish and the screen catch up."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def burst(pilot, *keys: str) -> None:
    """Keys sent as one burst inside a form (as a fast typist or an SSH link delivers them), then
    wait for them to be handled: the form is type-ahead safe, and this is 20x faster than pilot.press."""
    for k in keys:
        character = " " if k == "space" else (k if len(k) == 1 else None)
        pilot.app._driver.send_message(events.Key(k, character))
    await settle_workers(pilot)
