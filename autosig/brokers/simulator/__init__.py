"""A broker simulator on loopback speaking the part of Alpaca's and Tradier's REST APIs that AutoSig uses, trading and
market data on one host: Alpaca's /v2/... (and /v1beta1/options/... quotes), Tradier's /v1/....

In-process (tests):
    sim = Simulator().start()                   # sim.url: give it as the Alpaca base and data URL, or url + "/v1"
    sim.set_quote("SPY", "599.90", "600.10")     # a marketable limit fills at the quote on the next request
    sim.set_clock(False)                         # closed: nothing fills, working day orders expire
    sim.fault(status=504, after_accept=True, method="POST", path="/v2/orders")   # accept, then answer 504
    sim.random_faults({"accept_then_504": 0.05, "reset": 0.05}, seed=1)   # for soak runs
    sim.order_count("as-1234")                   # orders created per client order id (Alpaca) / tag (Tradier)
    sim.stop()

As a process (the demo; prints its URL on the first stdout line and serves until SIGTERM/SIGINT):
    python -m autosig.brokers.simulator --port 8765 --walk 2.50

Every control is also a JSON command POSTed to /_control ({"action": "set_quote", "symbol": …}); SimulatorControl
is the Python client of that endpoint and has the same methods as Simulator. Keys: Alpaca's requests must carry
the key id and secret the simulator was started with (401 without them, 403 when wrong); Tradier's the bearer token
(401 otherwise), for the one Tradier account `tradier_account`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import requests

from autosig.brokers.simulator._alpaca import AlpacaDialect
from autosig.brokers.simulator._book import Book
from autosig.brokers.simulator._server import Answer, Fault, Faults, Incoming, Server, make_handler
from autosig.brokers.simulator._tradier import TradierDialect

DEFAULT_KEY_ID = "sim-key-id"
DEFAULT_SECRET_KEY = "sim-secret-key"
DEFAULT_TRADIER_TOKEN = "sim-tradier-token"


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _when(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) or value is None else datetime.fromisoformat(str(value))


class _Controls:
    """The simulator's controls, each one JSON command: Simulator runs them in place, SimulatorControl over HTTP."""

    def control(self, action: str, **args: Any) -> Any:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    def set_quote(self, symbol: str, bid: Any, ask: Any) -> None:
        """A fixed quote (None: no bid / no ask). Resting orders it crosses fill."""
        self.control("set_quote", symbol=symbol, bid=None if bid is None else str(bid),
                     ask=None if ask is None else str(ask))

    def walk(self, symbol: str | None, price: Any, *, spread_pct: float = 2.0, step_pct: float = 0.5) -> None:
        """A quote that walks randomly around `price` (a step per read). symbol None: every listed symbol without
        a quote walks around this price (the demo's mode)."""
        self.control("walk", symbol=symbol, price=str(price), spread_pct=spread_pct, step_pct=step_pct)

    def walk_from_orders(self, *, spread_pct: float = 2.0, step_pct: float = 0.5) -> None:
        """The demo's mode: a symbol without a quote starts walking around the price of the first order naming it."""
        self.control("walk_from_orders", spread_pct=spread_pct, step_pct=step_pct)

    def set_clock(self, is_open: bool, *, next_open: Any = None, next_close: Any = None,
                  offset_seconds: float | None = None) -> None:
        self.control("set_clock", is_open=is_open, next_open=None if next_open is None else str(next_open),
                     next_close=None if next_close is None else str(next_close), offset_seconds=offset_seconds)

    def delist(self, symbol: str) -> None:
        self.control("delist", symbol=symbol)

    def set_roots(self, underlying: str, roots: list[str]) -> None:
        """The roots an underlying's options list under (set_roots("SPX", ["SPXW"]): SPX options only as SPXW)."""
        self.control("set_roots", underlying=underlying, roots=roots)

    def set_position(self, symbol: str, quantity: Any, average_price: Any = "0", *, dialect: str = "alpaca") -> None:
        """Sets (0: removes) a position, as if held before AutoSig or closed by hand."""
        self.control("set_position", symbol=symbol, quantity=str(quantity), average_price=str(average_price),
                     dialect=dialect)

    def assign(self, symbol: str, *, dialect: str = "alpaca") -> None:
        self.control("assign", symbol=symbol, dialect=dialect)

    def fault(self, status: int | None = None, *, headers: dict[str, str] | None = None, body: Any = None,
              delay: float = 0.0, reset: bool = False, after_accept: bool = False, count: int = 1,
              method: str | None = None, path: str | None = None, kind: str = "") -> None:
        """Queues a fault for the next `count` requests matching `method` and the `path` prefix."""
        self.control("fault", status=status, headers=headers or {}, body=body, delay=delay, reset=reset,
                     after_accept=after_accept, count=count, method=method, path=path, kind=kind)

    def clear_faults(self) -> None:
        """Drops queued faults and turns random faults off."""
        self.control("clear_faults")

    def random_faults(self, rates: dict[str, float], *, seed: int | None = None, method: str | None = None,
                      path: str | None = None) -> None:
        """From now on each matching request without a queued fault gets, with probability rates[kind], a fault of
        that kind (FAULT_KINDS: rate_limited, http_5xx, accept_then_504, reset, accept_then_reset, slow)."""
        self.control("random_faults", rates=rates, seed=seed, method=method, path=path)

    def restart_later(self, down_for: float = 0.5) -> None:
        """Restarts the server (orders kept) just after answering: for a simulator in another process."""
        self.control("restart", down_for=down_for)

    def partial_next(self, quantity: Any) -> None:
        """The next order placed fills at most `quantity` units, then rests until release()."""
        self.control("partial_next", quantity=str(quantity))

    def reject_next(self, reason: str = "rejected by the simulator") -> None:
        """The next order placed is accepted and then rejected."""
        self.control("reject_next", reason=reason)

    def release(self, client_order_id: str, quantity: Any = None, *, dialect: str = "alpaca") -> None:
        """Lets a held partial fill go on: up to `quantity` units in all, or all of it."""
        self.control("release", client_order_id=client_order_id, dialect=dialect,
                     quantity=None if quantity is None else str(quantity))

    def expire_day(self) -> None:
        self.control("expire_day")

    def order_count(self, client_order_id: str, *, dialect: str = "alpaca") -> int:
        return int(self.control("order_count", client_order_id=client_order_id, dialect=dialect))

    def order_counts(self, *, dialect: str = "alpaca") -> dict[str, int]:
        return dict(self.control("order_counts", dialect=dialect))

    def fault_counts(self) -> dict[str, int]:
        return dict(self.control("fault_counts"))

    def request_counts(self) -> dict[str, int]:
        """Requests served so far, by "METHOD /path" (without the query)."""
        return dict(self.control("request_counts"))


