"""`autosig whop-login [--status]`: sign in to Whop as yourself (OAuth 2.1 with PKCE, scope chat:read) and keep the
grant beside the store, for reading the chats of communities you belong to (see the README, "Whop sign-in").

It prints the authorization URL; open it, approve, and Whop redirects to a loopback port this command listens on
(or paste the code, or the whole address the browser ends on). `--status` says who is signed in, the scopes and
when the access token expires — never a token. On Railway, run it once on your machine with AUTOSIG_STORE_URL set
to the Postgres URL (or --store URL): the worker renews the grant from then on.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from autosig.clock import Clock, rfc3339
from autosig.commands._store import add_store_argument, open_from_args
from autosig.config import Settings
from autosig.projections.banner import human_duration
from autosig.sources.whop_auth import GRANT_NAME, NOT_SIGNED_IN, CredentialsError, SignIn, load_grant, save_grant
from autosig.startup import settings_or_exit

DEFAULT_PORT = 8976
DEFAULT_SCOPE = "openid profile chat:read"
DONE_PAGE = (
    b"<!doctype html><title>AutoSig</title><p>Signed in to Whop. You can close this tab and return to the terminal."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", action="store_true", help="who is signed in and until when (prints no token)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"loopback port for the redirect ({DEFAULT_PORT})"
    )
    parser.add_argument(
        "--redirect-uri",
        default=None,
        help="the redirect URI registered for your Whop app (default http://127.0.0.1:PORT/callback); with any other "
        "URI, paste the code or the address the browser ends on",
    )
    parser.add_argument("--scope", default=DEFAULT_SCOPE, help=f"scopes to ask for ({DEFAULT_SCOPE!r})")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the sign-in")
    add_store_argument(parser)


def _say(message: str) -> None:
    print(f"autosig whop-login: {message}", file=sys.stderr)


def status(args: argparse.Namespace, clock: Clock) -> int:
    with open_from_args(args, writer="whop-login") as store:
        try:
            grant = load_grant(store)
        except CredentialsError as exc:
            _say(exc.detail)
            return 1
    if grant is None:
        print(NOT_SIGNED_IN)
        return 1
    left = grant.expires_at - clock.time()
    when = rfc3339(grant.expires_at)
    print(f"Signed in to Whop as {grant.who()}")
    print(f"  app: {grant.client_id}; scopes: {grant.scope or '(not stated)'}")
    if left > 0:
        print(f"  access token expires {when} (in {human_duration(left)}); the worker renews it before then")
    else:
        print(f"  access token expired {when}; the worker renews it on its next poll")
    print(f"  kept beside the event store as {GRANT_NAME} (refresh tokens rotate on every renewal)")
    return 0


class _Receiver:
    """The loopback end of the redirect: takes the first GET carrying this flow's state."""

    def __init__(self, port: int, path: str, state: str, results: queue.Queue[tuple[str, str]]) -> None:
        outer = self
        self.state, self.path, self.results = state, path, results

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *a: Any) -> None:  # noqa: A002 - stdlib signature
                pass  # the request line carries the one-time code

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                outer.received(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="whop-login-redirect", daemon=True).start()

    def received(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != self.path or query.get("state") != self.state:
            handler.send_response(404)
            handler.end_headers()
            return
        if query.get("error"):
            self.results.put(("error", query["error"]))
            body = b"Whop did not sign you in; see the terminal."
        elif query.get("code"):
            self.results.put(("code", query["code"]))
            body = DONE_PAGE
        else:
            handler.send_response(400)
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pasted(state: str, results: queue.Queue[tuple[str, str]]) -> None:
    """Reads pasted lines: a bare code, or the address the browser ended on (its state must match)."""
    for line in sys.stdin:
        text = line.strip()
        if not text:
            continue
        if "code=" in text or "error=" in text:
            query = {k: v[0] for k, v in parse_qs(urlsplit(text).query or text.split("?", 1)[-1]).items()}
            if query.get("state") not in (None, state):
                _say("that address belongs to another sign-in (its state differs); paste the latest one")
                continue
            if query.get("error"):
                results.put(("error", query["error"]))
                return
            text = query.get("code", "")
        if text:
            results.put(("code", text))
            return


def sign_in(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    if not settings.whop_client_id:
        _say("WHOP_CLIENT_ID is not set: give your Whop app's id (app_…, from Whop's developer dashboard)")
        return 2
    redirect = args.redirect_uri or f"http://127.0.0.1:{args.port}/callback"
    api = settings.whop_alerts_urls[0] if settings.whop_alerts_urls else None
    flow = SignIn.start(settings.whop_client_id, redirect, args.scope, api)
    results: queue.Queue[tuple[str, str]] = queue.Queue()
    receiver = None
    target = urlsplit(redirect)
    if target.hostname in ("127.0.0.1", "localhost") and target.scheme == "http":
        try:
            receiver = _Receiver(target.port or 80, target.path or "/", flow.state, results)
        except OSError as exc:
            _say(f"cannot listen on {target.hostname}:{target.port} ({exc.strerror}); paste the code instead")
    threading.Thread(target=_pasted, args=(flow.state, results), name="whop-login-paste", daemon=True).start()
    print("Open this address in a browser, sign in to Whop and approve AutoSig:\n")
    print(f"  {flow.url()}\n")
    waiting = "Waiting for Whop's redirect" if receiver else "Paste the code (or the whole address you end on)"
    print(f"{waiting} (or paste the code here and press Enter)…" if receiver else f"{waiting}:", flush=True)
    try:
        kind, value = results.get(timeout=args.timeout)
    except queue.Empty:
        _say(f"no sign-in within {args.timeout:g} s; run autosig whop-login again")
        return 1
    finally:
        if receiver is not None:
            receiver.close()
    if kind == "error":
        _say(f"Whop did not sign you in ({value[:80]}); run autosig whop-login again")
        return 1
    try:
        with requests.Session() as session:
            grant = flow.exchange(value, client_secret=settings.whop_client_secret, session=session, now=clock.time())
        with open_from_args(args, writer="whop-login") as store:
            save_grant(store, grant)
    except CredentialsError as exc:
        _say(exc.detail)
        return 1
    print(f"Signed in to Whop as {grant.who()}; scopes: {grant.scope or '(not stated)'}.")
    print(f"The access token expires {rfc3339(grant.expires_at)}; the worker renews it from the saved grant.")
    return 0


def run(args: argparse.Namespace) -> int:
    clock = Clock()
    if args.status:
        return status(args, clock)
    return sign_in(args, settings_or_exit(), clock)
