/* The Cause page: trait search, LOD profiles (genome / chromosome), peaks, allele effects,
 * SNP association, and for eqtl runs the cis/trans map, hotspots and mediation.
 * URL state: run, trait, chr (zoomed chromosome), effects (chromosome of the opened effects).
 */
"use strict";

(function () {
  const app = document.getElementById("app");
  let run = null;
  let summary = null;

  function card(id, title) {
    return h("section", { class: "card", id: id }, title ? h("h2", {}, title) : "");
  }

  function layout() {
    const search = h("div", { class: "search" },
      h("input", { id: "trait-search", type: "search", autocomplete: "off", spellcheck: "false",
        placeholder: "Search a trait…", "aria-label": "Search a trait" }),
      h("ul", { class: "suggestions", id: "trait-suggestions", hidden: true, role: "listbox" }));
    const top = card("search-card");
    top.append(h("h1", {}, "Cause"), search, h("p", { class: "note", id: "run-summary" }));
    const lod = card("lod-card");
    lod.append(
      h("div", { class: "controls" },
        h("label", {}, "view ", h("select", { id: "chr-select", "aria-label": "chromosome" })),
        h("button", { type: "button", id: "genome-button" }, "genome-wide")),
      h("div", { id: "lod-plot", class: "plot" }));
    const peaks = card("peaks-card", "Peaks of the trait");
    peaks.append(h("div", { id: "peaks-table" }));
    const effects = card("effects-card", "Founder allele effects");
    effects.append(h("div", { class: "controls" }, "along the chromosome: ",
      h("label", {}, h("input", { type: "radio", name: "effects-method", value: "coef", checked: true }), " coef"),
      h("label", {}, h("input", { type: "radio", name: "effects-method", value: "blup" }), " BLUP (computed)")),
      h("div", { id: "effects-message" }),
      h("div", { class: "row" }, h("div", { id: "effects-along", class: "plot" }),
        h("div", { id: "effects-peak", class: "plot" })),
      h("div", { id: "effects-table" }));
    const snps = card("snps-card", "SNP association");
    snps.append(h("div", { id: "snps-plot", class: "plot" }), h("div", { id: "snps-table" }));
    const eqtl = card("eqtl-card", "Molecular QTL: cis/trans map and hotspots");
    eqtl.append(h("div", { id: "cistrans-plot", class: "plot" }), h("div", { id: "hotspots-table" }),
      h("div", { id: "mediation" }));
    const all = card("all-peaks-card", "All peaks of the run");
    all.append(h("div", { id: "all-peaks-table" }));
    app.replaceChildren(top, lod, peaks, effects, snps, eqtl, all);
    for (const id of ["lod-card", "peaks-card", "effects-card", "snps-card", "eqtl-card"]) {
      document.getElementById(id).hidden = true;
    }
  }

  /* -- search (type-ahead) ------------------------------------------------------------------ */
  function setupSearch() {
    const input = document.getElementById("trait-search");
    const list = document.getElementById("trait-suggestions");
    let timer = null;
    let active = -1;
    let asked = 0;

    function close() {
      list.hidden = true;
      list.replaceChildren();
      active = -1;
    }
    function mark() {
      [...list.children].forEach((li, i) => li.classList.toggle("active", i === active));
    }
    async function suggest() {
      const ticket = ++asked;
      const answer = await api("/api/cause/traits", { run: run, q: input.value, limit: 20 });
      if (ticket !== asked) return;  // a newer query was typed meanwhile
      list.replaceChildren(...answer.traits.map((t) => h("li", {
        role: "option", dataset: { trait: t.trait },
        onmousedown: (e) => { e.preventDefault(); choose(t.trait); },
      }, t.trait, t.symbol ? ` (${t.symbol})` : "",
      h("span", { class: "note" }, t.max_lod !== null ? `  max LOD ${fmt(t.max_lod, 2)}` : ""))));
      list.dataset.query = answer.query;
      list.hidden = answer.traits.length === 0;
      active = -1;
    }
    function choose(trait) {
      clearTimeout(timer);
      asked += 1;  // drop answers still on their way
      close();
      input.value = trait;
      selectTrait(trait);
    }
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(suggest, 120);
    });
    input.addEventListener("focus", () => { if (!input.value) suggest(); });
    input.addEventListener("blur", () => setTimeout(close, 150));
    input.addEventListener("keydown", (e) => {
      const items = [...list.children];
      if (e.key === "ArrowDown" && items.length) {
        active = Math.min(active + 1, items.length - 1);
        mark();
        e.preventDefault();
      } else if (e.key === "ArrowUp" && items.length) {
        active = Math.max(active - 1, 0);
        mark();
        e.preventDefault();
      } else if (e.key === "Enter") {
        const item = items[active >= 0 ? active : 0];
        if (item) choose(item.dataset.trait);
        e.preventDefault();
      } else if (e.key === "Escape") close();
    });
  }

  /* -- the trait's views ----------------------------------------------------------------------- */
  function selectTrait(trait) {
    setState({ trait: trait, chr: null, effects: null });
    showTrait();
  }

  function showTrait() {
    const state = getState();
    if (!state.trait || !summary) return;  // loadRun shows the trait once the run is read
    document.getElementById("trait-search").value = state.trait;
    for (const id of ["lod-card", "peaks-card"]) document.getElementById(id).hidden = false;
    loadLod();
    loadPeaks();
    loadSnps();
    if (state.effects) loadEffects(state.effects);
    else document.getElementById("effects-card").hidden = true;
  }

  async function loadLod() {
    const state = getState();
    const el = document.getElementById("lod-plot");
    const select = document.getElementById("chr-select");
    select.value = state.chr || "";
    let answer;
    try {
      answer = await api("/api/cause/lod", { run: run, trait: state.trait, chr: state.chr });
    } catch (err) {
      Plotly.purge(el);
      message(el, err.message, err.status === 404 ? "missing" : "error");
      return;
    }
    el.replaceChildren();
    await drawFigure(el, answer.figure, { filename: `${state.trait}_lod${state.chr ? "_chr" + state.chr : ""}` });
    el.dataset.trait = answer.trait;
    el.dataset.chr = answer.chr || "";
    el.removeAllListeners && el.removeAllListeners("plotly_click");
    el.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (!point) return;
      const trace = point.data;
      if (!getState().chr) {
        const chrom = trace.meta && trace.meta.chr ? trace.meta.chr
          : (Array.isArray(point.customdata) ? point.customdata[0] : null);
        if (chrom) zoom(String(chrom));
      } else if (trace.meta && trace.meta.peaks) {
        openEffects(getState().chr);
      }
    });
  }

  function zoom(chrom) {
    setState({ chr: chrom || null });
    loadLod();
  }

  function loadPeaks() {
    const state = getState();
    const el = document.getElementById("peaks-table");
    return drawTable(el, "/api/cause/peaks", {
      name: "peaks", params: { run: run, trait: state.trait }, limit: 20,
      columns: ["trait", "chr", "pos", "lod", "ci_lo", "ci_hi", "human"]
        .filter((c) => c !== "trait"),
      format: {
        human: (value, row) => summary.unit === "Mbp"
          ? h("a", { class: "human-link", href: humanLink(row), onclick: (e) => e.stopPropagation() },
            "human candidates")
          : "",
      },
      onRow: (row) => openEffects(String(row.chr)),
      caption: "Click a peak for its founder allele effects.",
    });
  }

  function humanLink(row) {
    const params = { run: run, chr: row.chr, start: Number(row.ci_lo).toPrecision(6),
      end: Number(row.ci_hi).toPrecision(6), trait: getState().trait };
    if (summary.assembly) params.assembly = summary.assembly;
    return apiUrl("/human", params);
  }

  function setupMethod() {
    const current = getState().method || "coef";
    document.querySelectorAll('input[name="effects-method"]').forEach((input) => {
      input.checked = input.value === current;
      input.onchange = () => {
        setState({ method: input.value === "coef" ? null : input.value });
        const chrom = getState().effects;
        if (chrom) loadEffects(chrom);
      };
    });
  }

  function openEffects(chrom) {
    setState({ effects: chrom });
    loadEffects(chrom);
  }

  async function loadEffects(chrom) {
    const state = getState();
    const cardEl = document.getElementById("effects-card");
    cardEl.hidden = false;
    const note = document.getElementById("effects-message");
    const along = document.getElementById("effects-along");
    const atPeak = document.getElementById("effects-peak");
    Plotly.purge(along);
    Plotly.purge(atPeak);
    along.replaceChildren();
    atPeak.replaceChildren();
    message(note, `chr ${chrom}: loading…`);
    let answer;
    try {
      answer = await api("/api/cause/effects", { run: run, trait: state.trait, chr: chrom, method: state.method || null });
    } catch (err) {
      message(note, err.message, "error");
      return;
    }
    const where = answer.peak ? ` (peak at ${fmt(answer.peak.pos)} ${answer.unit}, LOD ${fmt(answer.peak.lod, 2)})` : "";
    const how = answer.source === "computed" ? "computed on request" : "kept by the run";
    message(note, answer.message || `${state.trait} on chr ${chrom}${where}; ${how}.`,
      answer.source === "none" ? "missing" : "info");
    if (answer.along) await drawFigure(along, answer.along, { filename: `${state.trait}_effects_chr${chrom}` });
    if (answer.at_peak) await drawFigure(atPeak, answer.at_peak, { filename: `${state.trait}_peak_effects_chr${chrom}` });
    drawTable(document.getElementById("effects-table"), "/api/cause/peak_effects", {
      name: "peak_effects", params: { run: run, trait: state.trait }, limit: 40,
    });
    cardEl.scrollIntoView({ block: "nearest" });
  }

  /* -- run-wide views -------------------------------------------------------------------------- */
  async function loadRunViews() {
    drawTable(document.getElementById("all-peaks-table"), "/api/cause/peaks", {
      name: "all_peaks", params: { run: run }, limit: 20,
      onRow: (row) => {
        setState({ trait: row.trait, chr: String(row.chr), effects: String(row.chr) });
        showTrait();
      },
    });
    const eqtl = document.getElementById("eqtl-card");
    eqtl.hidden = summary.kind !== "eqtl";
    if (summary.kind === "eqtl") {
      const plot = document.getElementById("cistrans-plot");
      try {
        const fig = await api("/api/cause/cistrans", { run: run });
        await drawFigure(plot, fig, { filename: "cistrans" });
      } catch (err) {
        message(plot, err.message, "missing");
      }
      const spots = document.getElementById("hotspots-table");
      if (summary.has_hotspots) {
        drawTable(spots, "/api/cause/hotspots", { name: "hotspots", params: { run: run }, caption: "Trans hotspots" });
      } else message(spots, "this run found no trans hotspots", "missing");
    }
    const mediation = document.getElementById("mediation");
    mediation.replaceChildren();
    for (const id of summary.mediate_runs || []) {
      const box = h("div", {});
      mediation.append(h("h2", {}, `Mediation (${id})`), box);
      drawTable(box, "/api/cause/mediation", { name: "mediation", params: { run: id } });
    }
  }

  async function loadSnps() {
    const trait = getState().trait;
    const snps = document.getElementById("snps-card");
    const mine = (summary.snps_runs || []).filter((r) => r.trait === trait);
    snps.hidden = !mine.length;
    if (!mine.length) return;
    const id = mine[0].id;
    try {
      const answer = await api("/api/cause/snps", { run: id });
      await drawFigure(document.getElementById("snps-plot"), answer.figure, { filename: `${trait}_snp_assoc` });
      drawTable(document.getElementById("snps-table"), "/api/cause/top_snps", { name: "top_snps", params: { run: id } });
    } catch (err) {
      message(document.getElementById("snps-plot"), err.message, "missing");
    }
  }

  async function loadRun(id) {
    run = id;
    const line = document.getElementById("run-summary");
    try {
      summary = await api("/api/cause/summary", { run: run });
    } catch (err) {
      message(line, err.message, "error");
      return;
    }
    const what = summary.kind === "eqtl" ? "molecular traits" : "traits";
    line.textContent = `${fmt(summary.n_traits)} ${what}, ${fmt(summary.n_peaks)} peaks` +
      (summary.n_markers ? `, ${fmt(summary.n_markers)} markers (${summary.unit})` : "") +
      (summary.assembly ? `, ${summary.assembly}` : "") +
      (summary.has_profiles ? "" : "; LOD profiles were not kept (eqtl --keep-lod)");
    const select = document.getElementById("chr-select");
    select.replaceChildren(h("option", { value: "" }, "genome"),
      ...(summary.chromosomes || []).map((c) => h("option", { value: c }, `chr ${c}`)));
    select.onchange = () => zoom(select.value);
    document.getElementById("genome-button").onclick = () => zoom("");
    setupMethod();
    loadRunViews();
    showTrait();
  }

  async function start() {
    layout();
    setupSearch();
    const id = await runPicker(["scan", "eqtl"], (chosen) => {
      setState({ trait: null, chr: null, effects: null, method: null });
      layout();
      setupSearch();
      loadRun(chosen);
    });
    if (!id) {
      message(app, "No scan or eqtl run is served; give one to translocus serve.", "missing");
      return;
    }
    loadRun(id);
  }

  start();
})();
