"""The simulator's fault kinds behave as documented, so the soak and fault tests really exercise them."""

from __future__ import annotations

import requests

from autosig.sources.simulator import FAR_TIMES, FAULT_KINDS, Simulator

TOKEN = "tok-sim-faults"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def get(sim: Simulator, **params: object) -> requests.Response:
    return requests.get(sim.url, params={"first": 5, **params}, headers=AUTH, timeout=5)


def ids(resp: requests.Response) -> list[str]:
    return [m["id"] for m in resp.json()["data"]]


def test_offset_cursors_overlap_when_messages_are_published_between_pages():
    with Simulator(TOKEN, history=0, seed=1) as sim:
        sim.cursor_mode = "offset"
        sim.publish_many(20)
        first = get(sim)
        sim.fault(publish=3)  # three new messages arrive just before the second page is served
        second = get(sim, after=first.json()["page_info"]["end_cursor"])
        assert second.status_code == 200
        # the last three of page one come again at the top of page two
        assert ids(second)[:3] == ids(first)[-3:]
        assert len(sim.messages()) == 23 and sim.fault_counts["shift"] == 1


def test_stable_cursors_do_not_shift():
    with Simulator(TOKEN, history=0, seed=1) as sim:
        sim.publish_many(20)
        first = get(sim)
        sim.fault(publish=3)
        second = get(sim, after=first.json()["page_info"]["end_cursor"])
        assert not set(ids(first)) & set(ids(second))
        everything = [m["id"] for m in reversed(sim.messages())]
        assert ids(second) == everything[8:13]


def test_duplicate_repeats_the_end_of_the_previous_page_in_both_cursor_modes():
    for mode in ("stable", "offset"):
        with Simulator(TOKEN, history=0, seed=2) as sim:
            sim.cursor_mode = mode
            sim.publish_many(12)
            first = get(sim)
            sim.fault(duplicate=2)
            second = get(sim, after=first.json()["page_info"]["end_cursor"])
            assert ids(second)[:2] == ids(first)[-2:], mode
            assert len(ids(second)) == 7, mode
            third = get(sim, after=second.json()["page_info"]["end_cursor"])
            assert not set(ids(third)) & set(ids(second)), mode


def test_401_burst_then_normal():
    with Simulator(TOKEN, history=3, seed=3) as sim:
        sim.fault(status=401, count=3, kind="auth_burst")
        assert [get(sim).status_code for _ in range(4)] == [401, 401, 401, 200]
        assert sim.fault_counts["auth_burst"] == 3


def test_random_mix_draws_each_configured_kind_and_only_those():
    with Simulator(TOKEN, history=30, seed=4) as sim:
        rates = {"http_5xx": 0.15, "login_page": 0.15, "auth_burst": 0.05, "duplicate": 0.1, "rate_limited": 0.1}
        sim.random_faults(rates, seed=9)
        statuses = []
        for _ in range(300):
            r = get(sim)
            statuses.append(r.status_code)
            if r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"):
                assert "Sign in" in r.text
        assert set(sim.fault_counts) == set(rates)
        assert {500, 502, 503, 504} & set(statuses) and 401 in statuses and 429 in statuses
        sim.random_faults(None)
        before = sum(sim.fault_counts.values())
        assert all(get(sim).status_code == 200 for _ in range(20))
        assert sum(sim.fault_counts.values()) == before


def test_random_mix_refuses_unknown_kinds_and_rates_above_one():
    with Simulator(TOKEN, history=0) as sim:
        for bad in ({"nope": 0.1}, {k: 0.2 for k in FAULT_KINDS}):
            try:
                sim.random_faults(bad)
            except ValueError:
                continue
            raise AssertionError(f"accepted {bad}")


def test_far_times_are_served_verbatim():
    with Simulator(TOKEN, history=0) as sim:
        for t in FAR_TIMES:
            sim.publish("BTO 1 SPY 600c 1/17 @ 1.25", created_at=t)
        served = get(sim, first=50).json()["data"]
        assert [m["created_at"] for m in reversed(served)] == FAR_TIMES
