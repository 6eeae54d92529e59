"""Whop's official Python SDK (whop-sdk, generated from Whop's API definition) reads every answer of the simulator:
messages and forum posts, every page, edits, replies, ISO and epoch timestamps. Its models validate each object, so
a field the simulator lacks or mistypes fails here with the SDK's own parsing error."""

from __future__ import annotations

import pytest

pytest.importorskip("whop_sdk", reason="the official Whop SDK (the test extra) is not installed")

from whop_sdk import Whop  # noqa: E402
from whop_sdk.core.parse_error import ParsingError  # noqa: E402
from whop_sdk.environment import WhopEnvironment  # noqa: E402

from autosig.sources.simulator import Simulator  # noqa: E402

TOKEN = "sdk-conformance-token"
EPOCHS = [1767225600, 1767225600123, 0, 1767225600.5]  # seconds, milliseconds, the epoch, fractional seconds


def sdk_for(sim: Simulator) -> Whop:
    # no retries: a parsing error must surface at once, not be retried into a timeout
    return Whop(
        environment=WhopEnvironment(api=f"{sim.base_url}/api/v1", vault=sim.base_url), token=TOKEN, max_retries=0
    )


def _varied(sim: Simulator) -> None:
    """Replies (the corpus has many), edits, empty and null content, epoch timestamps of every form."""
    for created_at in EPOCHS:
        sim.publish("BTO 1 SPY 600c 1/17 @ 1.25", created_at=created_at)
    sim.publish(None)
    sim.publish("")
    first = sim.messages()[0]
    sim.edit(first["id"], "edited: STC SPY 600c @ 2.00")
    sim.edit(first["id"], None)
    sim.publish("reply", reply_to=first["id"])


def test_every_page_of_messages_validates_against_the_sdk_model():
    with Simulator(TOKEN, history=70, seed=5) as sim:
        _varied(sim)
        client = sdk_for(sim)
        pager = client.messages.list(channel_id=sim.channel, direction="desc", first=20)
        pages = list(pager.iter_pages())
        ids = [m.id for page in pages for m in page.items]
        assert len(pages) >= 4
        assert ids == [m["id"] for m in reversed(sim.messages())]
        items = [m for page in pages for m in page.items]
        assert any(m.replying_to_message_id for m in items) and any(m.is_edited for m in items)
        assert all(m.mentions == [] and m.mentions_everyone is False for m in items)
        ascending = [m.id for m in client.messages.list(channel_id=sim.channel, direction="asc", first=50)]
        assert ascending == [m["id"] for m in sim.messages()]


def test_every_page_of_forum_posts_validates_against_the_sdk_model():
    with Simulator(TOKEN, history=45, seed=6, channel="exp_sim_forum", path="/api/v1/forum_posts") as sim:
        _varied(sim)
        assert "experience_id=exp_sim_forum" in sim.url
        posts = list(sdk_for(sim).forum_posts.list(experience_id=sim.channel, first=15))
        assert [p.id for p in posts] == [m["id"] for m in reversed(sim.messages())]
        assert any(p.parent_id for p in posts) and any(p.is_edited for p in posts)


def test_the_sdk_is_a_real_oracle_a_message_missing_a_required_field_fails():
    with Simulator(TOKEN, history=0) as sim:
        message = sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")
        broken = {k: v for k, v in message.items() if k != "mentions_everyone"}
        broken["id"] = "post_broken"
        sim.publish_raw(broken)
        with pytest.raises(ParsingError):
            list(sdk_for(sim).messages.list(channel_id=sim.channel, direction="desc"))
