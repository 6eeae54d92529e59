"""Railway Infrastructure as Code for AutoSig: `railway config plan` / `railway config apply` evaluate this file.

Two services from this repository plus a Postgres database. Both services get AUTOSIG_STORE_URL as a reference to
the database's DATABASE_URL: they share the event log through Postgres, since a Railway volume mounts in one service
only. The web never runs ingestion and the worker never serves HTTP; they are never merged into one service.

Needs the deploy extra (`pip install '.[deploy]'`, the railway-sdk package). This file replaces railway.toml and
railway.worker.toml for the services it manages: Railway manages a service by one system at a time.

Before the first plan, in the Railway environment:
- set the shared variables named in SHARED (Project Settings -> Shared Variables);
- secrets are never written here: WHOP_ALERTS_URL and WHOP_ACCESS_TOKEN (worker) and DASHBOARD_PASSWORD (web) are
  `preserve()`d, i.e. set them in each service's Variables tab and the plan leaves them alone;
- so are the Whop sign-in and webhook settings (README, "Whop sign-in" and "Webhooks"): WHOP_CLIENT_ID and
  WHOP_CLIENT_SECRET (worker, with an OAuth grant saved by `autosig whop-login` instead of WHOP_ACCESS_TOKEN) and
  WHOP_WEBHOOK_SECRET (web).
Set AUTOSIG_GITHUB_REPO (owner/name) and optionally AUTOSIG_GITHUB_BRANCH when running the CLI, or edit REPO below.
"""

from __future__ import annotations

import os

from railway_sdk import create_railway_context, define_railway, github, postgres, preserve, project, service

REPO = os.environ.get("AUTOSIG_GITHUB_REPO", "your-github-user/autosig")
BRANCH = os.environ.get("AUTOSIG_GITHUB_BRANCH", "main")

WEB_START = "gunicorn --bind 0.0.0.0:$PORT --workers 2 --timeout 120 web:app"
WORKER_START = "python main.py"

# Settings both services read, kept once per environment as Railway shared variables.
SHARED = ("POLL_INTERVAL_SECONDS", "DRY_RUN", "LIVE_TRADING")


@define_railway
def main(ctx=None):  # noqa: ANN001, ANN201 - the signature the Railway CLI calls
    ctx = ctx if ctx is not None else create_railway_context()
    db = postgres("postgres")
    shared = {name: ctx.shared[name] for name in SHARED}
    common = {"AUTOSIG_STORE_URL": db.env.DATABASE_URL, **shared}
    source = github(REPO, branch=BRANCH)
    web = service(
        "web",
        source=source,
        start=WEB_START,
        healthcheck="/health",
        healthcheckTimeout=120,
        deploy={"restartPolicyType": "ON_FAILURE", "restartPolicyMaxRetries": 10, "drainingSeconds": 30},
        env={**common, "DASHBOARD_PASSWORD": preserve(), "WHOP_WEBHOOK_SECRET": preserve()},
    )
    worker = service(
        "worker",
        source=source,
        start=WORKER_START,
        deploy={"restartPolicyType": "ALWAYS", "drainingSeconds": 30},
        env={
            **common,
            "WHOP_ALERTS_URL": preserve(),
            "WHOP_ACCESS_TOKEN": preserve(),
            # Whop sign-in (OAuth) instead of a fixed token
            "WHOP_CLIENT_ID": preserve(),
            "WHOP_CLIENT_SECRET": preserve(),
        },
    )
    return project("autosig", resources=[db, web, worker])
