"""The paper ledger: `/api/ledger` (the Ledger projection's summary) and the `/ledger` page with an equity chart.

Both accept `as_of` (time travel): the ledger as it stood at that moment."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from autosig.clock import rfc3339
from autosig.projections import Projections
from autosig.schema import PARSED, RAW
from autosig.web.api import json_errors
from autosig.web.host import ensure_started
from autosig.web.jsonout import dumps, json_response
from autosig.web.timetravel import Busy, Replay, page_status, requested_past

bp = Blueprint("ledger", __name__)
MEMO = "autosig.ledger_memo"
# How long a ledger request waits for this process to build the ledger (on the first ledger request) before 503.
LEDGER_WAIT_SECONDS = 10.0


class _Memo:
    """The last summary built, valid while the ledger's inputs are unchanged. Building a summary costs time in the
    number of trades ever made, and it runs under the host lock, so it is built once per change of the raw or parsed
    stream (or of the parser version), not once per request: worker polls and reviews do not invalidate it."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.summary: dict[str, Any] = {}
        self._encoded: tuple[dict[str, Any] | None, bytes] = (None, b"")

    def encoded(self, summary: dict[str, Any]) -> bytes:
        """`summary` as JSON, encoded once (a long history's ledger is large, and clients poll it)."""
        held, body = self._encoded
        if held is not summary:
            body = dumps(summary)
            self._encoded = (summary, body)
        return body

    def get(self, p: Projections, generation: int) -> dict[str, Any]:
        key = (id(p), id(p.ledger), generation, p.last_seq(RAW), p.last_seq(PARSED), p.ledger.parser_version)
        if key != self.key:
            self.summary, self.key = p.ledger.summary(), key
        return self.summary


def ledger_summary(past: Replay | None = None) -> tuple[dict[str, Any], str | None, _Memo]:
    """The summary for this request (live, or as of the past view's moment), that moment (None when live) and the
    memo holding it. Shared between requests: never change it."""
    st = ensure_started()
    if past is not None:
        memo = past.memo.setdefault("ledger", _Memo())
        return past.read(lambda p: memo.get(p, 0)), rfc3339(past.at), memo
    host = st.host
    if not host.want_ledger(LEDGER_WAIT_SECONDS):
        raise Busy("the paper ledger is being built from the whole history; try again shortly")
    memo = current_app.extensions.setdefault(MEMO, _Memo())
    try:
        return host.read(lambda p: memo.get(p, host.generation)), None, memo
    except sqlite3.Error as exc:  # its temporary database failed (a full disk): built again on the next request
        failure = exc
        host.read(lambda p: p.drop_ledger(failure))
        raise Busy(f"the paper ledger's temporary storage failed ({exc}); it is built again on request") from exc


json_errors(bp)


@bp.get("/api/ledger")
def api_ledger() -> Response:
    summary, as_of, memo = ledger_summary(requested_past(ensure_started()))
    if as_of is not None:
        return json_response({**summary, "as_of": as_of})
    return Response(memo.encoded(summary), mimetype="application/json")


@bp.get("/ledger")
def page() -> tuple[str, int] | str:
    st = ensure_started()
    past = requested_past(st)
    summary, as_of, _ = ledger_summary(past)
    return render_template("ledger.html", ledger=summary, status=page_status(st, past), as_of=as_of,
                           as_of_arg=request.args.get("as_of", ""))  # fmt: skip
