"""Shared pieces of the security tests: hostile payloads, a browser, the app's routes, servers over a log dir."""

from __future__ import annotations

from pathlib import Path

from webapp.conftest import env, feed, make_app, manual_clock, store  # noqa: F401 - fixtures shared with tests/web

from autosig.config import load_settings
from autosig.web import create_app

# Each payload sets window.__pwned (or opens a dialog) if it ever runs. Alert text, tickers, reasons and every other
# string that can reach a page are attacker-controlled.
PAYLOADS = [
    '<script>window.__pwned = "script"</script>',
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "<img src=x onerror=alert(1)>",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
    '<svg><script>window.__pwned = "svg-script"</script></svg>',
    '"><img src=x onerror=window.__pwned="attr-dq">',
    "'><img src=x onerror=window.__pwned='attr-sq'>",
    "\" autofocus onfocus=\"window.__pwned='focus'\" x=\"",
    "<a href=\"javascript:window.__pwned='js-href'\" id=jslink>click me</a>",
    "javascript:window.__pwned='js-url'",
    "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
    "</pre></details></td></tr></table><script>window.__pwned='close-tags'</script>",
    "</script><script>window.__pwned='script-break'</script>",
    "<details open ontoggle=\"window.__pwned='toggle'\">x</details>",
    "<body onload=\"window.__pwned='body'\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__pwned='meta'\">",
    "<base href=\"http://evil.invalid/\"><link rel=stylesheet href=//evil.invalid/x.css>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned='mxss'>",
    "<style>*{display:none !important}</style>",
    "${window.__pwned = 'template-literal'}",
    "`${window.__pwned = 'backtick'}`",
    "{{ 12345*6 }} {{ config }} {% for x in range(3) %}JINJA{% endfor %}",  # 74070 if evaluated
    "{{constructor.constructor(\"window.__pwned='angular'\")()}}",
    "\u202eRTL override\u202c \u200bzero\u200dwidth \ufeffBOM \u2028line\u2029para",
    "<!-- unterminated comment",
    "]]> <![CDATA[ x",
    "&lt;script&gt; already escaped &amp; &#x3C;",
]
# 200 KB of markup in one alert
BIG = "BTO BIG 1c @ 1 " + "<b>A</b><img src=x onerror=window.__pwned='big'>" * 4_000



def get_routes(log_dir: Path) -> list[tuple[str, list[str]]]:
    """Every GET rule of the app as (rule, argument names), read from app.url_map — so new pages are covered too."""
    app = create_app(load_settings({"AUTOSIG_LOG_DIR": str(log_dir), "AUTOSIG_FSYNC": "never"}))
    return sorted((r.rule, sorted(r.arguments)) for r in app.url_map.iter_rules() if "GET" in (r.methods or ()))


def concrete_paths(log_dir: Path) -> list[str]:
    """A request path for every GET rule (rules with arguments get each static file / a sample value)."""
    static = Path(create_app.__code__.co_filename).parent / "static"
    paths = []
    for rule, args in get_routes(log_dir):
        if not args:
            paths.append(rule)
        elif rule.startswith("/static/"):
            paths += [f"/static/{p.name}" for p in sorted(static.iterdir()) if p.is_file()]
        else:
            path = rule
            for arg in args:
                path = path.replace(f"<{arg}>", "1")
                for conv in ("int", "string", "path", "float", "uuid"):
                    path = path.replace(f"<{conv}:{arg}>", "1")
            paths.append(path)
    return paths


