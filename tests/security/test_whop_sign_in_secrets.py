"""The Whop sign-in's secrets — the OAuth access and refresh tokens, WHOP_CLIENT_SECRET, the PKCE verifier — and
WHOP_WEBHOOK_SECRET never reach a log, an event, a page, an error or the output of a command: real processes (the
simulator's OAuth server and webhooks, `autosig whop-login`, the gunicorn command). Only the grant file beside the
store holds the tokens, readable by its owner alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from webapp.test_gunicorn import Server

from autosig.events import open_store
from autosig.schema import WORKER
from autosig.sources.simulator import Simulator
from autosig.sources.whop_auth import GRANT_NAME, load_grant

ROOT = Path(__file__).resolve().parents[2]
CLIENT = "app_secret_test"
CLIENT_SECRET = "cs-Wq7Ep3Lk9Zx2"
WEBHOOK_SECRET = "ws_9Fh3Jk2Lq8Wm4Np6"
PASSWORD = "dash-pw-Ty5Ui8"


def test_no_sign_in_or_webhook_secret_leaves_its_place(tmp_path: Path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    with Simulator("t", history=0) as sim:
        sim.enable_oauth({CLIENT: CLIENT_SECRET})
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOP_", "AUTOSIG_"))}
        env.update(WHOP_ALERTS_URL=sim.url, AUTOSIG_LOG_DIR=str(log_dir), WHOP_CLIENT_ID=CLIENT,
                   WHOP_CLIENT_SECRET=CLIENT_SECRET)  # fmt: skip
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        login = subprocess.Popen([sys.executable, "-m", "autosig", "whop-login", "--port", str(port)], cwd=ROOT,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        url = next(line.strip() for line in login.stdout if line.strip().startswith("http"))
        challenge = parse_qs(urlsplit(url).query)["code_challenge"][0]
        requests.get(url, timeout=10)
        out, err = login.communicate(timeout=30)
        assert login.returncode == 0, err
        status = subprocess.run([sys.executable, "-m", "autosig", "whop-login", "--status"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        with open_store(f"file:{log_dir}", writer="test") as store:
            grant = load_grant(store)
            store.append(WORKER, "worker.started", {"poll_interval_seconds": 30, "channels": [sim.channel]})
        server = Server(log_dir, {"WHOP_WEBHOOK_SECRET": WEBHOOK_SECRET, "DASHBOARD_PASSWORD": PASSWORD,
                                  "WHOP_CLIENT_ID": CLIENT, "WHOP_CLIENT_SECRET": CLIENT_SECRET})  # fmt: skip
        try:
            hooks = sim.enable_webhooks(server.url + "/webhooks/whop", WEBHOOK_SECRET)
            sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")
            hooks.wait_idle()
            for kind in ("forged", "replayed", "malformed", "unsigned"):
                hooks.send(sim.messages()[-1], channel=sim.channel, kind=kind)
            answers = [d for d in hooks.deliveries]
            assert [d.status for d in answers] == [200, 401, 401, 401, 401]
            auth = {"Authorization": f"Bearer {PASSWORD}"}
            pages = [
                requests.get(server.url + p, headers=auth, timeout=10).text for p in ("/", "/api/status", "/metrics")
            ]
            bad = requests.post(server.url + "/webhooks/whop", data=b"{}", headers={"webhook-id": "x"}, timeout=10)
            pages.append(bad.text)
        finally:
            gunicorn_output = server.stop()
    secrets = [grant.access_token.reveal(), grant.refresh_token.reveal(), CLIENT_SECRET, WEBHOOK_SECRET]
    secrets += list(sim.oauth.refresh_uses)
    texts = [out, err, status.stdout, status.stderr, gunicorn_output, *pages]
    for path in log_dir.rglob("*"):
        if path.is_file() and path.name != GRANT_NAME:
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    for secret in secrets:
        for text in texts:
            assert secret not in text
    assert challenge not in out.replace(url, "")  # the challenge is shown only inside the URL; the verifier never
    assert (os.stat(log_dir / GRANT_NAME).st_mode & 0o777) == 0o600
