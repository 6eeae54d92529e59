// AutoSig pages: what every page shares. Keeps the ingestion banner and the execution mode strip live over
// /api/stream (Server-Sent Events) and hands the page its own events (signal, order, status) through AutoSig.on().
// Strings from the server come from strangers: they are only ever inserted with textContent, never as HTML.
"use strict";

window.AutoSig = (function () {
  const CONTACT_LOST_MS = 15000; // status arrives at least every 5 s; three missed means the page may be outdated
  const EASTERN = "America/New_York";
  const STATE_WORDS = { green: "OK", amber: "WARNING", red: "NOT INGESTING" };
  const listeners = { status: [], signal: [], order: [], open: [] };
  let zone = null; // null: the viewer's own zone
  let lastStatusAt = Date.now();
  const asOf = document.body.dataset.asOf || ""; // set on a past view (time travel)

  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    return r.json();
  }

  // --- time ------------------------------------------------------------------------------------------------------

  function fmt(iso, short) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    const opts = short
      ? { hour: "2-digit", minute: "2-digit" }
      : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" };
    if (zone) opts.timeZone = zone;
    const sameDay = new Date().toDateString() === d.toDateString();
    if (short && !sameDay) { opts.month = "short"; opts.day = "numeric"; }
    return new Intl.DateTimeFormat(undefined, opts).format(d);
  }

  function timeEl(iso, short) {
    if (!iso) return document.createTextNode("—");
    const t = el("time", short ? "short" : null, fmt(iso, short));
    t.setAttribute("datetime", iso);
    return t;
  }

  function renderTimes(root) {
    root.querySelectorAll("time[datetime]").forEach((t) => {
      t.textContent = fmt(t.getAttribute("datetime"), t.classList.contains("short"));
    });
  }

  function zoneName() {
    return zone ? "US Eastern" : (Intl.DateTimeFormat().resolvedOptions().timeZone || "local time");
  }

  function toggleEastern() {
    zone = zone ? null : EASTERN;
    renderTimes(document);
    return zone !== null;
  }

  function setTime(id, iso) {
    const node = $(id);
    if (node) node.replaceChildren(timeEl(iso));
  }

  // --- the banner and the mode strip -----------------------------------------------------------------------------

  function setBanner(level, headline, since, detail) {
    const banner = $("banner");
    if (!banner) return;
    banner.className = "banner banner-" + level;
    banner.dataset.level = level;
    $("banner-state").textContent = STATE_WORDS[level] || level;
    $("banner-headline").textContent = headline;
    const sinceEl = $("banner-since");
    sinceEl.replaceChildren();
    if (since) {
      sinceEl.appendChild(document.createTextNode(" since "));
      sinceEl.appendChild(timeEl(since, true));
      sinceEl.hidden = false;
    } else {
      sinceEl.hidden = true;
    }
    $("banner-detail").textContent = detail || "";
    if (document.body.dataset.titleFromBanner === "true") document.title = "AutoSig — " + headline;
  }

  function pausedText(paused) {
    const out = document.createDocumentFragment();
    out.appendChild(document.createTextNode("Paused" + (paused.by ? " by " + paused.by : "") + " at "));
    out.appendChild(timeEl(paused.at));
    let tail = paused.reason ? ": " + paused.reason : "";
    if (paused.cancel_entries) tail += " (working entries cancelled)";
    out.appendChild(document.createTextNode(tail));
    return out;
  }

  function setStrip(strip) {
    const box = $("mode-strip");
    if (!box || !strip) return;
    box.className = "strip strip-" + strip.level;
    box.dataset.level = strip.level;
    box.dataset.paused = strip.paused ? "true" : "false";
    $("strip-headline").textContent = strip.headline;
    const at = $("strip-at");
    at.replaceChildren();
    if (strip.at) {
      at.appendChild(document.createTextNode(" "));
      at.appendChild(timeEl(strip.at));
    }
    at.hidden = !strip.at;
    $("strip-detail").textContent = strip.detail || "";
    $("strip-paused").hidden = !strip.paused;
    $("strip-paused-text").replaceChildren(strip.paused ? pausedText(strip.paused) : document.createTextNode(""));
  }

  function setLive(text, on) {
    const live = $("live");
    if (!live) return;
    live.textContent = text;
    live.className = "live " + (on ? "live-on" : "live-off");
  }

  function applyStatus(st) {
    lastStatusAt = Date.now();
    const b = st.banner;
    setBanner(b.level, b.headline, b.since, b.detail);
    if (st.execution) setStrip(st.execution.strip);
    listeners.status.forEach((fn) => fn(st));
  }

  // Without word from the server a page must not keep claiming that all is well.
  function watchContact() {
    if (Date.now() - lastStatusAt > CONTACT_LOST_MS) {
      setBanner("amber", "No contact with the AutoSig web service", new Date(lastStatusAt).toISOString(),
        "The state shown may be outdated; the page keeps trying to reconnect.");
      setLive("disconnected", false);
    }
  }

  // --- the live stream -------------------------------------------------------------------------------------------

  // Where the stream resumes: the seqs the server rendered the page at (body data-parsed-seq, data-orders-seq), so
  // what changed between the render and the connection is sent too. Read here, not set by a page script: a deferred
  // script may run after start() (the browser runs tasks while it waits for the next script to arrive).
  function resumeParams() {
    const params = {};
    const d = document.body.dataset;
    if (/^\d+$/.test(d.parsedSeq || "")) params.last_event_id = d.parsedSeq;
    if (/^\d+$/.test(d.ordersSeq || "")) params.orders_after = d.ordersSeq;
    return params;
  }

  function connect() {
    const query = new URLSearchParams(resumeParams()).toString();
    const es = new EventSource("/api/stream" + (query ? "?" + query : ""));
    es.addEventListener("open", () => {
      setLive("live", true);
      listeners.open.forEach((fn) => fn());
    });
    es.addEventListener("status", (e) => applyStatus(JSON.parse(e.data)));
    es.addEventListener("signal", (e) => { const s = JSON.parse(e.data); listeners.signal.forEach((fn) => fn(s)); });
    es.addEventListener("order", (e) => { const o = JSON.parse(e.data); listeners.order.forEach((fn) => fn(o)); });
    es.addEventListener("error", () => setLive("reconnecting…", false));
  }

  function on(kind, fn) {
    listeners[kind].push(fn);
  }

  function start() {
    renderTimes(document);
    if (asOf) return; // a past view: no live updates, and no "contact lost" warnings about the present
    connect();
    setInterval(watchContact, 1000);
  }

  // Page scripts are deferred after this one and register with on(); DOMContentLoaded fires once every deferred
  // script has run. (A timer would not do: the browser runs tasks while it waits for the next script to arrive, so
  // the stream could open, and events arrive, before the page's script listens.)
  if (document.readyState === "complete") setTimeout(start, 0);
  else document.addEventListener("DOMContentLoaded", start);

  return { $, el, getJSON, fmt, timeEl, renderTimes, zoneName, toggleEastern, setTime, on, asOf };
})();
