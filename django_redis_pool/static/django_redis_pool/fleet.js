// The fleet page's refresh: every few seconds, read ?format=json, redraw each alias's table and add a
// point to its charts (inline SVG polylines). The series live in this page only, since it was opened.
// No dependencies and no build step; DOM text only (textContent), never HTML from the server.
"use strict";

(function () {
  const root = document.getElementById("fleet");
  if (!root || root.dataset.enabled !== "true") {
    return;
  }
  const url = root.dataset.url;
  const refreshMs = Number(root.dataset.refresh) * 1000;
  const KEEP = 120; // points per chart: ten minutes at the default 5 s
  const WIDTH = 240;
  const HEIGHT = 60;
  const series = {}; // alias -> metric -> [number]

  function cells(row, columns) {
    return columns.map((column) => {
      const value = row[column];
      if (Array.isArray(value)) return value.join(", ");
      return value === undefined || value === null ? "" : String(value);
    });
  }

  function tableRow(values, className) {
    const tr = document.createElement("tr");
    if (className) tr.className = className;
    for (const value of values) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.appendChild(td);
    }
    return tr;
  }

  function drawTable(sectionElement, section, columns) {
    const body = sectionElement.querySelector("tbody");
    const foot = sectionElement.querySelector("tfoot");
    body.replaceChildren();
    foot.replaceChildren();
    for (const row of section.rows) {
      const flagged = row.flags.length > 0 || row.exhausted > 0; // as the page's first draw
      body.appendChild(tableRow(cells(row, columns), flagged ? "flagged" : ""));
    }
    if (!section.rows.length) {
      const tr = tableRow(["No process publishes this alias."], "empty");
      tr.firstChild.colSpan = columns.length;
      body.appendChild(tr);
    }
    if (section.totals) {
      const totals = Object.assign({}, section.totals, { host: section.rows.length + " processes" });
      foot.appendChild(tableRow(cells(totals, columns), ""));
    }
  }

  // Across the whole width (the first point at the left, the newest at the right), scaled to the
  // largest value shown (at least 1).
  function drawChart(svg, values) {
    const top = Math.max(1, ...values);
    const step = WIDTH / Math.max(1, values.length - 1);
    const points = values.map((value, index) => {
      const x = step * index;
      const y = HEIGHT - 2 - (value / top) * (HEIGHT - 4);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    svg.querySelector("polyline").setAttribute("points", points.join(" "));
    svg.dataset.points = String(values.length);
  }

  function record(alias, chart) {
    const perMetric = series[alias] || (series[alias] = {});
    for (const metric of Object.keys(chart)) {
      const values = perMetric[metric] || (perMetric[metric] = []);
      values.push(Number(chart[metric]));
      if (values.length > KEEP) values.shift();
    }
  }

  function draw(doc) {
    for (const sectionElement of root.querySelectorAll("section.alias")) {
      const alias = sectionElement.dataset.alias;
      const section = doc.aliases[alias];
      if (!section) continue;
      record(alias, section.chart);
      drawTable(sectionElement, section, doc.columns);
      for (const svg of sectionElement.querySelectorAll("svg[data-metric]")) {
        drawChart(svg, series[alias][svg.dataset.metric]);
      }
      for (const latest of sectionElement.querySelectorAll(".latest[data-metric]")) {
        latest.textContent = String(section.chart[latest.dataset.metric]);
      }
    }
    const skipped = document.getElementById("fleet-skipped");
    skipped.replaceChildren(...doc.skipped.map((line) => {
      const li = document.createElement("li");
      li.textContent = line;
      return li;
    }));
  }

  function showError(message) {
    const error = document.getElementById("fleet-error");
    error.textContent = message || "";
    error.hidden = !message;
  }

  async function refresh() {
    const status = document.getElementById("fleet-status");
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.status === 403) throw new Error("not allowed any more: log in again");
      const doc = await response.json();
      showError(doc.error);
      if (!doc.error) draw(doc);
      status.textContent = "Updated " + new Date().toLocaleTimeString() + "; refreshing every " + refreshMs / 1000 + " s.";
    } catch (error) {
      showError("Refresh failed: " + error.message);
    } finally {
      window.setTimeout(refresh, refreshMs);
    }
  }

  refresh();
})();
