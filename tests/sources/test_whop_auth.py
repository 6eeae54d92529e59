"""Whop credentials against the simulator's OAuth server over real HTTP: a fixed token as before; a user grant
renewed before its JWT expires and once after a 401, its rotated refresh token saved before the new access token is
used (every refresh token used at most once, across restarts), a revoked grant reported as an expired sign-in in our
words and picked up again after a new login; no token or secret in any error."""

from __future__ import annotations

import os
import stat
import time

import pytest

from autosig.clock import ManualClock
from autosig.config import load_settings
from autosig.events import open_store
from autosig.redact import Secret
from autosig.sources.simulator import Simulator
from autosig.sources.whop import WhopClient, WhopError
from autosig.sources.whop_auth import (
    GRANT_NAME,
    NOT_SIGNED_IN,
    SIGN_IN_EXPIRED,
    CredentialsError,
    Grant,
    OAuthCredentials,
    StaticToken,
    credentials_for,
    jwt_claims,
    load_grant,
    oauth_endpoint,
    save_grant,
)

TOKEN = "static-tok-Hq2Zx8"
CLIENT = "app_sim_autosig"
CLIENT_SECRET = "app-secret-Lp4Vn7Qw"


@pytest.fixture
def sim():
    s = Simulator(TOKEN, history=0, seed=2)
    s.enable_oauth({CLIENT: CLIENT_SECRET}, token_lifetime=8)
    s.start()
    s.publish("BTO 1 SPY 600c 1/17 @ 1.25")
    yield s
    s.stop()


@pytest.fixture
def store(tmp_path):
    s = open_store(f"file:{tmp_path}", writer="test", fsync=False)
    yield s
    s.close()


def signed_in(sim, store, *, lifetime=None) -> Grant:
    if lifetime is not None:
        sim.oauth.token_lifetime = lifetime
    doc = sim.oauth.issue_grant(CLIENT)
    grant = Grant.from_token_response(
        doc, token_url=oauth_endpoint(sim.url, "token"), client_id=CLIENT, now=time.time()
    )
    save_grant(store, grant)
    return grant


def creds(store, **kw) -> OAuthCredentials:
    return OAuthCredentials(store, client_id=CLIENT, client_secret=Secret(CLIENT_SECRET), **kw)


def secrets_of(sim, store) -> list[str]:
    grant = load_grant(store)
    out = [CLIENT_SECRET, TOKEN]
    if grant:
        out += [grant.access_token.reveal(), grant.refresh_token.reveal()]
    return out + list(sim.oauth.refresh_uses)


def test_static_token_works_as_before(sim):
    page = WhopClient(sim.url, Secret(TOKEN)).fetch_page()
    assert len(page.messages) == 1
    assert WhopClient(sim.url, StaticToken(Secret(TOKEN))).fetch_page().messages == page.messages
    with pytest.raises(WhopError) as info:
        WhopClient(sim.url, Secret("wrong")).fetch_page()
    assert "WHOP_ACCESS_TOKEN" in info.value.detail


def test_endpoints_follow_the_listing_host():
    assert (
        oauth_endpoint("https://api.whop.com/api/v1/messages?channel_id=x", "token")
        == "https://api.whop.com/oauth/token"
    )
    assert oauth_endpoint(None, "authorize") == "https://api.whop.com/oauth/authorize"


def test_the_grant_is_a_private_file_beside_the_streams_never_a_stream(sim, store, tmp_path):
    signed_in(sim, store)
    path = tmp_path / GRANT_NAME
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not any(GRANT_NAME in p.name for p in tmp_path.glob("*.jsonl"))


def test_a_user_token_is_used_then_renewed_before_it_expires(sim, store):
    first = signed_in(sim, store, lifetime=8)
    assert jwt_claims(first.access_token.reveal())["exp"] == int(first.expires_at)
    c = creds(store)
    client = WhopClient(sim.url, c)
    assert len(client.fetch_page().messages) == 1 and c.refreshes == 0  # 8 s token, margin 2 s: still fresh
    time.sleep(6.2)  # inside the margin: renewed before the request, not after a 401
    assert len(client.fetch_page().messages) == 1 and c.refreshes == 1
    renewed = load_grant(store)
    assert renewed.refresh_token != first.refresh_token and renewed.access_token != first.access_token
    assert sim.oauth.refresh_uses[first.refresh_token.reveal()] == 1


