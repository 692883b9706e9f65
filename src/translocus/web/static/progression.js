/* Progression page: group trajectories against controls with onset ages; one animal's
 * measurements and forecast; survival curves with numbers at risk and hazard ratios. */
"use strict";

function progCard(title, id, note) {
  return h(
    "section",
    { class: "card", id: id + "-card" },
    h("h2", {}, title),
    note ? h("p", { class: "note" }, note) : "",
    h("div", { class: "controls", id: id + "-controls" }),
    h("div", { class: "plot", id: id }),
    h("div", { id: id + "-table" }),
  );
}

function withWhere(path, where) {
  const query = new URLSearchParams();
  for (const [column, value] of Object.entries(where || {})) query.append("where", column + "=" + value);
  const text = query.toString();
  return text ? path + "?" + text : path;
}

async function drawInto(id, path, params, filename) {
  const el = document.getElementById(id);
  // Only the latest request of a plot draws: an older answer arriving late is dropped.
  const ticket = String(Number(el.dataset.ticket || 0) + 1);
  el.dataset.ticket = ticket;
  try {
    const answer = await api(path, params);
    if (el.dataset.ticket !== ticket) return null;
    if (!answer.figure) {
      message(el, (answer.messages || []).join(" ") || "nothing to draw", "missing");
      return answer;
    }
    await drawFigure(el, answer.figure, { filename: filename || id });
    const notes = (answer.messages || []).map((m) => h("p", { class: "message missing" }, m));
    if (notes.length) el.after(h("div", { class: "notes", dataset: { for: id } }, notes));
    return answer;
  } catch (err) {
    if (el.dataset.ticket === ticket) message(el, err.message, "error");
    return null;
  }
}

function selectBox(id, label, values, current, onChange, labels) {
  const select = h(
    "select",
    { id: id, name: id },
    values.map((v, i) => h("option", { value: v }, labels ? labels[i] : v)),
  );
  if (current !== undefined && current !== null && values.includes(current)) select.value = current;
  select.addEventListener("change", () => onChange(select.value));
  return h("label", {}, label + " ", select);
}

function clearNotes(id) {
  document.querySelectorAll(`div.notes[data-for="${id}"]`).forEach((n) => n.remove());
}

async function renderTrajectory(runId, opts) {
  const state = getState();
  const keys = Object.keys(opts.panels[0] || {});
  const labels = opts.panels.map((p) => keys.map((k) => p[k]).filter((v) => v !== null).join(" · "));
  let chosen = opts.panels.findIndex((p) => keys.every((k) => state[k] === undefined || String(p[k]) === state[k]));
  if (chosen < 0) chosen = 0;

  function draw(i) {
    const panel = opts.panels[i];
    const changes = {};
    for (const k of keys) changes[k] = panel[k];
    setState(changes);
    const where = {};
    for (const k of keys) if (k !== "measure" && k !== "tissue") where[k] = panel[k];
    const base = { run: runId, measure: panel.measure, tissue: panel.tissue };
    clearNotes("trajectory");
    drawInto("trajectory", withWhere("/api/progression/trajectory", where), base, "trajectory");
    drawTable(document.getElementById("trajectory-table"), withWhere("/api/progression/curves", where), {
      params: base, name: "curves", limit: 10, caption: "curves (mean and intervals by age)",
    });
    drawTable(document.getElementById("onsets"), "/api/progression/onsets", {
      params: { run: runId, measure: panel.measure, tissue: panel.tissue }, name: "onsets", limit: 10,
    });
    drawTable(document.getElementById("effects"), "/api/progression/effects", {
      params: { run: runId, measure: panel.measure, tissue: panel.tissue }, name: "effects", limit: 10,
    });
  }

  const values = opts.panels.map((_, i) => String(i));
  document.getElementById("trajectory-controls").replaceChildren(
    selectBox("panel", "panel", values, String(chosen), (v) => draw(Number(v)), labels),
    opts.control ? h("span", { class: "note" }, ` control: ${opts.control}; curves per ${opts.trace}`) : "",
  );
  draw(chosen);
}

