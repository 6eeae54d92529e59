"""Formats by receiver host, and delivery with retries against a real local receiver (backoff on a ManualClock)."""

from __future__ import annotations

import logging
import random

import pytest
import requests

from autosig.clock import ManualClock
from autosig.notify import Message, body_for, format_for
from autosig.notify.deliver import Backoff, deliver
from autosig.notify.messages import target

MSG = Message("stale:7", "ingestion", "stale", "AutoSig: ingestion is STALE @everyone", "2026-11-28T10:00:00.000000Z",
              {"last_success_seq": 7})


@pytest.mark.parametrize(
    ("url", "fmt"),
    [
        ("https://discord.com/api/webhooks/1/abc", "discord"),
        ("https://discordapp.com/api/webhooks/1/abc", "discord"),
        ("https://ptb.discord.com/api/webhooks/1/abc", "discord"),
        ("https://hooks.slack.com/services/T/B/x", "slack"),
        ("https://example.com/hook", "json"),
        ("https://discord.com.evil.example/api/webhooks/1/abc", "json"),
        ("http://127.0.0.1:8080/x", "json"),
    ],
)
def test_format_is_chosen_by_host(url, fmt):
    assert format_for(url) == fmt


def test_bodies():
    assert body_for("discord", MSG) == {"content": MSG.text, "allowed_mentions": {"parse": []}}
    assert body_for("slack", MSG) == {"text": MSG.text}
    assert body_for("json", MSG) == {"id": "stale:7", "kind": "ingestion", "state": "stale", "text": MSG.text,
                                     "at": MSG.at, "source": "autosig", "details": {"last_success_seq": 7}}
    long = Message("x", "heads", "heads", "y" * 5000, MSG.at)
    assert len(body_for("discord", long)["content"]) == 2000


def test_target_hides_the_webhook_secret_in_the_path():
    shown = target("https://discord.com/api/webhooks/123/TOPSECRET?wait=true")
    assert "TOPSECRET" not in shown and "123" not in shown and shown.startswith("https://discord.com")


@pytest.mark.parametrize("fmt_host", ["discord.com", "hooks.slack.com", "example.org"])
def test_each_format_reaches_a_receiver(receiver, monkeypatch, fmt_host):
    # The receiver listens on loopback; route the well-known host there, as DNS would for the real service.
    real_post = requests.post
    local = receiver.url

    def post(url, **kwargs):
        assert url.startswith(f"https://{fmt_host}/")
        return real_post(local, **kwargs)

    monkeypatch.setattr(requests, "post", post)
    result = deliver(f"https://{fmt_host}/webhook/abc", MSG, clock=ManualClock())
    assert result is not None and result.status == 204
    [req] = receiver.requests
    assert req["headers"]["Idempotency-Key"] == "stale:7"
    expected = {"discord.com": {"content": MSG.text, "allowed_mentions": {"parse": []}},
                "hooks.slack.com": {"text": MSG.text}}.get(fmt_host, MSG.as_json())
    assert req["json"] == expected


def test_a_failing_receiver_is_retried_with_growing_backoff_until_it_accepts(receiver, caplog):
    receiver.failures = [500, 500, 503, 500, 502]
    clock = ManualClock()
    caplog.set_level(logging.WARNING, "autosig.notify")
    result = deliver(receiver.url, MSG, clock=clock, backoff=Backoff(base=1.0, cap=10.0, rng=random.Random(1)))
    assert result is not None and result.attempts == 6
    assert len(receiver.delivered()) == 1 and len(receiver.requests) == 6
    # every retry carries the same idempotency id
    assert {r["headers"]["Idempotency-Key"] for r in receiver.requests} == {"stale:7"}
    sleeps = clock.sleeps
    assert len(sleeps) == 5
    for n, s in enumerate(sleeps, 1):
        ceiling = min(10.0, 2 ** (n - 1))
        assert ceiling / 2 <= s <= ceiling
    assert sleeps[3] > sleeps[0]
    # the webhook URL is a secret: its path never reaches the log
    assert "s3cr3t-webhook-token" not in caplog.text and "HTTP 500" in caplog.text


def test_retry_after_is_honoured(receiver):
    receiver.failures = [(429, {"Retry-After": "42"}), 429]
    clock = ManualClock()
    assert deliver(receiver.url, MSG, clock=clock, backoff=Backoff(base=0.5, rng=random.Random(2))) is not None
    # the first wait is the receiver's; without Retry-After the backoff applies
    assert clock.sleeps[0] == 42 and clock.sleeps[1] <= 1.0 and len(receiver.delivered()) == 1


def test_gives_up_only_when_told(receiver):
    receiver.failures = [500] * 10
    assert deliver(receiver.url, MSG, clock=ManualClock(), max_attempts=3) is None
    assert len(receiver.requests) == 3


def test_unreachable_receiver_is_retried_and_the_url_is_not_logged(caplog):
    caplog.set_level(logging.WARNING, "autosig.notify")
    url = "http://127.0.0.1:9/hook/another-secret"
    assert deliver(url, MSG, clock=ManualClock(), max_attempts=2, timeout=1) is None
    assert "ConnectionError" in caplog.text and "another-secret" not in caplog.text
