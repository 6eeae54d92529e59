"""`python main.py`, with the file store's write seam failing part-way through a line while a flag file exists.

TEST_WRITE_FAULT_FLAG names the flag file; TEST_WRITE_FAULT_ERRNO the error (ENOSPC, EIO). While the flag exists,
every write writes the first part of its bytes — cut inside a line — and then fails, as a disk that fills up or
fails mid-write does. Each injected failure is counted in `<flag>.count` (one byte per failure).
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import autosig.events.file as file_store  # noqa: E402
from autosig.worker import main  # noqa: E402

FLAG = Path(os.environ["TEST_WRITE_FAULT_FLAG"])
ERRNO = getattr(errno, os.environ.get("TEST_WRITE_FAULT_ERRNO", "ENOSPC"))
_real_write_all = file_store.write_all


def faulty_write_all(fd: int, data: bytes) -> None:
    if not FLAG.exists():
        _real_write_all(fd, data)
        return
    cut = len(data) // 2
    while cut > 1 and data[cut - 1 : cut] == b"\n":
        cut -= 1  # end inside a line, never just after one
    os.write(fd, data[:cut])
    with open(f"{FLAG}.count", "ab") as counter:
        counter.write(b".")
    raise OSError(ERRNO, os.strerror(ERRNO))


file_store.write_all = faulty_write_all

if __name__ == "__main__":
    raise SystemExit(main())
