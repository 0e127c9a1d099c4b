// Small SVG charts for the operators' console: stacked bars and a line, no library.
// Everything is drawn with SVG elements and presentation attributes (no inline style: the page's
// Content-Security-Policy forbids it). Each mark carries a <title>, so hovering shows its figure.
"use strict";

(function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 640;
  const H = 260;
  const PAD = { top: 16, right: 16, bottom: 48, left: 48 };

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, attrs) {
    const node = el("text", Object.assign({ x, y, "font-size": 11, fill: "#57606a" }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }

  // A "nice" axis maximum and step: 1, 2 or 5 times a power of ten.
  function niceScale(max, ticks) {
    if (!(max > 0)) return { max: 1, step: 1 / ticks };
    const rough = max / ticks;
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
    return { max: step * Math.ceil(max / step), step };
  }

  function frame(container, label) {
    container.replaceChildren();
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": label }, container);
    return svg;
  }

  function yAxis(svg, scale, format) {
    const plotH = H - PAD.top - PAD.bottom;
    for (let v = 0; v <= scale.max + scale.step / 2; v += scale.step) {
      const y = PAD.top + plotH - (v / scale.max) * plotH;
      el("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, stroke: "#d0d7de", "stroke-width": 1 }, svg);
      text(svg, PAD.left - 6, y + 4, format(v), { "text-anchor": "end" });
    }
  }

  // Day labels: at most ~10 along the axis, "MM-DD".
  function xLabels(svg, labels, xOf) {
    const every = Math.max(1, Math.ceil(labels.length / 10));
    labels.forEach((label, i) => {
      if (i % every !== 0 && i !== labels.length - 1) return;
      text(svg, xOf(i), H - PAD.bottom + 16, label.slice(5), { "text-anchor": "middle" });
    });
  }

  function legend(svg, series) {
    let x = PAD.left;
    for (const s of series) {
      el("rect", { x, y: H - 18, width: 10, height: 10, fill: s.color, rx: 2 }, svg);
      const t = text(svg, x + 14, H - 9, s.name);
      x += 28 + s.name.length * 12;
      t.setAttribute("data-series", s.name);
    }
  }

  // labels: ["2026-11-01", ...]; series: [{name, color, values: [int per label]}] stacked bottom-up.
  function stackedBars(container, { labels, series, label }) {
    const svg = frame(container, label || "");
    const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
    const scale = niceScale(Math.max(0, ...totals), 4);
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const slot = plotW / Math.max(1, labels.length);
    const barW = Math.max(2, slot * 0.7);
    const xOf = (i) => PAD.left + slot * i + slot / 2;
    yAxis(svg, scale, (v) => String(Math.round(v)));
    labels.forEach((day, i) => {
      let base = 0;
      for (const s of series) {
        const value = s.values[i] || 0;
        if (value <= 0) continue;
        const h = (value / scale.max) * plotH;
        const y = PAD.top + plotH - ((base + value) / scale.max) * plotH;
        const rect = el("rect", { x: xOf(i) - barW / 2, y, width: barW, height: h, fill: s.color }, svg);
        rect.setAttribute("data-day", day);
        el("title", {}, rect).textContent = `${day} ${s.name}：${value}`;
        base += value;
      }
    });
    xLabels(svg, labels, xOf);
    legend(svg, series);
    if (totals.every((t) => t === 0)) {
      text(svg, W / 2, PAD.top + plotH / 2, "所选日期内没有消息", { "text-anchor": "middle", "font-size": 14 });
    }
    return svg;
  }

  // labels as above; values: rates in 0..1 or null (no denominator: the line breaks there).
  function line(container, { labels, values, label, color }) {
    const svg = frame(container, label || "");
    const stroke = color || "#0969da";
    const present = values.filter((v) => v !== null && v !== undefined);
    const scale = niceScale(Math.max(0.1, ...present), 4);
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const step = labels.length > 1 ? plotW / (labels.length - 1) : 0;
    const xOf = (i) => PAD.left + (labels.length > 1 ? step * i : plotW / 2);
    const yOf = (v) => PAD.top + plotH - (v / scale.max) * plotH;
    yAxis(svg, scale, (v) => `${Math.round(v * 100)}%`);
    let path = "";
    let pen = false;
    values.forEach((v, i) => {
      if (v === null || v === undefined) {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${xOf(i).toFixed(1)},${yOf(v).toFixed(1)}`;
      pen = true;
    });
    if (path) el("path", { d: path, fill: "none", stroke, "stroke-width": 2, "stroke-linejoin": "round" }, svg);
    values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const dot = el("circle", { cx: xOf(i), cy: yOf(v), r: 3, fill: stroke }, svg);
      dot.setAttribute("data-day", labels[i]);
      el("title", {}, dot).textContent = `${labels[i]} 打开率：${(v * 100).toFixed(1)}%`;
    });
    xLabels(svg, labels, xOf);
    if (!present.length) {
      text(svg, W / 2, PAD.top + plotH / 2, "所选日期内没有已发送的消息", { "text-anchor": "middle", "font-size": 14 });
    }
    return svg;
  }

  window.LvyueCharts = { stackedBars, line, niceScale };
})();
