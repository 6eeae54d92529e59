"""A non-loopback client for servers the tests start on this machine, without touching any real network.

The `netns` fixture creates a network namespace of its own, joined to this one by a veth pair with addresses from
198.18.0.0/15 (reserved for benchmarking, so never a real host), and yields (host_address, client): a server bound to
0.0.0.0 (or to host_address) is reached at host_address by the client, which runs inside the namespace, so the server
sees a peer address that is not loopback. Everything is removed afterwards, also when the test fails.

Creating a namespace needs root and `ip netns`; without them the tests using the fixture skip with the reason, unless
AUTOSIG_REQUIRE_NETNS=1 (CI), where they fail.

Use it with `from netns import netns_fixture  # noqa: F401 - the "netns" fixture` and a `netns` argument.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

REQUIRE_VAR = "AUTOSIG_REQUIRE_NETNS"
POOL = ipaddress.ip_network("198.18.0.0/15")

# Runs inside the namespace: reads [{"url", "headers", "timeout"}, ...] as JSON on stdin, GETs each in order and
# prints [{"status", "headers", "body" (base64)}, ...]. An event stream's body is not read (it never ends).
_CLIENT = r"""
import base64, json, sys
import requests

out = []
for req in json.load(sys.stdin):
    with requests.Session() as s:
        s.trust_env = False  # no proxy settings from the environment: the request goes straight to the address
        with s.get(req["url"], headers=req["headers"], timeout=req["timeout"], stream=True,
                   allow_redirects=False) as r:
            streaming = r.headers.get("Content-Type", "").startswith("text/event-stream")
            body = b"" if streaming else r.content
            out.append({"status": r.status_code, "headers": dict(r.headers),
                        "body": base64.b64encode(body).decode()})
json.dump(out, sys.stdout)
"""


def skip_or_fail(require_var: str, reason: str) -> None:
    # as in tests/conftest.py; not imported from there because more than one conftest module is named "conftest"
    if os.environ.get(require_var) == "1":
        pytest.fail(f"{reason} (required because {require_var}=1)", pytrace=False)
    pytest.skip(reason)


@dataclass
class Reply:
    """What the client inside the namespace got back (the parts of requests.Response the tests use)."""

    status_code: int
    headers: CaseInsensitiveDict = field(repr=False)
    content: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class NetnsClient:
    """Runs commands, Python or HTTP GETs inside the namespace."""

    def __init__(self, name: str, host_address: str, peer_address: str) -> None:
        self.name = name
        self.host_address = host_address
        self.peer_address = peer_address

    def run(self, argv: Sequence[str], *, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], input=input, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def python(self, code: str, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return self.run([sys.executable, "-c", code, *args], input=input, timeout=timeout)

    def get_all(self, requests: Sequence[tuple[str, dict[str, str] | None]], timeout: float = 5) -> list[Reply]:
        """GET each (url, headers) in order from one process inside the namespace."""
        payload = json.dumps([{"url": url, "headers": headers or {}, "timeout": timeout} for url, headers in requests])
        proc = self.python(_CLIENT, input=payload, timeout=30 + timeout * len(requests))
        if proc.returncode != 0:
            raise RuntimeError(f"client in network namespace {self.name} failed:\n{proc.stderr}")
        return [Reply(r["status"], CaseInsensitiveDict(r["headers"]), base64.b64decode(r["body"]))
                for r in json.loads(proc.stdout)]

    def __call__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> Reply:
        return self.get_all([(url, headers)], timeout=timeout)[0]


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)


def _free_subnet() -> ipaddress.IPv4Network:
    """A random /30 of the pool that overlaps no address configured here (parallel runs pick different ones)."""
    out = _ip("-o", "-4", "addr", "show").stdout.split()
    used = [ipaddress.ip_interface(w).network for w in out if "/" in w and w[0].isdigit()]
    for _ in range(100):
        subnet = ipaddress.ip_network(f"{POOL[random.randrange(0, POOL.num_addresses, 4)]}/30")
        if not any(subnet.overlaps(u) for u in used):
            return subnet
    raise RuntimeError(f"no free /30 in {POOL}")


def _setup(name: str, host_if: str, peer_if: str, host_addr: str, peer_addr: str) -> None:
    steps = [
        # the peer is created directly inside the namespace, so deleting the namespace removes both ends
        ("link", "add", host_if, "type", "veth", "peer", "name", peer_if, "netns", name),
        ("addr", "add", f"{host_addr}/30", "dev", host_if),
        ("link", "set", host_if, "up"),
        ("-n", name, "addr", "add", f"{peer_addr}/30", "dev", peer_if),
        ("-n", name, "link", "set", peer_if, "up"),
        ("-n", name, "link", "set", "lo", "up"),
    ]
    for step in steps:
        proc = _ip(*step)
        if proc.returncode != 0:
            raise RuntimeError(f"`ip {' '.join(step)}` failed: {proc.stderr.strip()}")


def _teardown(name: str, host_if: str) -> None:
    _ip("link", "del", host_if)  # removes the peer too; would otherwise linger until the namespace is freed
    _ip("netns", "del", name)


@pytest.fixture(name="netns")
def netns_fixture() -> Iterator[tuple[str, NetnsClient]]:
    """(host_address, client): host_address is this side of the veth pair; the client runs inside the namespace."""
    if os.geteuid() != 0:
        skip_or_fail(REQUIRE_VAR, "network namespace tests need root (to create a namespace with `ip netns`)")
    if shutil.which("ip") is None:
        skip_or_fail(REQUIRE_VAR, "network namespace tests need the `ip` command (iproute2)")
    token = secrets.token_hex(4)
    name = f"autosig-test-{os.getpid()}-{token}"
    host_if, peer_if = f"as{token}h", f"as{token}p"  # interface names: at most 15 characters
    try:
        subnet = _free_subnet()
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        skip_or_fail(REQUIRE_VAR, f"cannot pick addresses for a network namespace: {exc}")
    host_addr, peer_addr = str(subnet[1]), str(subnet[2])
    try:
        proc = _ip("netns", "add", name)
    except (OSError, subprocess.SubprocessError) as exc:
        skip_or_fail(REQUIRE_VAR, f"`ip netns add` is unavailable: {exc}")
    if proc.returncode != 0:
        skip_or_fail(REQUIRE_VAR, f"`ip netns add` failed: {proc.stderr.strip()}")
    try:
        try:
            _setup(name, host_if, peer_if, host_addr, peer_addr)
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            skip_or_fail(REQUIRE_VAR, f"cannot set up the network namespace: {exc}")
        yield host_addr, NetnsClient(name, host_addr, peer_addr)
    finally:
        _teardown(name, host_if)
