"""Jobs run at the same moment, each in its own thread and database connection."""
from __future__ import annotations

import threading

from kec_tui import db


def at_once(*jobs) -> list:
    """Run each job in its own thread and connection, released together; return what each gave or raised."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        with db.database.connection_context():
            barrier.wait()
            try:
                results[i] = job()
            except Exception as exc:  # noqa: BLE001 - the test looks at what happened
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results
