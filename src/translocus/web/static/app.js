/* translocus viewer: helpers shared by every page (no framework, no internet).
 *
 *   api(path, params)         -> Promise of the JSON answer (throws Error(detail) on 4xx/5xx)
 *   apiUrl(path, params)      -> the URL string
 *   drawFigure(el, fig, opts) -> Plotly.newPlot with PNG and SVG download buttons
 *   drawTable(el, url, opts)  -> a paged table of an /api table endpoint + "Download CSV"
 *   getState(), setState({}) -> the page's URL query (history.replaceState: shareable URLs)
 *   runPicker(commands, onChange) -> fills the nav's run picker; Promise of the chosen run id
 *   h(tag, attrs, ...children), message(el, text, kind), fmt(x, digits)
 */
"use strict";

function apiUrl(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === "") continue;
    url.searchParams.set(key, String(value));
  }
  return url.pathname + url.search;
}

async function api(path, params) {
  const response = await fetch(apiUrl(path, params), {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok) {
    let detail = body && body.detail !== undefined ? body.detail : response.statusText;
    if (Array.isArray(detail)) {
      detail = detail.map((d) => (d.loc ? d.loc.slice(-1)[0] + ": " : "") + d.msg).join("; ");
    }
    const error = new Error(String(detail));
    error.status = response.status;
    throw error;
  }
  return body;
}

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function message(el, text, kind) {
  el.replaceChildren(h("p", { class: "message " + (kind || "info"), role: "status" }, text));
}

function fmt(x, digits) {
  if (x === null || x === undefined || x === "") return "";
  if (typeof x !== "number") return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return x.toLocaleString("en-US");
  const d = digits === undefined ? 3 : digits;
  const a = Math.abs(x);
  if (a !== 0 && (a < 10 ** -d || a >= 1e6)) return x.toExponential(Math.max(d - 1, 1));
  return x.toFixed(d);
}

/* -- URL state ---------------------------------------------------------------------------- */
function getState() {
  const state = {};
  for (const [key, value] of new URLSearchParams(window.location.search)) state[key] = value;
  return state;
}

function setState(changes) {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(changes || {})) {
    if (value === null || value === undefined || value === "") params.delete(key);
    else params.set(key, String(value));
  }
  const query = params.toString();
  const url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
  window.history.replaceState(null, "", url);
  return getState();
}

/* -- figures ------------------------------------------------------------------------------ */
function drawFigure(el, fig, opts) {
  const options = opts || {};
  const filename = options.filename || el.id || "figure";
  const svgButton = {
    name: "Download plot as SVG",
    icon: Plotly.Icons.disk,
    click: (gd) => Plotly.downloadImage(gd, { format: "svg", filename: filename }),
  };
  const config = {
    responsive: true,
    displaylogo: false,
    toImageButtonOptions: { format: "png", filename: filename, scale: 2 },
    modeBarButtonsToAdd: [svgButton],
    modeBarButtonsToRemove: ["lasso2d", "select2d", "sendChartToCloud"],
    showSendToCloud: false,  // the viewer sends nothing anywhere
    showEditInChartStudio: false,
  };
  const layout = Object.assign({ margin: { t: 40, r: 20, b: 50, l: 60 } }, fig.layout || {});
  return Plotly.newPlot(el, fig.data || [], layout, config);
}

/* -- tables ------------------------------------------------------------------------------- */
function drawTable(el, url, opts) {
  const options = opts || {};
  const params = Object.assign({}, options.params || {});
  const limit = options.limit || 25;
  let offset = options.offset || 0;
  const name = options.name || "table";
  const wrap = h("div", { class: "table-wrap", dataset: { table: name } });
  el.replaceChildren(wrap);

  async function load() {
    let page;
    try {
      page = await api(url, Object.assign({}, params, { offset: offset, limit: limit }));
    } catch (err) {
      message(wrap, err.message, "error");
      return null;
    }
    const columns = options.columns || page.columns;
    const head = h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)));
    const body = page.rows.map((row) => {
      const record = Object.fromEntries(page.columns.map((c, i) => [c, row[i]]));
      const cells = columns.map((c) => {
        const value = record[c];
        const format = options.format && options.format[c];
        const shown = format ? format(value, record) : fmt(value);
        const numeric = typeof value === "number";
        return h("td", { class: numeric ? "num" : null }, shown);
      });
      const tr = h("tr", {}, cells);
      if (options.onRow) {
        tr.classList.add("clickable");
        tr.tabIndex = 0;
        tr.addEventListener("click", () => options.onRow(record, tr));
        tr.addEventListener("keydown", (e) => {
          if (e.key === "Enter") options.onRow(record, tr);
        });
      }
      return tr;
    });
    const first = page.total ? page.offset + 1 : 0;
    const last = page.offset + page.rows.length;
    const csv = apiUrl(url, Object.assign({}, params, { format: "csv" }));
    const pager = h(
      "div",
      { class: "pager" },
      h("button", { type: "button", class: "prev", disabled: offset === 0, onclick: () => {
        offset = Math.max(0, offset - limit);
        load();
      } }, "‹ previous"),
      h("span", { class: "count" }, `rows ${fmt(first)}–${fmt(last)} of ${fmt(page.total)}`),
      h("button", { type: "button", class: "next", disabled: last >= page.total, onclick: () => {
        offset += limit;
        load();
      } }, "next ›"),
      h("a", { class: "csv", href: csv, download: name + ".csv" }, "Download CSV"),
    );
    wrap.replaceChildren(
      options.caption ? h("p", { class: "caption" }, options.caption) : "",
      h("table", { class: "data" }, h("thead", {}, head), h("tbody", {}, body)),
      pager,
    );
    if (options.onLoad) options.onLoad(page);
    return page;
  }
  return load();
}

/* -- the navigation's run picker ------------------------------------------------------------ */
async function runPicker(commands, onChange) {
  const select = document.getElementById("run-picker");
  const wanted = commands && commands.length ? commands : null;
  const runs = (await api("/api/runs")).filter((r) => !wanted || wanted.includes(r.command));
  select.replaceChildren(...runs.map((r) => h("option", { value: r.id }, `${r.id} (${r.command})`)));
  const state = getState();
  let chosen = runs.find((r) => r.id === state.run);
  if (!chosen && runs.length) chosen = runs[0];
  if (!chosen) {
    select.disabled = true;
    return null;
  }
  select.value = chosen.id;
  if (state.run !== chosen.id) setState({ run: chosen.id });
  select.onchange = () => {
    setState({ run: select.value });
    if (onChange) onChange(select.value);
  };
  return chosen.id;
}
