"""The Railway deployment shape, checked offline: the config-as-code files and the Infrastructure-as-Code graph.

The earlier build broke because Railway applies the root railway.toml to every service without its own config path,
starting the worker as a web server; these tests pin which file says what."""

from __future__ import annotations

import runpy
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_START = "gunicorn --bind 0.0.0.0:$PORT --workers 2 --timeout 120 web:app"
WORKER_START = "python main.py"
DB_URL = {"type": "reference", "resource": "database.postgres", "output": "DATABASE_URL"}


def test_root_railway_toml_is_the_web_service():
    deploy = tomllib.loads((ROOT / "railway.toml").read_text())["deploy"]
    assert deploy["startCommand"] == WEB_START
    assert deploy["healthcheckPath"] == "/health"
    assert isinstance(deploy["healthcheckTimeout"], int) and deploy["healthcheckTimeout"] > 0
    assert deploy["restartPolicyType"] == "ON_FAILURE"
    assert deploy["drainingSeconds"] == 30  # a number: Railway's parser refuses a string


def test_worker_toml_runs_the_worker_without_a_healthcheck():
    deploy = tomllib.loads((ROOT / "railway.worker.toml").read_text())["deploy"]
    assert deploy["startCommand"] == WORKER_START
    assert deploy["restartPolicyType"] == "ALWAYS"
    assert deploy["drainingSeconds"] == 30
    assert not any(k.startswith("healthcheck") for k in deploy)


def test_the_start_commands_are_the_ones_the_processes_use():
    # The worker entry point and the gunicorn app module named by the start commands exist at the repository root.
    assert (ROOT / "main.py").is_file()
    assert "app = " in (ROOT / "web.py").read_text()


@pytest.fixture(scope="module")
def graph():
    sdk = pytest.importorskip("railway_sdk", reason="the IaC check needs the deploy extra (pip install '.[deploy]')")
    ns = runpy.run_path(str(ROOT / ".railway" / "railway.py"))
    ctx = sdk.create_railway_context(environment="production")
    return {r["address"]: r for r in ns["main"](ctx).to_graph()["resources"]}


def test_iac_graph_has_a_database_and_two_services_from_the_repository(graph):
    assert set(graph) == {"database.postgres", "service.web", "service.worker"}
    assert graph["database.postgres"]["engine"] == "postgres"
    assert graph["database.postgres"]["output"] == "DATABASE_URL"
    for name in ("service.web", "service.worker"):
        assert graph[name]["source"]["type"] == "github"
    assert graph["service.web"]["source"] == graph["service.worker"]["source"]


def test_iac_commands_and_healthcheck_only_on_web(graph):
    web, worker = graph["service.web"]["deploy"], graph["service.worker"]["deploy"]
    assert web["startCommand"] == WEB_START and worker["startCommand"] == WORKER_START
    assert web["healthcheckPath"] == "/health" and web["healthcheckTimeout"] > 0
    assert not any(k.startswith("healthcheck") for k in worker)
    assert (web["restartPolicyType"], worker["restartPolicyType"]) == ("ON_FAILURE", "ALWAYS")
    assert web["drainingSeconds"] == worker["drainingSeconds"] == 30
    # Config-as-code files do not manage these services: Railway allows one system per service.
    assert "configFile" not in graph["service.web"] and "configFile" not in graph["service.worker"]


def test_iac_both_services_share_the_database_and_the_shared_variables(graph):
    web, worker = graph["service.web"]["variables"], graph["service.worker"]["variables"]
    assert web["AUTOSIG_STORE_URL"] == worker["AUTOSIG_STORE_URL"] == DB_URL
    shared = {k for k, v in web.items() if v["type"] == "sharedReference"}
    assert shared >= {"POLL_INTERVAL_SECONDS", "DRY_RUN", "LIVE_TRADING"}
    assert shared == {k for k, v in worker.items() if v["type"] == "sharedReference"}
    for name in shared:
        assert web[name] == worker[name] == {"type": "sharedReference", "name": name}


def test_iac_writes_no_secret_and_gives_each_service_only_its_own(graph):
    web, worker = graph["service.web"]["variables"], graph["service.worker"]["variables"]
    assert web["DASHBOARD_PASSWORD"] == {"type": "preserve"}
    assert worker["WHOP_ACCESS_TOKEN"] == worker["WHOP_ALERTS_URL"] == {"type": "preserve"}
    assert "WHOP_ACCESS_TOKEN" not in web and "DASHBOARD_PASSWORD" not in worker
    assert not [k for k, v in {**web, **worker}.items() if v["type"] == "literal"]
