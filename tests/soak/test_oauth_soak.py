"""Sign-in that lasts, under fire: user tokens that expire every 20 s, alerts flowing, the worker SIGKILLed again and
again — no poll fails for `auth`, nothing is lost or duplicated, and every refresh token is presented at most once
(rotation survives every kill because the new refresh token is saved before the new access token is used). Then a
revoked grant turns the banner red with "Whop sign-in expired — run autosig whop-login" and recovers by itself after
a new login. Short form in `make test` (under a minute, 3 kills); `--soak-full`: 5 minutes, 10 kills.

Skipped until the ingest stage asks autosig.sources.whop_auth.credentials_for(settings, store) for its token."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
import requests
from soak_harness import Web
from worker.worker_harness import TOKEN, WorkerProc, of_type, source_ids, wait_until

from autosig.events import open_store
from autosig.sources.simulator import Simulator
from autosig.sources.whop_auth import SIGN_IN_EXPIRED, Grant, oauth_endpoint, save_grant

pytestmark = pytest.mark.soak

CLIENT = "app_soak_autosig"
LIFETIME_S = 20


def _login(sim: Simulator, log_dir: Path) -> None:
    """What `autosig whop-login` leaves behind (its own test drives the browser step)."""
    doc = sim.oauth.issue_grant(CLIENT)
    with open_store(f"file:{log_dir}", writer="whop-login") as store:
        grant = Grant.from_token_response(
            doc, token_url=oauth_endpoint(sim.url, "token"), client_id=CLIENT, now=time.time()
        )
        save_grant(store, grant)


def _worker(log_dir: Path, out: Path, sim: Simulator, **env: str) -> WorkerProc:
    # no WHOP_ACCESS_TOKEN: the signed-in grant is the only way in
    return WorkerProc(
        log_dir, sim.url, out, WHOP_ACCESS_TOKEN=None, WHOP_CLIENT_ID=CLIENT, POLL_INTERVAL_SECONDS="1", **env
    )


def test_expiring_tokens_and_sigkills_never_fail_a_poll_for_auth(tmp_path, soak_full, figures):
    duration, kills = (300.0, 10) if soak_full else (50.0, 3)
    log_dir, out = tmp_path / "logs", tmp_path / "out"
    log_dir.mkdir()
    out.mkdir()
    rng = random.Random(5)
    with Simulator(TOKEN, history=0, seed=9) as sim:
        sim.enable_oauth({CLIENT: None}, token_lifetime=LIFETIME_S)
        _login(sim, log_dir)
        worker = _worker(log_dir, out, sim)
        published: list[str] = []
        kill_at = sorted(rng.uniform(3, duration - 5) for _ in range(kills))
        began = time.monotonic()
        try:
            while time.monotonic() - began < duration:
                published.append(sim.publish(f"BTO {len(published) % 9 + 1} SPY 600c 1/17 @ 1.25")["id"])
                if kill_at and time.monotonic() - began >= kill_at[0]:
                    kill_at.pop(0)
                    worker.kill()
                    worker = _worker(log_dir, out, sim)
                time.sleep(rng.uniform(0.2, 1.0))
            wait_until(lambda: set(published) <= set(source_ids(log_dir, "alert.received")), timeout=30)
        finally:
            worker.ensure_dead()
        failures = of_type(log_dir, "worker", "poll.failed")
        ids = source_ids(log_dir, "alert.received")
        figures.append(f"{len(published)} alerts, {sim.oauth.token_requests} token requests, "
                       f"{len(sim.oauth.refresh_uses)} refresh tokens, {len(failures)} failed polls")  # fmt: skip
    assert [f["data"]["detail"] for f in failures if f["data"]["reason"] == "auth"] == []
    assert sorted(ids) == sorted(set(ids)) and set(ids) == set(published)
    assert max(sim.oauth.refresh_uses.values()) == 1 and sim.oauth.refused_refreshes == 0
    assert len(sim.oauth.refresh_uses) >= duration / LIFETIME_S - 1  # it really renewed, again and again


def test_a_revoked_grant_turns_the_banner_red_and_a_new_login_recovers(tmp_path):
    log_dir, out = tmp_path / "logs", tmp_path / "out"
    log_dir.mkdir()
    out.mkdir()
    with Simulator(TOKEN, history=0, seed=10) as sim:
        sim.enable_oauth({CLIENT: None}, token_lifetime=LIFETIME_S)
        _login(sim, log_dir)
        worker = _worker(log_dir, out, sim, AUTOSIG_STALE_AFTER_SECONDS="4")  # red once stale: 4 s without success
        web = Web(log_dir, out / "web.log")
        try:
            wait_until(lambda: of_type(log_dir, "worker", "poll.completed"), what="a first poll")
            sim.oauth.revoke_all()

            def banner() -> dict:
                return requests.get(web.url + "/api/status", timeout=5).json()["banner"]

            red = wait_until(lambda: (b := banner())["level"] == "red" and b, timeout=30, what="a red banner")
            assert SIGN_IN_EXPIRED in red["headline"]
            _login(sim, log_dir)  # someone ran autosig whop-login again; the worker is not restarted
            wait_until(lambda: banner()["level"] == "green", timeout=30, what="recovery")
        finally:
            worker.ensure_dead()
            web.stop()