class Simulator(_Controls):
    def __init__(
        self,
        *,
        key_id: str = DEFAULT_KEY_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        tradier_token: str = DEFAULT_TRADIER_TOKEN,
        tradier_account: str = "VA000001",
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
    ) -> None:
        self.book = Book(seed=seed)
        self.book.accounts["tradier"].number = tradier_account
        self.faults = Faults()
        alpaca = AlpacaDialect(self.book, key_id, secret_key)
        tradier = TradierDialect(self.book, tradier_token)
        self.dialects: list[tuple[str, Any]] = [("/v2/", alpaca), ("/v1beta1/", alpaca), ("/v1/", tradier)]
        self._bind = (host, port)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.seen: Counter[str] = Counter()  # "METHOD /path" -> requests (what reached the order endpoints, say)

    @property
    def requests(self) -> int:
        return sum(self.seen.values())

    # --- serving ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The host root: Alpaca's base and data URL as is; Tradier's base is url + "/v1"."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Simulator:
        handler = make_handler(self._route, self._command, self.faults, self.book.served, self._stop)
        self._server = Server(self._bind, handler)
        self._bind = self._server.server_address[:2]  # a restart comes back on the same port
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="broker-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._close()

    def _close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def restart(self, down_for: float = 0.0) -> None:
        """Stops listening (connections are refused), then serves again on the same port with every order kept."""
        self._close()
        if down_for:
            time.sleep(down_for)
        self.start()

    def _restart_soon(self, down_for: float) -> None:
        time.sleep(0.1)  # the control request that asked for it gets its answer first
        self.restart(down_for)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _route(self, req: Incoming) -> Answer:
        with self.book.lock:
            self.seen[f"{req.method} {req.path}"] += 1
        for prefix, dialect in self.dialects:
            if req.path.startswith(prefix):
                return dialect.route(req)
        return Answer(404, {"message": "not found"})

    # --- controls -----------------------------------------------------------------------------------------

    def control(self, action: str, **args: Any) -> Any:
        return self._command({"action": action, **args})

    def _command(self, cmd: dict[str, Any]) -> Any:
        book = self.book
        action = cmd["action"]
        with book.lock:
            if action == "set_quote":
                book.set_quote(cmd["symbol"], _dec(cmd.get("bid")), _dec(cmd.get("ask")))
            elif action == "walk":
                price = Decimal(str(cmd["price"]))
                spread = Decimal(str(cmd.get("spread_pct", 2))) / 100
                step = Decimal(str(cmd.get("step_pct", 0.5))) / 100
                if cmd.get("symbol"):
                    book.walk(cmd["symbol"], price, spread, step)
                else:
                    book.walk_unknown = (price, spread, step)
            elif action == "walk_from_orders":
                book.walk_from_orders = (Decimal(str(cmd.get("spread_pct", 2))) / 100,
                                         Decimal(str(cmd.get("step_pct", 0.5))) / 100)  # fmt: skip
            elif action == "set_clock":
                if cmd.get("offset_seconds") is not None:
                    book.clock_offset = timedelta(seconds=float(cmd["offset_seconds"]))
                book.set_clock(bool(cmd["is_open"]), next_open=_when(cmd.get("next_open")),
                               next_close=_when(cmd.get("next_close")))
            elif action == "delist":
                book.delisted.add(cmd["symbol"])
            elif action == "set_roots":
                book.roots[cmd["underlying"]] = list(cmd["roots"])
            elif action == "set_position":
                book.set_position(cmd.get("dialect", "alpaca"), cmd["symbol"], Decimal(str(cmd["quantity"])),
                                  Decimal(str(cmd.get("average_price") or 0)))
            elif action == "assign":
                book.assign(cmd.get("dialect", "alpaca"), cmd["symbol"])
            elif action == "fault":
                fields = {k: cmd[k] for k in ("status", "headers", "body", "delay", "reset", "after_accept", "count",
                                              "method", "path", "kind") if k in cmd and cmd[k] is not None}
                self.faults.add(Fault(**fields))
            elif action == "clear_faults":
                self.faults.clear()
            elif action == "random_faults":
                self.faults.random(dict(cmd["rates"]), seed=cmd.get("seed"), method=cmd.get("method"),
                                   path=cmd.get("path"))
            elif action == "restart":
                delay = float(cmd.get("down_for") or 0)
                threading.Thread(target=self._restart_soon, args=(delay,), name="broker-simulator-restart",
                                 daemon=True).start()
            elif action == "partial_next":
                book.partial_next.append(Decimal(str(cmd["quantity"])))
            elif action == "reject_next":
                book.reject_next.append(str(cmd.get("reason") or "rejected"))
            elif action == "release":
                dialect = cmd.get("dialect", "alpaca")
                for order in book.orders:
                    if order.dialect == dialect and order.client_order_id == cmd["client_order_id"]:
                        book.release(order, _dec(cmd.get("quantity")))
            elif action == "expire_day":
                book.expire_day()
            elif action == "order_count":
                return book.counts[(cmd.get("dialect", "alpaca"), cmd["client_order_id"])]
            elif action == "order_counts":
                dialect = cmd.get("dialect", "alpaca")
                return {cid: n for (d, cid), n in book.counts.items() if d == dialect}
            elif action == "fault_counts":
                return dict(self.faults.counts)
            elif action == "request_counts":
                return dict(self.seen)
            else:
                raise KeyError(f"unknown action {action!r}")
        return None


class SimulatorControl(_Controls):
    """Drives a simulator running in another process through its /_control endpoint."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def control(self, action: str, **args: Any) -> Any:
        resp = self._session.post(f"{self.url}/_control", data=json.dumps({"action": action, **args}),
                                  headers={"Content-Type": "application/json"}, timeout=self.timeout)
        doc = resp.json()
        if resp.status_code != 200:
            raise RuntimeError(f"simulator control {action} failed: {doc.get('error')}")
        return doc.get("result")

    def close(self) -> None:
        self._session.close()
