// AutoSig dashboard: keeps the server-rendered page live over /api/stream (live.js holds the connection, the banner
// and the mode strip). Alert text comes from strangers: it is only ever inserted with textContent, never as HTML.
"use strict";

(function () {
  const MAX_ROWS = 200;
  const { $, el, getJSON, fmt, timeEl, setTime, asOf } = window.AutoSig;
  let tickerFilter = "";
  let lastParsedSeq = null;
  let lastExtrasAt = 0;
  const seen = new Set();

  // --- signals ---------------------------------------------------------------------------------------------------

  function num(v) {
    if (v === null || v === undefined) return "";
    return String(v);
  }

  function contract(sig) {
    const legs = sig.legs || [];
    if (!legs.length) return sig.instrument || "";
    let out = legs.map((leg) => {
      let t = (leg.strike !== null && leg.strike !== undefined ? num(leg.strike) : "?") + (leg.right || "");
      if (leg.expiry) t += " " + leg.expiry;
      if (legs.length > 1) t = ((leg.side || "") + " " + t).trim();
      return t;
    }).join(" / ");
    if (sig.limit_kind) out += " (" + sig.limit_kind + ")";
    return out;
  }

  function price(sig) {
    if (sig.price !== null && sig.price !== undefined) return num(sig.price);
    if (sig.price_range && sig.price_range.length) return sig.price_range.map(num).join("–");
    return "";
  }

  function textDetails(text) {
    const details = el("details");
    details.appendChild(el("summary", null, "text"));
    details.appendChild(el("pre", "alert-text", text || ""));
    return details;
  }

  function signalRow(s) {
    const sig = s.signal || {};
    const tr = el("tr");
    tr.dataset.parsedSeq = String(s.parsed_seq);
    tr.dataset.ticker = String(sig.ticker || "").toUpperCase();
    const t = el("td", "t");
    t.appendChild(timeEl(s.created_at || s.received_at));
    tr.appendChild(t);
    tr.appendChild(el("td", "ticker", sig.ticker || "?"));
    tr.appendChild(el("td", "action action-" + String(sig.action || "").replace(/[^a-z]/g, ""), sig.action || ""));
    tr.appendChild(el("td", "contract", contract(sig)));
    tr.appendChild(el("td", "price", price(sig)));
    tr.appendChild(el("td", "ver", "v" + s.parser_version));
    const text = el("td", "text");
    text.appendChild(textDetails(s.text));
    tr.appendChild(text);
    return tr;
  }

  function keyOf(s) {
    return s.parsed_seq + "|" + JSON.stringify(s.signal);
  }

  function addSignal(s, atTop) {
    const key = keyOf(s);
    if (seen.has(key)) return;
    seen.add(key);
    const ticker = String((s.signal || {}).ticker || "").toUpperCase();
    if (tickerFilter && ticker !== tickerFilter) return;
    const body = $("signals-body");
    const row = signalRow(s);
    if (atTop) {
      row.classList.add("fresh");
      body.insertBefore(row, body.firstChild);
    } else {
      body.appendChild(row);
    }
    while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
    $("signals-empty").hidden = body.rows.length > 0;
  }

  async function loadSignals() {
    let q = tickerFilter ? "&ticker=" + encodeURIComponent(tickerFilter) : "";
    if (asOf) q += "&as_of=" + encodeURIComponent(asOf);
    const data = await getJSON("/api/signals?limit=100" + q);
    const body = $("signals-body");
    body.replaceChildren();
    seen.clear();
    data.signals.forEach((s) => addSignal(s, false));
    $("signals-empty").hidden = body.rows.length > 0;
    $("signals-empty").textContent = tickerFilter ? "No signals for " + tickerFilter + "." : "No signals yet.";
  }

  // --- status ----------------------------------------------------------------------------------------------------

  function applyStatus(st) {
    setTime("f-last-poll", st.worker.last_poll_at);
    setTime("f-last-success", st.worker.last_success_at);
    $("f-failures").textContent = String(st.worker.consecutive_failures);
    $("f-backlog").textContent = String(st.lag.parse_backlog);
    $("f-parser").textContent = "v" + st.parser_version;
    const lat = st.lag.alert_latency_seconds || {};
    $("f-latency").textContent = lat.median === null || lat.median === undefined ? "—" : lat.median + " s";
    $("f-streams").textContent = st.streams.raw.seq + " / " + st.streams.parsed.seq + " / " + st.streams.worker.seq;
    const err = st.worker.last_error;
    $("last-error").hidden = !err;
    if (err) {
      $("last-error-text").textContent =
        String(err.reason) + (err.http_status ? " (HTTP " + err.http_status + ")" : "") + " — " + String(err.detail || "");
      setTime("last-error-at", err.at);
    }
    const list = $("problems-list");
    list.replaceChildren();
    (st.problems || []).forEach((p) => list.appendChild(el("li", null, p.stream + " line " + p.line + ": " + p.error)));
    $("problems").hidden = !(st.problems && st.problems.length);
    if (st.streams.parsed.seq !== lastParsedSeq && Date.now() - lastExtrasAt > 5000) {
      lastParsedSeq = st.streams.parsed.seq;
      refreshExtras();
    }
  }

  // --- stats, unparsed alerts, chart ----------------------------------------------------------------------------

  async function refreshExtras() {
    lastExtrasAt = Date.now();
    try {
      const [stats, unparsed] = await Promise.all([getJSON("/api/stats" + (asOf ? "?as_of=" + encodeURIComponent(asOf) : "")),
        getJSON("/api/alerts?kind=unparseable&limit=20" + (asOf ? "&as_of=" + encodeURIComponent(asOf) : ""))]);
      renderStats(stats.parse_stats);
      renderUnparsed(unparsed.alerts);
      renderChart(stats.alerts_per_hour);
    } catch (e) {
      // the status banner already tells when the server is unreachable
    }
  }

  function renderStats(parseStats) {
    const body = $("stats-body");
    body.replaceChildren();
    Object.keys(parseStats).forEach((v) => {
      const row = parseStats[v];
      const tr = el("tr");
      [("v" + v), row.signal, row.non_signal, row.unparseable, row.total].forEach((x) => tr.appendChild(el("td", null, x)));
      body.appendChild(tr);
    });
  }

  function renderUnparsed(alerts) {
    const list = $("unparsed-list");
    list.replaceChildren();
    alerts.forEach((a) => {
      const li = el("li");
      const t = el("span", "t");
      t.appendChild(timeEl(a.created_at || a.received_at));
      li.appendChild(t);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "reason", a.reason || "unparseable"));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "ver", "v" + a.parser_version));
      li.appendChild(textDetails(a.text));
      list.appendChild(li);
    });
    $("unparsed-empty").hidden = alerts.length > 0;
  }

  let chartData = [];

  function renderChart(perHour) {
    if (perHour) chartData = perHour;
    const box = $("chart");
    const NS = "http://www.w3.org/2000/svg";
    const counts = new Map(chartData.map((h) => [Date.parse(h.hour), h.count]));
    const hourMs = 3600 * 1000;
    const end = Math.floor((asOf ? Date.parse(asOf) : Date.now()) / hourMs) * hourMs; // a past view ends at as_of
    const hours = [];
    for (let i = 23; i >= 0; i--) hours.push(end - i * hourMs);
    const max = Math.max(1, ...hours.map((h) => counts.get(h) || 0));
    const W = 480, H = 140, pad = 18, bw = (W - 2 * pad) / hours.length;
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + (H + 20));
    svg.setAttribute("role", "img");
    const total = hours.reduce((a, h) => a + (counts.get(h) || 0), 0);
    const title = document.createElementNS(NS, "title");
    title.textContent = total + " alerts in the last 24 hours";
    svg.appendChild(title);
    hours.forEach((h, i) => {
      const c = counts.get(h) || 0;
      const bh = Math.round((c / max) * (H - 10));
      const r = document.createElementNS(NS, "rect");
      r.setAttribute("x", String(pad + i * bw + 1));
      r.setAttribute("y", String(H - bh));
      r.setAttribute("width", String(Math.max(1, bw - 2)));
      r.setAttribute("height", String(bh));
      r.setAttribute("class", "bar");
      const tip = document.createElementNS(NS, "title");
      tip.textContent = fmt(new Date(h).toISOString(), true) + ": " + c;
      r.appendChild(tip);
      svg.appendChild(r);
      if (i % 6 === 0) {
        const label = document.createElementNS(NS, "text");
        label.setAttribute("x", String(pad + i * bw));
        label.setAttribute("y", String(H + 14));
        label.setAttribute("class", "axis");
        label.textContent = fmt(new Date(h).toISOString(), true);
        svg.appendChild(label);
      }
    });
    const maxLabel = document.createElementNS(NS, "text");
    maxLabel.setAttribute("x", "0");
    maxLabel.setAttribute("y", "10");
    maxLabel.setAttribute("class", "axis");
    maxLabel.textContent = String(max);
    svg.appendChild(maxLabel);
    box.replaceChildren(svg);
  }

  function init() {
    $("tz-name").textContent = window.AutoSig.zoneName();
    $("tz-toggle").addEventListener("click", () => {
      const eastern = window.AutoSig.toggleEastern();
      const btn = $("tz-toggle");
      btn.textContent = eastern ? "Show local time" : "Show US Eastern";
      btn.setAttribute("aria-pressed", eastern ? "true" : "false");
      $("tz-name").textContent = window.AutoSig.zoneName();
      renderChart(null);
    });
    $("ticker-form").addEventListener("submit", (e) => {
      e.preventDefault();
      tickerFilter = $("ticker").value.trim().toUpperCase();
      loadSignals().catch(() => {});
    });
    $("ticker-clear").addEventListener("click", () => {
      $("ticker").value = "";
      tickerFilter = "";
      loadSignals().catch(() => {});
    });
    // Rebuild the list from the API once so live rows and listed rows share one de-duplication key.
    loadSignals().catch(() => {});
    refreshExtras();
  }

  window.AutoSig.on("signal", (s) => addSignal(s, true));
  window.AutoSig.on("status", applyStatus);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
