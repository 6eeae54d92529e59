"""A Whop-compatible server on loopback, for the demo and the tests: the v1 listing of chat messages (or forum posts),
faults on request, signed webhooks when it publishes, and an OAuth server with expiring, rotating tokens.

Everything it serves has the fields of Whop's API definition (the official SDK's models read every answer), so what
works against it works against Whop.

In-process:
    sim = Simulator(token="t").start()        # serves the bundled corpus at sim.url
    sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")  # newest message
    sim.edit(msg["id"], "new text")
    sim.fault(status=503, count=2)              # the next two requests answer 503
    sim.stop()

As a process (prints the listing URL on its first stdout line, then serves until SIGTERM/SIGINT):
    python -m autosig.sources.simulator --port 0 --pace 3       # token from SIMULATOR_TOKEN or --token

Paging: `direction=desc` (the default here) lists newest first; `after=<end_cursor>` continues past a message.
Cursors name a message, so publishing between page requests does not shift pages (cursor_mode="stable"). With
cursor_mode="offset" a cursor is a position, as in offset-paginated APIs: messages published between page requests
push older ones down, so the next page repeats the end of the previous one.

Faults (per test): `fault(...)` queues one for the next requests; `fault(publish=3)` publishes three messages just
before answering (pages shift under a paging client); `fault(duplicate=2)` repeats the last two messages of the
previous page at the top of this one; `random_faults({"http_5xx": 0.02, ...}, seed=1)` draws faults of the kinds in
FAULT_KINDS at random per request. `fault_counts` counts served faults by kind. FAR_TIMES holds far-future and
far-past `created_at` values (ISO and epoch) for `publish(created_at=...)`.
"""

from autosig.sources.simulator._core import DEFAULT_CHANNEL, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Simulator, load_corpus
from autosig.sources.simulator._faults import FAR_TIMES, FAULT_KINDS, LOGIN_PAGE, Fault

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_PAGE_SIZE",
    "FAR_TIMES",
    "FAULT_KINDS",
    "LOGIN_PAGE",
    "MAX_PAGE_SIZE",
    "Fault",
    "Simulator",
    "load_corpus",
]