function renderAnimal(runId, opts) {
  const el = document.getElementById("animal");
  const animals = opts.animals || [];
  if (!animals.length) {
    message(el, "no animals to show: this run has neither measurements.parquet nor a forecast table", "missing");
    return;
  }
  const state = getState();
  const first = animals.includes(state.animal) ? state.animal : animals[0];

  async function draw(animal, measure) {
    setState({ animal: animal, animal_measure: measure || null });
    clearNotes("animal");
    const answer = await drawInto("animal", "/api/progression/animal", { run: runId, animal: animal, measure: measure }, "animal");
    const controls = document.getElementById("animal-controls");
    const parts = [selectBox("animal-select", "animal", animals, animal, (a) => draw(a, null))];
    if (answer && answer.measures && answer.measures.length > 1) {
      parts.push(selectBox("animal-measure", "measure", answer.measures, answer.measure, (m) => draw(animal, m)));
    }
    controls.replaceChildren(...parts);
    if (opts.files["forecast.csv"] || opts.files["forecasts.csv"]) {
      drawTable(document.getElementById("animal-table"), "/api/progression/forecast", {
        params: { run: runId, animal: animal }, name: "forecast", limit: 10, caption: "forecast",
      });
    }
  }
  draw(first, state.animal_measure || null);
}

function renderSurvival(runId, opts) {
  const app = document.getElementById("app");
  app.append(
    progCard("Survival", "survival", "Kaplan–Meier curves with 95% bands; numbers at risk underneath."),
    progCard("Hazard ratios", "hazards", "Cox model: hazard ratios with 95% intervals."),
  );
  drawInto("survival", "/api/progression/survival", { run: runId }, "survival");
  drawTable(document.getElementById("survival-table"), "/api/progression/km", {
    params: { run: runId }, name: opts.files["km.csv"] ? "km" : "km_summary", limit: 10,
    caption: opts.files["km.csv"] ? "Kaplan–Meier curves" : "km_summary.csv: medians and restricted means",
  });
  drawInto("hazards", "/api/progression/hazards", { run: runId }, "hazard_ratios");
  if (opts.files["cox.csv"]) {
    drawTable(document.getElementById("hazards-table"), "/api/progression/cox", {
      params: { run: runId }, name: "cox", limit: 20,
    });
  }
}

async function render(runId) {
  const app = document.getElementById("app");
  app.replaceChildren(h("h1", {}, "Progression"));
  if (!runId) {
    message(app, "no progress or survival run is served", "missing");
    return;
  }
  let opts;
  try {
    opts = await api("/api/progression/options", { run: runId });
  } catch (err) {
    message(app, err.message, "error");
    return;
  }
  app.append(h("div", { class: "notes", id: "run-notes" }, (opts.messages || []).map((m) => h("p", { class: "message missing" }, m))));
  if (opts.kind === "survival") {
    renderSurvival(runId, opts);
    return;
  }
  if (opts.kind === "trajectory") {
    app.append(
      progCard("Trajectories", "trajectory", "Mean curves per group with 95% bands (50% in the table); triangles mark onset ages with their bootstrap intervals."),
      h("section", { class: "card" }, h("h2", {}, "Onset ages"), h("div", { id: "onsets" })),
      h("section", { class: "card" }, h("h2", {}, "Effects against the control"), h("div", { id: "effects" })),
    );
    renderTrajectory(runId, opts);
  }
  app.append(progCard("One animal", "animal", "Measurements of one animal with its forecast and interval."));
  renderAnimal(runId, opts);
}

(async function () {
  const runId = await runPicker(["progress", "survival"], (id) => {
    setState({ measure: null, tissue: null, animal: null, animal_measure: null });
    render(id);
  });
  render(runId);
})();