def test_a_401_renews_once_and_retries_once(sim, store):
    signed_in(sim, store, lifetime=3600)
    c = creds(store)
    client = WhopClient(sim.url, c)
    sim.oauth.expire_access_tokens()  # Whop stops taking the token although its exp says later
    assert len(client.fetch_page().messages) == 1 and c.refreshes == 1
    sim.oauth.expire_access_tokens()
    sim.oauth.token_lifetime = 0  # every new token is dead on arrival: one renewal, one retry, then auth
    with pytest.raises(WhopError) as info:
        client.fetch_page()
    assert info.value.reason == "auth" and c.refreshes == 2
    assert "whop-login --status" in info.value.detail


def test_a_restart_uses_the_saved_rotated_refresh_token(sim, store):
    signed_in(sim, store, lifetime=3600)
    for _ in range(5):  # five processes in a row, each renewing once
        c = creds(store)
        sim.oauth.expire_access_tokens()
        assert len(WhopClient(sim.url, c).fetch_page().messages) == 1
    assert sim.oauth.refused_refreshes == 0 and max(sim.oauth.refresh_uses.values()) == 1
    assert len(sim.oauth.refresh_uses) == 5


def test_a_revoked_grant_is_an_expired_sign_in_until_a_new_login(sim, store):
    signed_in(sim, store, lifetime=3600)
    c = creds(store)
    client = WhopClient(sim.url, c)
    sim.oauth.revoke_all()
    for _ in range(3):
        with pytest.raises(WhopError) as info:
            client.fetch_page()
        assert info.value.reason == "auth" and SIGN_IN_EXPIRED in info.value.detail
        for secret in secrets_of(sim, store):
            assert secret not in info.value.detail
    assert sim.oauth.refused_refreshes == 1  # a refused refresh token is not tried again every poll
    signed_in(sim, store)  # someone ran autosig whop-login again
    assert len(client.fetch_page().messages) == 1


def test_not_signed_in_says_so(sim, store):
    with pytest.raises(WhopError) as info:
        WhopClient(sim.url, creds(store)).fetch_page()
    assert info.value.reason == "auth" and info.value.detail == NOT_SIGNED_IN


def test_token_endpoint_down_keeps_a_live_token_and_says_so_once_it_expired(sim, store):
    clock = ManualClock(start=time.time())
    grant = signed_in(sim, store, lifetime=3600)
    c = creds(store, clock=clock)
    client = WhopClient(sim.url, c)
    sim.oauth.fail_token_endpoint = 100
    clock.advance(grant.expires_at - clock.time() - 30)  # inside the margin: a renewal is due but fails
    assert len(client.fetch_page().messages) == 1  # the current token still works
    clock.advance(60)  # now it has expired by our clock
    with pytest.raises(CredentialsError) as info:
        c.access_token()
    assert info.value.reason == "auth" and "HTTP 503" in info.value.detail
    sim.oauth.fail_token_endpoint = 0
    assert c.access_token() != grant.access_token


def test_a_corrupt_saved_grant_is_reported_not_a_crash(store):
    store.write_aside(GRANT_NAME, b"{not json", private=True)
    with pytest.raises(CredentialsError) as info:
        creds(store).access_token()
    assert "whop-login" in info.value.detail


def test_credentials_follow_the_configuration(store):
    oauth = credentials_for(load_settings({"WHOP_CLIENT_ID": CLIENT, "WHOP_ACCESS_TOKEN": "x"}), store)
    assert isinstance(oauth, OAuthCredentials) and oauth.client_secret is None
    static = credentials_for(load_settings({"WHOP_ACCESS_TOKEN": "x"}), store)
    assert isinstance(static, StaticToken) and static.access_token() == Secret("x")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"WHOP_CLIENT_SECRET": "s"}, "WHOP_CLIENT_SECRET"),
        ({"WHOP_CLIENT_ID": "app x"}, "WHOP_CLIENT_ID"),
        ({"WHOP_WEBHOOK_SECRET": " ws_abc "}, "WHOP_WEBHOOK_SECRET"),
    ],
)
def test_invalid_sign_in_settings_stop_the_process_naming_the_variable(env, variable):
    from autosig.config import ConfigError

    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert info.value.variable == variable and "ws_abc" not in str(info.value) and "s" != str(info.value)
