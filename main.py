"""The worker process (`python main.py`): polls Whop and records alerts. Configuration comes from the environment."""

from autosig.worker import main

if __name__ == "__main__":
    raise SystemExit(main())
