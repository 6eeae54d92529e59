"""Unauthenticated health endpoints: the process serves (/health); ingestion is fresh (/health/ingestion, 503 when
stale, for uptime monitors). Neither reveals anything else."""

from __future__ import annotations

from flask import Blueprint, Response

from autosig.web.host import ensure_started
from autosig.web.jsonout import json_response

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    ensure_started(wait=False)
    return json_response({"status": "ok"})


@bp.get("/health/ingestion")
def ingestion() -> Response:
    st = ensure_started()
    now = st.now()
    stale = st.host.read(lambda p: p.ingestion.stale(now))
    return json_response({"stale": stale}, 503 if stale else 200)
