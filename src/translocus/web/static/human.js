/* Human page: orthologs with type and confidence; candidate genes in the human interval with
 * their distance to disease loci; a mouse interval (linked from the Cause page as
 * ?run=&chr=&start=&end=) translated on request. */
"use strict";

function huCard(title, id, note, plot) {
  return h(
    "section",
    { class: "card", id: id + "-card" },
    h("h2", {}, title),
    note ? h("p", { class: "note" }, note) : "",
    h("div", { class: "controls", id: id + "-controls" }),
    plot === false ? "" : h("div", { class: "plot", id: id }),
    h("div", { id: id + "-table" }),
  );
}

async function huDraw(id, path, params) {
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
    await drawFigure(el, answer.figure, { filename: id });
    return answer;
  } catch (err) {
    if (el.dataset.ticket === ticket) message(el, err.message, "error");
    return null;
  }
}

function renderInterval(linkedRun) {
  const state = getState();
  const card = document.getElementById("interval-card");
  const form = h(
    "form",
    { class: "controls", id: "interval-form" },
    h("label", {}, "chr ", h("input", { name: "chr", size: 3, value: state.chr || "" })),
    h("label", {}, "start (Mbp) ", h("input", { name: "start", size: 8, value: state.start || "" })),
    h("label", {}, "end (Mbp) ", h("input", { name: "end", size: 8, value: state.end || "" })),
    h("label", {}, "build ", h("select", { name: "assembly" },
      h("option", { value: "" }, "the run's (else GRCm39)"),
      h("option", { value: "GRCm39" }, "GRCm39"),
      h("option", { value: "GRCm38" }, "GRCm38"))),
    h("button", { type: "submit" }, "Translate"),
  );
  form.elements.assembly.value = state.assembly || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    setState({ chr: data.get("chr"), start: data.get("start"), end: data.get("end"), assembly: data.get("assembly") });
    draw();
  });
  document.getElementById("interval-controls").replaceChildren(form);

  function draw() {
    const s = getState();
    const el = document.getElementById("interval");
    if (!s.chr || !s.start || !s.end) {
      message(el, "give a mouse interval (a peak's support interval, Mbp), or follow a peak's link on the Cause page", "info");
      document.getElementById("interval-table").replaceChildren();
      return;
    }
    const params = { chr: s.chr, start: s.start, end: s.end, assembly: s.assembly, run: linkedRun };
    document.querySelectorAll('div.notes[data-for="interval"]').forEach((n) => n.remove());
    huDraw("interval", "/api/human/interval_figure", params).then((answer) => {
      const heading = document.querySelector("#interval-card h2");
      if (answer && answer.query) {
        const q = answer.query;
        const of = s.trait ? `${s.trait}'s peak, ` : "";
        heading.textContent = `Human candidates of ${of}mouse chr${q.chr}:${q.start}–${q.end} Mbp (${q.assembly})`;
        const notes = (answer.messages || []).map((m) => h("p", { class: "message missing" }, m));
        document.getElementById("interval").after(h("div", { class: "notes", dataset: { for: "interval" } }, notes));
      }
    });
    drawTable(document.getElementById("interval-table"), "/api/human/interval", {
      params: params, name: `candidates_chr${s.chr}_${s.start}-${s.end}`, limit: 15,
    });
  }
  card.hidden = false;
  draw();
}

async function renderRun(runId) {
  const holder = document.getElementById("run-sections");
  holder.replaceChildren();
  if (!runId) {
    holder.append(h("p", { class: "message missing" }, "no translate run is served; give a mouse interval above"));
    return;
  }
  let opts;
  try {
    opts = await api("/api/human/options", { run: runId });
  } catch (err) {
    message(holder, err.message, "error");
    return;
  }
  holder.append(...(opts.messages || []).map((m) => h("p", { class: "message missing" }, m)));
  const files = opts.files || {};
  if (files["peak_summary.csv"]) {
    holder.append(huCard("Translated peaks", "peaks", "Pick a peak to see its candidates.", false));
  }
  if (files["candidates.csv"]) {
    holder.append(huCard("Candidates near disease loci", "candidates", "Top ranked human orthologs; bars: distance to the nearest disease-locus lead SNP (coloured: within the window)."));
  }
  if (files["orthologs.csv"]) holder.append(huCard("Orthologs", "orthologs", "Homology type and confidence of each gene's human orthologs.", false));
  if (files["genes.csv"]) holder.append(huCard("Mouse genes in the interval", "genes", "", false));

  const state = getState();
  const peaks = opts.peaks || [];
  let peak = state.peak !== undefined && peaks.length ? Number(state.peak) : peaks.length ? 0 : null;
  function drawCandidates() {
    if (!files["candidates.csv"]) return;
    setState({ peak: peak });
    huDraw("candidates", "/api/human/candidates_figure", { run: runId, peak: peak });
    drawTable(document.getElementById("candidates-table"), "/api/human/candidates", {
      params: { run: runId, peak: peak }, name: "candidates", limit: 15,
    });
  }
  if (files["peak_summary.csv"]) {
    drawTable(document.getElementById("peaks-table"), "/api/human/peaks", {
      params: { run: runId }, name: "peak_summary", limit: 10,
      onRow: (record, tr) => {
        const i = peaks.findIndex((p) => p.lodcolumn === record.lodcolumn && p.chr === record.chr && p.pos === record.pos);
        peak = i < 0 ? null : i;
        document.querySelectorAll("#peaks-table tr.selected").forEach((r) => r.classList.remove("selected"));
        tr.classList.add("selected");
        drawCandidates();
      },
    });
  }
  drawCandidates();
  if (files["orthologs.csv"]) {
    drawTable(document.getElementById("orthologs-table"), "/api/human/orthologs", { params: { run: runId }, name: "orthologs", limit: 15 });
  }
  if (files["genes.csv"]) {
    drawTable(document.getElementById("genes-table"), "/api/human/genes", { params: { run: runId }, name: "genes", limit: 15 });
  }
}

(async function () {
  const app = document.getElementById("app");
  const linkedRun = getState().run || null;
  app.replaceChildren(
    h("h1", {}, "Human"),
    huCard("Human candidates of a mouse interval", "interval", "Mouse genes of the interval, their human orthologs, ranked by distance to human disease loci (AD GWAS)."),
    h("div", { id: "run-sections" }),
  );
  renderInterval(linkedRun);
  const runId = await runPicker(["translate"], (id) => {
    setState({ peak: null });
    renderRun(id);
  });
  renderRun(runId);
})();
