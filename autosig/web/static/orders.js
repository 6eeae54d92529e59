// AutoSig /orders: keeps the server-rendered page live. Decisions arrive as `event: order` (one per change of a
// decision: planned, skipped, sent, filled, …), the pause state, caps and working orders with `event: status`, and
// positions are fetched again after a change. Alert text comes from strangers: only ever inserted with textContent.
"use strict";

(function () {
  const MAX_DECISIONS = 200;
  const { $, el, getJSON, timeEl, asOf } = window.AutoSig;
  let positionsTimer = null;

  function num(v) {
    return v === null || v === undefined ? "—" : String(v);
  }

  function money(v) {
    if (v === null || v === undefined) return el("span", null, "—");
    return el("span", v > 0 ? "pos" : (v < 0 ? "neg" : ""), (v >= 0 ? "+" : "") + Number(v).toFixed(2));
  }

  function text(node, ...parts) {
    parts.forEach((p) => node.appendChild(typeof p === "string" ? document.createTextNode(p) : p));
    return node;
  }

  // --- decisions -------------------------------------------------------------------------------------------------

  function decisionItem(d) {
    const li = el("li", "decision decision-" + (d.decision === "planned" ? "planned" : "skipped") +
      (d.exit_missed ? " exit-missed" : ""));
    li.dataset.seq = String(d.seq);
    li.dataset.status = d.status || "";
    const head = el("div", "d-head");
    head.appendChild(text(el("span", "t"), timeEl(d.at)));
    head.appendChild(document.createTextNode(" "));
    head.appendChild(el("span", "d-kind", d.decision));
    head.appendChild(document.createTextNode(" "));
    head.appendChild(el("span", "d-what", (d.action || "") + " " + (d.contract || d.ticker || "signal " + d.signal_index)));
    head.appendChild(document.createTextNode(" "));
    if (d.decision === "planned") {
      head.appendChild(el("span", "d-order", d.quantity + " @ " + num(d.limit_price)));
      head.appendChild(document.createTextNode(" "));
      head.appendChild(el("span", "d-status status-" + String(d.status || "").replace(/[^a-z_]/g, ""), d.status_text));
    } else {
      const a = el("a", "d-reason", d.reason_text);
      a.setAttribute("href", "#" + String(d.rule || "rules").replace(/[^a-z0-9_-]/gi, ""));
      head.appendChild(a);
    }
    li.appendChild(head);
    if (d.decision === "planned" && d.filled_quantity) {
      let line = "Filled " + num(d.filled_quantity) + " of " + d.quantity + " at " + num(d.average_fill_price) + " on average";
      const fills = el("div", "d-fills", line);
      (d.fills || []).forEach((f, i) => {
        fills.appendChild(document.createTextNode((i ? "; " : ": ") + num(f.quantity) + " @ " + num(f.price) + " "));
        fills.appendChild(timeEl(f.at));
      });
      li.appendChild(fills);
    }
    if (d.failure) li.appendChild(el("div", "d-failure", d.reason_text + (d.order_detail ? " — " + d.order_detail : "")));
    if (d.detail) li.appendChild(el("div", "d-detail", d.detail));
    if (d.exit_missed) {
      const flag = el("div", "d-exit-missed");
      flag.appendChild(el("span", "flag-exit-missed", "exit_missed"));
      flag.appendChild(document.createTextNode(" AutoSig still holds the position this alert left."));
      li.appendChild(flag);
    }
    const details = el("details");
    details.appendChild(el("summary", null, "alert text"));
    details.appendChild(el("pre", "alert-text", d.text === null || d.text === undefined
      ? "(no longer in this process's window)" : d.text));
    li.appendChild(details);
    return li;
  }

  function upsertDecision(d) {
    const list = $("decisions");
    const fresh = decisionItem(d);
    const old = list.querySelector('li[data-seq="' + Number(d.seq) + '"]');
    if (old) {
      fresh.querySelector("details").open = old.querySelector("details").open; // keep what the reader opened
      list.replaceChild(fresh, old);
    } else {
      // newest first by decision seq
      let before = null;
      for (const li of list.children) {
        if (Number(li.dataset.seq) < d.seq) { before = li; break; }
      }
      list.insertBefore(fresh, before);
    }
    fresh.classList.add("fresh");
    while (list.children.length > MAX_DECISIONS) list.removeChild(list.lastElementChild);
    $("decisions-empty").hidden = list.children.length > 0;
  }

  // --- status: the pause switch, caps, working orders ---------------------------------------------------------------

  function applyStatus(st) {
    const ex = st.execution;
    const panel = $("pause");
    panel.dataset.paused = ex.paused ? "true" : "false";
    const state = $("pause-state");
    state.replaceChildren();
    const p = ex.pause || {};
    if (ex.paused) {
      state.appendChild(el("strong", null, "PAUSED"));
      text(state, " — paused" + (p.by ? " by " + p.by : "") + " at ", timeEl(p.at),
        (p.reason ? ": " + p.reason : "") + (p.cancel_entries ? " (working entries cancelled)" : "") +
        ". No new order is sent; cancels still go out.");
    } else {
      state.appendChild(document.createTextNode("Execution runs: each fresh signal is decided as it arrives."));
      if (p.at) text(state, " Last resumed" + (p.by ? " by " + p.by : "") + " at ", timeEl(p.at), (p.reason ? ": " + p.reason : "") + ".");
    }
    if ($("pause-form")) {
      $("pause-form").hidden = ex.paused;
      $("resume-form").hidden = !ex.paused;
    }
    $("realized-today").replaceChildren(money(ex.realized.today));
    $("realized-total").replaceChildren(money(ex.realized.total));
    $("open-orders").textContent = String(ex.open_orders);
    renderCaps(ex.caps || {});
    renderWorking(ex.working || []);
  }

  function renderCaps(caps) {
    const tbody = $("caps-body");
    tbody.replaceChildren();
    Object.keys(caps).forEach((name) => {
      const cap = caps[name];
      const tr = el("tr", cap.limit !== null && cap.limit !== undefined && cap.used >= cap.limit ? "cap-full" : "");
      tr.dataset.cap = name;
      tr.appendChild(el("td", null, name));
      tr.appendChild(el("td", "used", num(cap.used)));
      tr.appendChild(el("td", "limit", num(cap.limit)));
      tbody.appendChild(tr);
    });
    $("caps-empty").hidden = Object.keys(caps).length > 0;
  }

  const STATUS_WORDS = {
    planned: "planned, not sent yet", unknown: "outcome unknown — being reconciled", accepted: "working at the broker",
    partially_filled: "partially filled",
  };

  function renderWorking(orders) {
    const tbody = $("working-body");
    tbody.replaceChildren();
    orders.forEach((o) => {
      const tr = el("tr");
      tr.dataset.coid = o.client_order_id;
      tr.appendChild(el("td", "contract", o.contract || "?"));
      tr.appendChild(el("td", null, o.action || o.effect));
      tr.appendChild(el("td", "status", (STATUS_WORDS[o.status] || o.status) +
        (o.cancel_requested ? " (cancel asked: " + o.cancel_requested + ")" : "")));
      tr.appendChild(el("td", null, num(o.filled_quantity) + " of " + o.quantity));
      tr.appendChild(el("td", null, num(o.limit_price)));
      const age = el("td", "age");
      age.dataset.since = o.submitted_at || o.planned_at || "";
      tr.appendChild(age);
      tbody.appendChild(tr);
    });
    $("working-empty").hidden = orders.length > 0;
    tickAges();
  }

  function tickAges() {
    document.querySelectorAll("#working-body td.age[data-since]").forEach((td) => {
      const since = Date.parse(td.dataset.since);
      td.textContent = isNaN(since) ? "—" : Math.max(0, Math.round((Date.now() - since) / 1000)) + " s";
    });
  }

  // --- positions -------------------------------------------------------------------------------------------------

  function positionRow(pos) {
    const tr = el("tr", pos.exit_missed ? "exit-missed" : "");
    tr.appendChild(el("td", "contract", pos.contract));
    tr.appendChild(el("td", null, pos.quantity + (pos.direction === "short" ? " short" : "")));
    tr.appendChild(el("td", null, num(pos.average_cost)));
    tr.appendChild(text(el("td"), money(pos.realized)));
    tr.appendChild(text(el("td", "t"), timeEl(pos.opened_at)));
    const broker = el("td", "broker-qty");
    if (pos.broker_quantity !== null && pos.broker_quantity !== undefined && pos.broker_quantity !== pos.quantity) {
      broker.appendChild(el("span", "diff", "broker holds " + num(pos.broker_quantity)));
    } else {
      broker.textContent = "—";
    }
    tr.appendChild(broker);
    const flags = el("td");
    if (pos.exit_missed) {
      flags.appendChild(el("span", "flag-exit-missed", "exit_missed"));
      flags.appendChild(document.createTextNode(" "));
      flags.appendChild(el("span", "flag-why", "the analyst left this position; AutoSig still holds it (" +
        (typeof pos.exit_missed === "string" ? pos.exit_missed : "exit not followed") + ")"));
    }
    tr.appendChild(flags);
    return tr;
  }

  async function refreshPositions() {
    positionsTimer = null;
    try {
      const view = await getJSON("/api/positions");
      $("positions-body").replaceChildren(...view.positions.map(positionRow));
      $("positions-empty").hidden = view.positions.length > 0;
      const list = $("reconciliations");
      list.replaceChildren(...view.reconciliations.map((r) => {
        const li = el("li");
        text(li, text(el("span", "t"), timeEl(r.at)), " ", el("span", "contract", r.contract),
          ": AutoSig " + num(r.ours) + ", broker " + num(r.brokers) + " — " + (r.change || ""));
        return li;
      }));
      $("reconciliations-empty").hidden = view.reconciliations.length > 0;
    } catch (e) {
      // the banner says when the server cannot be reached
    }
  }

  function positionsSoon() {
    if (positionsTimer === null) positionsTimer = setTimeout(refreshPositions, 150);
  }

  window.AutoSig.on("order", (d) => { upsertDecision(d); positionsSoon(); });
  window.AutoSig.on("status", applyStatus);
  if (!asOf) setInterval(tickAges, 1000);
})();
