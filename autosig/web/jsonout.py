"""JSON responses: orjson for speed, the standard library for what orjson refuses (a lone surrogate in alert text)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response


def dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, ensure_ascii=True).encode()


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(obj), status=status, mimetype="application/json", headers=headers)
