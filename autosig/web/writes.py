"""The few writes the web makes: requests appended to `control` (pause, resume) and `reviews`, never to raw, parsed,
worker or orders. They need a store this process can write, judged once when the app is made, without writing:
Postgres (shared by both services), or a file store directory (and the stream's files, where they exist) this
process may write. Where it cannot, the pages hide the forms and say why.
"""

from __future__ import annotations

import os
from pathlib import Path

from autosig.config import Settings
from autosig.events import Event, open_store
from autosig.schema import Draft, stream_file
from autosig.web.host import WebState


def unwritable_reason(settings: Settings, stream: str) -> str | None:
    """Why this process cannot append to `stream` of the configured store, or None when it can."""
    url = settings.store_url
    if not url.startswith("file:"):
        return None  # Postgres: the services share it, with the same credentials
    directory = Path(url[len("file:") :] or ".")
    if not directory.is_dir():
        return f"the event store directory {directory} does not exist here (is it another service's volume?)"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"this web process may not write the event store directory {directory}"
    for name in (stream_file(stream), stream_file(stream) + ".lock"):
        path = directory / name
        if path.exists() and not os.access(path, os.W_OK):
            return f"this web process may not write {path}"
    return None


def append(st: WebState, stream: str, drafts: list[Draft]) -> list[Event]:
    """Appends to the configured store (opened for this one write, as the worker's store is shared)."""
    store = open_store(st.settings.store_url, writer="web", fsync=st.settings.fsync)
    try:
        return store.append_many(stream, drafts)
    finally:
        store.close()
