"""/metrics in the Prometheus text format.

Per process: each gunicorn worker keeps its own projections, so every sample carries a `pid` label naming the process
that answered (a scrape reaches one worker at a time; the values agree across workers once they have caught up).
Values are read from the projections at scrape time by a custom collector, so nothing is counted twice and nothing
is shared between processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from autosig.web import stream as sse
from autosig.web.host import WebState, ensure_started

bp = Blueprint("metrics", __name__)


class ProjectionCollector(Collector):
    def __init__(self, st: WebState) -> None:
        self.st = st

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        pid = str(os.getpid())
        now = self.st.now()
        host = self.st.host

        def snapshot(p):  # noqa: ANN001, ANN202 - a Projections, read under the host lock
            status = p.status(now)
            unknown = sum(1 for o in p.orders.working() if o.status == "unknown")
            return status, p.parse_stats(), p.problems.problem_count, p.orders.counts(), unknown

        status, parse_stats, problem_count, outcomes, unknown = host.read(snapshot)

        def gauge(name: str, doc: str, value: float | None, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
            labels = {"pid": pid, **(labels or {})}
            g = GaugeMetricFamily(name, doc, labels=list(labels))
            if value is not None:
                g.add_metric(list(labels.values()), float(value))
            return g

        lag = status["lag"]
        worker = status["worker"]
        yield gauge("autosig_up", "1 while this web process serves", 1)
        yield gauge("autosig_ready", "1 once this process caught up with every stream", 1 if host.ready.is_set() else 0)
        yield gauge("autosig_stale", "1 when no successful poll for stale_after_seconds (or none yet)", int(status["stale"]))
        yield gauge("autosig_poll_age_seconds", "seconds since the last poll of any outcome", lag["poll_age_seconds"])
        yield gauge("autosig_success_age_seconds", "seconds since the last successful poll", lag["success_age_seconds"])
        yield gauge("autosig_parse_backlog", "raw alerts without a parse by the active parser version", lag["parse_backlog"])
        yield gauge("autosig_consecutive_poll_failures", "failed polls since the last success", worker["consecutive_failures"])
        yield gauge("autosig_stale_after_seconds", "the worker's staleness threshold", worker["stale_after_seconds"])
        yield gauge("autosig_problems", "unreadable lines met while reading the streams", problem_count)
        yield gauge("autosig_sse_open_streams", "open live streams in this process", sse.open_streams())
        yield gauge("autosig_web_read_errors", "streams this process currently fails to read", len(host.errors))
        seqs = GaugeMetricFamily("autosig_stream_seq", "last seq applied per stream", labels=["pid", "stream"])
        for name, s in status["streams"].items():
            seqs.add_metric([pid, name], float(s["seq"]))
        yield seqs
        parses = GaugeMetricFamily(
            "autosig_parses", "alert.parsed events per parser version and kind", labels=["pid", "parser_version", "kind"]
        )
        for version, row in parse_stats.items():
            for kind, count in row.items():
                if kind != "total":
                    parses.add_metric([pid, version, kind], float(count))
        yield parses
        # execution (the orders stream): outcomes since the log began, the pause switch, sends of unknown outcome
        orders = CounterMetricFamily("autosig_orders", "decisions and order outcomes in the orders stream, by outcome "
                                     "(planned, skipped, skipped:<reason>, submitted, filled, failed:<reason>, …)",
                                     labels=["pid", "outcome"])  # fmt: skip
        for outcome, count in sorted(outcomes.items()):
            orders.add_metric([pid, outcome], float(count))
        yield orders
        execution = status["execution"]
        yield gauge("autosig_execution_paused", "1 while execution is paused (the latest control event)",
                    int(execution["paused"]))  # fmt: skip
        yield gauge("autosig_order_unknown", "orders whose send has an unknown outcome, not yet reconciled", unknown)
        yield gauge("autosig_open_orders", "the current executor's orders not final yet", execution["open_orders"])
        yield gauge("autosig_executor_running", "1 while the latest executor.started has no executor.stopped after it",
                    int(execution["running"]))  # fmt: skip
        if host.ready_seconds is not None:
            yield gauge("autosig_catch_up_seconds", "seconds this process took to catch up at start", host.ready_seconds)


def registry_for(st: WebState) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProjectionCollector(st))
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    st = ensure_started()
    if st.registry is None:
        st.registry = registry_for(st)
    return Response(generate_latest(st.registry), content_type=CONTENT_TYPE_LATEST)
