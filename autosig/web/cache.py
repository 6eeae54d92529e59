"""Serialized API answers, reused while the projections are unchanged."""

from __future__ import annotations

import threading
from collections import OrderedDict


class ResponseCache:
    """Serialized answers per query, valid while nothing was applied (the host's version is unchanged): a page
    polled by many viewers costs one build per change, not one per request."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple, tuple[int, int, bytes]] = OrderedDict()

    def get(self, key: tuple, generation: int, version: int) -> bytes | None:
        with self.lock:
            hit = self.entries.get(key)
            if hit is None or hit[0] != generation or hit[1] != version:
                return None
            self.entries.move_to_end(key)
            return hit[2]

    def put(self, key: tuple, generation: int, version: int, body: bytes) -> None:
        with self.lock:
            self.entries[key] = (generation, version, body)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
