"""Verifying Whop's webhooks: the Standard Webhooks scheme as Whop applies it (the literal bytes of its ws_ secret),
checked against Whop's own SDK; every refusal classified; and the simulator's deliveries, which Whop's payload model
reads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from autosig.redact import Secret
from autosig.sources.simulator import Simulator, _shapes
from autosig.sources.simulator._webhooks import WebhookSender
from autosig.sources.whop_webhooks import (
    BAD_SIGNATURE,
    MALFORMED,
    OLD_TIMESTAMP,
    WebhookRejected,
    sign,
    verify_delivery,
)

SECRET = "ws_3f9a1c0de2b84e77a5f0c6d1b2e3f4a5"


def event(channel="chat_feed_1", message_id="post_1", type_="chat.message.created", experience="exp_1") -> bytes:
    message = {"id": message_id, "content": "BTO 1 SPY 600c 1/17 @ 1.25"}
    doc = _shapes.chat_message_created(
        "msg_1", message, channel=channel, experience_id=experience, sent_at=datetime.now(UTC)
    )
    doc["type"] = type_
    return json.dumps(doc).encode()


def whop_signed(body: bytes, webhook_id="msg_1", stamp: int | None = None, secret=SECRET) -> dict[str, str]:
    """Headers as Whop's backend makes them: HMAC-SHA256 keyed by the secret's literal bytes, base64, "v1,"."""
    stamp = int(time.time()) if stamp is None else stamp
    digest = hmac.new(secret.encode(), f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def rejected(headers, body, now=None) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as info:
        verify_delivery(Secret(SECRET), headers, body, time.time() if now is None else now)
    assert SECRET not in str(info.value)
    return info.value


def test_a_genuine_delivery_is_read():
    body = event()
    got = verify_delivery(Secret(SECRET), whop_signed(body), body, time.time())
    assert got is not None and got.webhook_id == "msg_1" and got.message_id == "post_1"
    assert got.channels == ("chat_feed_1", "exp_1") and got.timestamp.endswith("Z")


def test_signing_matches_whops_sdk_both_ways():
    sdk = pytest.importorskip("whop_sdk.lib.verify_webhook")
    body = event()
    stamp = int(time.time())
    ours = sign(SECRET, "msg_9", stamp, body)
    assert ours == whop_signed(body, "msg_9", stamp)
    assert sdk.unwrap(body, headers=ours, key=SECRET)["type"] == "chat.message.created"
    with pytest.raises(WebhookVerificationError):
        sdk.unwrap(body, headers=sign("ws_other", "msg_9", stamp, body), key=SECRET)


def test_a_verifier_that_base64_decodes_the_secret_would_reject_every_genuine_delivery():
    body = event()
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, whop_signed(body))  # the reference library's default reading of a string


def test_several_signatures_one_of_them_right_is_accepted():
    body = event()
    headers = whop_signed(body)
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"] + " v2,zzz"
    assert verify_delivery(Secret(SECRET), headers, body, time.time()) is not None


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        (lambda h, b: (whop_signed(b, secret="ws_wrong"), b), BAD_SIGNATURE),
        (lambda h, b: (h, b.replace(b"post_1", b"post_2")), BAD_SIGNATURE),  # a tampered body
        (lambda h, b: ({**h, "webhook-id": "msg_other"}, b), BAD_SIGNATURE),
        (lambda h, b: ({**h, "webhook-signature": "garbage"}, b), BAD_SIGNATURE),
        (lambda h, b: ({**h, "webhook-signature": "v1,%%%not-base64"}, b), BAD_SIGNATURE),
        (lambda h, b: ({**h, "webhook-signature": "v1,a,b"}, b), BAD_SIGNATURE),
        (lambda h, b: (whop_signed(b, stamp=int(time.time()) - 301), b), OLD_TIMESTAMP),
        (lambda h, b: (whop_signed(b, stamp=int(time.time()) + 400), b), OLD_TIMESTAMP),
        (lambda h, b: ({**h, "webhook-timestamp": "yesterday"}, b), MALFORMED),
        (lambda h, b: ({**h, "webhook-timestamp": "nan"}, b), OLD_TIMESTAMP),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), MALFORMED),
        (lambda h, b: ({}, b), MALFORMED),
        (lambda h, b: ({**h, "webhook-id": "x" * 500}, b), MALFORMED),
    ],
)
def test_refusals_are_classified(change, outcome):
    body = event()
    headers, body = change(whop_signed(body), body)
    assert rejected(headers, body).outcome == outcome


def test_the_timestamp_is_judged_by_the_clock_given():
    body = event()
    headers = whop_signed(body)
    assert rejected(headers, body, now=time.time() + 600).outcome == OLD_TIMESTAMP


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8",
        b"not json",
        b"[1, 2]",
        event(channel=""),
        event(message_id=None),
        json.dumps({"type": "chat.message.created", "data": {"channel": 7}}).encode(),
    ],
)
def test_genuinely_signed_garbage_is_malformed_not_a_crash(body):
    outcome = rejected(whop_signed(body), body).outcome
    assert outcome in (MALFORMED, BAD_SIGNATURE)  # a body that is not UTF-8 cannot even be checked


def test_other_event_types_are_verified_and_ignored():
    body = event(type_="chat.reaction.created")
    assert verify_delivery(Secret(SECRET), whop_signed(body), body, time.time()) is None


def test_simulator_deliveries_are_whops_payload_and_signed_as_whop_signs():
    messages = pytest.importorskip("whop_sdk.messages.types.post_chat_message_created_payload")
    sdk = pytest.importorskip("whop_sdk.lib.verify_webhook")
    received = []

    class Receiver:
        def __init__(self):
            import http.server
            import threading

            outer = self

            class H(http.server.BaseHTTPRequestHandler):
                def log_message(self, *a):
                    pass

                def do_POST(self):
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                    outer.got(dict(self.headers.items()), body)
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
            self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

        def got(self, headers, body):
            received.append((headers, body))

    receiver = Receiver()
    try:
        with Simulator("t", history=0) as sim:
            hooks: WebhookSender = sim.enable_webhooks(receiver.url, SECRET, experience_id="exp_sim")
            first = sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")
            sim.publish("reply", reply_to=first["id"], created_at=1767225600)
            assert hooks.wait_idle()
            assert [d.status for d in hooks.deliveries] == [200, 200]
            for kind in ("forged", "replayed", "unsigned", "malformed"):
                hooks.send(first, channel=sim.channel, kind=kind)
            hooks.send(first, channel=sim.channel, copies=2)
    finally:
        receiver.server.shutdown()
    genuine = received[:2] + received[-2:]
    for headers, body in genuine:
        doc = sdk.unwrap(body, headers=headers, key=SECRET)
        model = messages.PostChatMessageCreatedPayload.model_validate(doc)
        assert model.data.channel.id == "chat_feed_sim" and model.data.channel.experience_id == "exp_sim"
        assert verify_delivery(Secret(SECRET), headers, body, time.time()) is not None
    assert received[-1][0]["webhook-id"] == received[-2][0]["webhook-id"]  # a redelivery keeps its id
    outcomes = []
    for headers, body in received[2:6]:
        try:
            verify_delivery(Secret(SECRET), headers, body, time.time())
            outcomes.append("accepted")
        except WebhookRejected as exc:
            outcomes.append(exc.outcome)
    assert outcomes == [BAD_SIGNATURE, OLD_TIMESTAMP, MALFORMED, MALFORMED]
