"""`autosig whop-login` as a person runs it, as a real process against the simulator's OAuth server: the printed
authorization URL, the redirect to the loopback port (or the pasted address), the grant kept beside the store, and
`--status` — none of which ever shows a token, the client secret or the PKCE verifier."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from autosig.events import open_store
from autosig.sources.simulator import Simulator
from autosig.sources.whop_auth import GRANT_NAME, load_grant

ROOT = Path(__file__).resolve().parents[2]
CLIENT = "app_login_test"
CLIENT_SECRET = "login-secret-Rt6Yu8"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sim():
    s = Simulator("t", history=0)
    s.enable_oauth({CLIENT: CLIENT_SECRET}, token_lifetime=3600)
    s.start()
    yield s
    s.stop()


def login(sim, log_dir: Path, *args: str, client_id: str | None = CLIENT) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOP_", "AUTOSIG_"))}
    env.update(WHOP_ALERTS_URL=sim.url, AUTOSIG_LOG_DIR=str(log_dir), WHOP_CLIENT_SECRET=CLIENT_SECRET)
    if client_id:
        env["WHOP_CLIENT_ID"] = client_id
    else:
        env.pop("WHOP_CLIENT_SECRET")
    return subprocess.Popen([sys.executable, "-m", "autosig", "whop-login", *args], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def authorization_url(proc: subprocess.Popen) -> tuple[str, list[str]]:
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.strip().startswith("http"):
            return line.strip(), lines
    raise AssertionError("no URL printed: " + "".join(lines) + proc.stderr.read())


def assert_no_secret(store_dir: Path, *texts: str) -> None:
    with open_store(f"file:{store_dir}", writer="test") as store:
        grant = load_grant(store)
    assert grant is not None
    for secret in (grant.access_token.reveal(), grant.refresh_token.reveal(), CLIENT_SECRET):
        for text in texts:
            assert secret not in text


def test_sign_in_through_the_loopback_redirect_then_status(sim, tmp_path):
    port = free_port()
    proc = login(sim, tmp_path, "--port", str(port), "--timeout", "30")
    url, shown = authorization_url(proc)
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(sim.base_url + "/oauth/authorize?")
    assert q["client_id"] == CLIENT and q["redirect_uri"] == f"http://127.0.0.1:{port}/callback"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43 and "chat:read" in q["scope"]
    page = requests.get(url, timeout=10)  # the simulator approves and redirects to the loopback port
    assert page.status_code == 200 and "Signed in" in page.text
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Signed in to Whop as @sim_trader (user_sim_trader)" in out
    assert (os.stat(tmp_path / GRANT_NAME).st_mode & 0o777) == 0o600
    status = login(sim, tmp_path, "--status")
    s_out, s_err = status.communicate(timeout=30)
    assert status.returncode == 0, s_err
    assert "@sim_trader" in s_out and "chat:read" in s_out and "expires" in s_out
    assert_no_secret(tmp_path, "".join(shown), out, err, s_out, s_err, page.text)


def test_sign_in_by_pasting_the_address_the_browser_ends_on(sim, tmp_path):
    proc = login(sim, tmp_path, "--redirect-uri", "https://autosig.example/callback", "--timeout", "30")
    url, _ = authorization_url(proc)
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    assert location.startswith("https://autosig.example/callback?code=")
    other = location.replace("state=", "state=x")  # another sign-in's address is refused, then the right one
    out, err = proc.communicate(other + "\n" + location + "\n", timeout=30)
    assert proc.returncode == 0, err
    assert "another sign-in" in err and "Signed in to Whop as" in out
    assert_no_secret(tmp_path, out, err)


def test_a_refused_code_and_a_missing_client_id_say_so(sim, tmp_path):
    proc = login(sim, tmp_path, "--redirect-uri", "https://autosig.example/cb", "--timeout", "30")
    authorization_url(proc)
    out, err = proc.communicate("code_made_up\n", timeout=30)
    assert proc.returncode == 1 and "Whop refused the sign-in" in err and "code_made_up" not in err
    assert not (tmp_path / GRANT_NAME).exists()
    proc = login(sim, tmp_path, client_id=None)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "WHOP_CLIENT_ID" in err
    status = login(sim, tmp_path, "--status")
    out, _ = status.communicate(timeout=30)
    assert status.returncode == 1 and "Not signed in" in out
