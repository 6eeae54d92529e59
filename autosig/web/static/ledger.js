// AutoSig paper ledger: draws the equity curve from /api/ledger as hand-made SVG (no libraries, no inline script).
// Every string from the server is inserted with textContent.
"use strict";

(function () {
  const NS = "http://www.w3.org/2000/svg";

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, String(v)));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function money(v) {
    return (v > 0 ? "+" : "") + Number(v).toFixed(2);
  }

  function draw(curve) {
    const box = document.getElementById("equity");
    if (!box) return;
    if (!curve.length) { box.replaceChildren(); return; }
    const W = 640, H = 200, padL = 56, padR = 12, padT = 12, padB = 24;
    const values = [0].concat(curve.map((p) => p.equity));
    let lo = Math.min(...values), hi = Math.max(...values);
    if (lo === hi) { lo -= 1; hi += 1; }
    const x = (i) => padL + (i * (W - padL - padR)) / Math.max(1, values.length - 1);
    const y = (v) => padT + ((hi - v) * (H - padT - padB)) / (hi - lo);
    const svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, role: "img", id: "equity-svg" });
    svg.appendChild(svgEl("title", {}, "Cumulative realized P&L: " + money(values[values.length - 1])));
    svg.appendChild(svgEl("line", { x1: padL, x2: W - padR, y1: y(0), y2: y(0), class: "zero" }));
    [hi, 0, lo].forEach((v) => svg.appendChild(svgEl("text", { x: 2, y: y(v) + 4, class: "axis" }, money(v))));
    const d = values.map((v, i) => (i ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1)).join(" ");
    svg.appendChild(svgEl("path", { d: d, class: "equity-line" }));
    curve.forEach((p, i) => {
      const dot = svgEl("circle", { cx: x(i + 1), cy: y(p.equity), r: 3, class: p.realized >= 0 ? "dot-win" : "dot-loss" });
      dot.appendChild(svgEl("title", {}, p.at.slice(0, 16).replace("T", " ") + " " + p.contract + " " +
        money(p.realized) + " → " + money(p.equity)));
      svg.appendChild(dot);
    });
    const first = curve[0].at.slice(0, 10), last = curve[curve.length - 1].at.slice(0, 10);
    svg.appendChild(svgEl("text", { x: padL, y: H - 6, class: "axis" }, first));
    svg.appendChild(svgEl("text", { x: W - padR, y: H - 6, class: "axis", "text-anchor": "end" }, last));
    box.replaceChildren(svg);
  }

  async function load() {
    const asOf = document.body.dataset.asOf || "";
    const url = "/api/ledger" + (asOf ? "?as_of=" + encodeURIComponent(asOf) : "");
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    const data = await r.json();
    draw(data.equity_curve || []);
  }

  function init() {
    load().catch((e) => {
      const box = document.getElementById("equity");
      if (box) box.textContent = "The chart could not be loaded (" + e.message + ").";
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
