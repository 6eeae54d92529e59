"""A separate process that uses a store, for the contract tests: `python child.py COMMAND STORE_URL [ARGS]`."""

from __future__ import annotations

import os
import sys
import time

from autosig.events import file as file_mod
from autosig.events import open_store


def main() -> None:
    command, url, *args = sys.argv[1:]
    if os.environ.get("AUTOSIG_TEST_SMALL_KEY_TABLES"):
        # tests/events/test_saved_key_index.py: save the key table after every catch-up, load it at any size
        file_mod._SAVE_INDEX_LINES, file_mod._SAVED_INDEX_MIN_BYTES = 1, 0
    store = open_store(url, writer=f"child-{command}", fsync=False)
    if command == "append":
        # append PREFIX N SHARED: N own keys and SHARED keys every child also appends, mixing single and batched appends
        prefix, n, shared = args[0], int(args[1]), int(args[2])
        sys.stdin.readline()  # start together, to collide as much as possible
        own = [("test.own", {"child": prefix, "i": i}, None, f"{prefix}-{i}") for i in range(n)]
        common = [("test.shared", {"i": i, "by": prefix}, {"note": "shared"}, f"shared-{i}") for i in range(shared)]
        items = []
        while own or common:
            if own:
                items.append(own.pop(0))
            if common:
                items.append(common.pop(0))
        i = 0
        while i < len(items):
            if i % 2:
                store.append_many("raw", items[i : i + 3])
                i += 3
            else:
                type_, data, meta, key = items[i]
                store.append("raw", type_, data, meta=meta, key=key)
                i += 1
        print("done", flush=True)
    elif command == "append-one":
        stream, key = args[0], args[1] or None
        event = store.append(stream, "test.one", {"from": "child"}, key=key)
        print(event.seq, event.id, flush=True)
    elif command == "lease":
        name = args[0] if args else "worker"
        while store.try_acquire_lease(name, f"test {name}") is not None:
            time.sleep(0.05)
        print("held", flush=True)
        sys.stdin.readline()
        store.release_lease(name)
        print("released", flush=True)
        sys.stdin.readline()
    elif command == "loop":
        # append until killed, in batches of random size
        i = 0
        print("started", flush=True)
        while True:
            store.append_many(
                "raw",
                [("test.loop", {"i": i + j, "pad": "x" * (i % 300)}, None, f"loop-{i + j}") for j in range(1 + i % 5)],
            )
            i += 1 + i % 5
    else:
        raise SystemExit(f"unknown command {command}")
    store.close()


if __name__ == "__main__":
    main()
