"""AutoSig: Whop trade alerts recorded as an immutable, hash-chained event log."""

__version__ = "0.1.0"
