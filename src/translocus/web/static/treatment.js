/* Treatment page: spider plots per arm, waterfall of best response coloured by mRECIST,
 * growth-model fits with treatment effects, synergy; lifespan effects per drug and sex. */
"use strict";

function trCard(title, id, note) {
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

async function trDraw(id, path, params, key) {
  const el = document.getElementById(id);
  // Only the latest request of a plot draws: an older answer arriving late is dropped.
  const ticket = String(Number(el.dataset.ticket || 0) + 1);
  el.dataset.ticket = ticket;
  document.querySelectorAll(`div.notes[data-for="${id}"]`).forEach((n) => n.remove());
  try {
    const answer = await api(path, params);
    if (el.dataset.ticket !== ticket) return null;
    const fig = answer[key || "figure"];
    if (!fig) {
      message(el, (answer.messages || []).join(" ") || "nothing to draw", "missing");
      return answer;
    }
    await drawFigure(el, fig, { filename: id });
    const notes = (answer.messages || []).map((m) => h("p", { class: "message missing" }, m));
    if (notes.length && !key) el.after(h("div", { class: "notes", dataset: { for: id } }, notes));
    return answer;
  } catch (err) {
    if (el.dataset.ticket === ticket) message(el, err.message, "error");
    return null;
  }
}

function trSelect(id, label, values, current, onChange, blank) {
  const options = (blank ? [h("option", { value: "" }, blank)] : []).concat(
    values.map((v) => h("option", { value: v }, v)),
  );
  const select = h("select", { id: id, name: id }, options);
  if (current && (values.includes(current) || current === "")) select.value = current;
  select.addEventListener("change", () => onChange(select.value));
  return h("label", {}, label + " ", select);
}

function renderRespond(runId, opts) {
  const app = document.getElementById("app");
  app.append(
    h("div", { class: "controls", id: "treatment-controls" }),
    trCard("Spider plot", "spider", "Volume change from baseline (%) of each animal: one model's arms, or one arm across models."),
    trCard("Waterfall", "waterfall", "Best (average) response of each series, sorted, coloured by mRECIST."),
    trCard("Growth fits", "fits", "The model's fitted growth curves over its measured volumes."),
    trCard("Treatment effects", "effects", "Difference in growth rate (treated − control) with 95% intervals."),
    trCard("Synergy", "synergy", "Bliss and HSA excess of combinations; below 0: synergy."),
    h("section", { class: "card" }, h("h2", {}, "mRECIST by tumour type"), h("div", { id: "categories" })),
  );
  const state = getState();
  const models = opts.models || [];
  const arms = opts.arms || [];
  const preferred = (opts.synergy_models || []).find((m) => models.includes(m));
  let model = models.includes(state.model) ? state.model : preferred || models[0];
  let arm = arms.includes(state.arm) ? state.arm : arms[0];
  let tumour = (opts.tumor_types || []).includes(state.tumor_type) ? state.tumor_type : "";
  let value = (opts.values || []).includes(state.value) ? state.value : (opts.values || [])[0];
  let spiderOf = state.spider === "arm" ? "arm" : "model";

  function drawSpider() {
    setState({ spider: spiderOf === "arm" ? "arm" : null });
    const params = spiderOf === "arm" ? { run: runId, arm: arm } : { run: runId, model: model };
    trDraw("spider", "/api/treatment/spider", params);
  }

  function drawModel() {
    setState({ model: model });
    if (spiderOf === "model") drawSpider();
    trDraw("fits", "/api/treatment/fits", { run: runId, model: model }).then((answer) => {
      if (!answer) return; // an older model's answer, or an error shown in the fits plot
      const el = document.getElementById("effects");
      if (answer && answer.effects) drawFigure(el, answer.effects, { filename: "effects" });
      else message(el, "no treatment effects for this model", "missing");
    });
    drawTable(document.getElementById("fits-table"), "/api/treatment/growth_fits", {
      params: { run: runId, model: model }, name: "growth_fits", limit: 10,
    });
    drawTable(document.getElementById("effects-table"), "/api/treatment/effects", {
      params: { run: runId, model: model }, name: "treatment_effects", limit: 10,
    });
    if ((opts.synergy_models || []).includes(model)) {
      trDraw("synergy", "/api/treatment/synergy_figure", { run: runId, model: model });
      drawTable(document.getElementById("synergy-table"), "/api/treatment/synergy", {
        params: { run: runId, model: model }, name: "synergy", limit: 10,
      });
    } else {
      message(document.getElementById("synergy"), `model ${model} has no combination arms`, "missing");
      document.getElementById("synergy-table").replaceChildren();
    }
  }

  function drawArm() {
    setState({ arm: arm, tumor_type: tumour || null, value: value });
    if (spiderOf === "arm") drawSpider();
    trDraw("waterfall", "/api/treatment/waterfall", { run: runId, arm: arm, tumor_type: tumour, value: value });
    drawTable(document.getElementById("waterfall-table"), "/api/treatment/metrics", {
      params: { run: runId, arm: arm, tumor_type: tumour }, name: "metrics", limit: 10,
    });
  }

  document.getElementById("treatment-controls").replaceChildren(
    trSelect("model", "model", models, model, (v) => { model = v; drawModel(); }),
  );
  const spiderSelect = h("select", { id: "spider-of", name: "spider-of" },
    h("option", { value: "model" }, "the model's arms (coloured by arm)"),
    h("option", { value: "arm" }, "the waterfall's arm across models (coloured by mRECIST)"));
  spiderSelect.value = spiderOf;
  spiderSelect.addEventListener("change", () => { spiderOf = spiderSelect.value; drawSpider(); });
  document.getElementById("spider-controls").replaceChildren(h("label", {}, "lines of ", spiderSelect));
  document.getElementById("waterfall-controls").replaceChildren(
    trSelect("arm", "arm", arms, arm, (v) => { arm = v; drawArm(); }),
    trSelect("tumor_type", "tumour type", opts.tumor_types || [], tumour, (v) => { tumour = v; drawArm(); }, "all"),
    trSelect("value", "value", opts.values || [], value, (v) => { value = v; drawArm(); }),
  );
  drawModel();
  drawArm();
  drawTable(document.getElementById("categories"), "/api/treatment/categories", {
    params: { run: runId }, name: "categories", limit: 20,
  });
}

function renderLifespan(runId, opts) {
  const app = document.getElementById("app");
  app.append(trCard("Lifespan effects", "lifespan", "Effect of each drug on lifespan per sex (and pooled) with 95% intervals."));
  const state = getState();
  let value = (opts.values || []).includes(state.value) ? state.value : "hr";
  let drug = (opts.drugs || []).includes(state.drug) ? state.drug : "";
  function draw() {
    setState({ value: value, drug: drug || null });
    trDraw("lifespan", "/api/treatment/lifespan", { run: runId, value: value, drug: drug });
    drawTable(document.getElementById("lifespan-table"), "/api/treatment/lifespan_effects", {
      params: { run: runId, drug: drug }, name: "lifespan_effects", limit: 20,
    });
  }
  document.getElementById("lifespan-controls").replaceChildren(
    trSelect("value", "effect", opts.values || [], value, (v) => { value = v; draw(); }),
    trSelect("drug", "drug", opts.drugs || [], drug, (v) => { drug = v; draw(); }, "all"),
  );
  draw();
}

async function render(runId) {
  const app = document.getElementById("app");
  app.replaceChildren(h("h1", {}, "Treatment"));
  if (!runId) {
    message(app, "no respond or lifespan run is served", "missing");
    return;
  }
  let opts;
  try {
    opts = await api("/api/treatment/options", { run: runId });
  } catch (err) {
    message(app, err.message, "error");
    return;
  }
  app.append(h("div", { class: "notes", id: "run-notes" }, (opts.messages || []).map((m) => h("p", { class: "message missing" }, m))));
  if (opts.kind === "lifespan") renderLifespan(runId, opts);
  else renderRespond(runId, opts);
}

(async function () {
  const runId = await runPicker(["respond", "lifespan"], (id) => {
    setState({ model: null, arm: null, tumor_type: null, value: null, drug: null, spider: null });
    render(id);
  });
  render(runId);
})();
