"""The stream-heads message: the seq and hash of the newest event of every stream.

Whoever keeps these messages can later prove that no line was cut from the end of a stream:
`autosig verify --expect-head STREAM:SEQ:HASH` fails once that event is no longer in the stream.
"""

from __future__ import annotations

from autosig.clock import rfc3339
from autosig.events.base import EventStore
from autosig.notify.messages import HEADS, Message


def stream_heads(store: EventStore) -> list[dict[str, object]]:
    """[{"stream", "seq", "hash"}] for every stream that has events."""
    out: list[dict[str, object]] = []
    for stream in store.streams():
        head = store.head(stream)
        if head is not None:
            out.append({"stream": stream, "seq": head.seq, "hash": head.hash})
    return out


def heads_message(store: EventStore, message_id: str, now: float) -> Message:
    heads = stream_heads(store)
    expect = [f"{h['stream']}:{h['seq']}:{h['hash']}" for h in heads]
    lines = [f"AutoSig stream heads at {rfc3339(now)} — keep this message. To prove no event was cut from the end "
             "of a stream since, run: autosig verify --expect-head STREAM:SEQ:HASH"]
    lines += expect or ["(every stream is empty)"]
    return Message(message_id, HEADS, HEADS, "\n".join(lines), rfc3339(now), {"heads": heads, "expect_head": expect})
