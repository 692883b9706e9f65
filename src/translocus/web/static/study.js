/* Study page: the runs served (run.json: command, versions, inputs, steps, warnings), their
 * files with links into the page that shows them, the datasets used and their licences. */
"use strict";

function studyCard(title, id, note) {
  return h(
    "section",
    { class: "card", id: id + "-card" },
    h("h2", {}, title),
    note ? h("p", { class: "note" }, note) : "",
    h("div", { id: id }),
  );
}

function pageLink(value) {
  if (!value) return "";
  return h("a", { href: value }, value.split("?")[0].slice(1) || "study");
}

function renderRunDetail(el, runId) {
  el.replaceChildren(h("p", { class: "note" }, "loading " + runId + " …"));
  api("/api/study/run", { run: runId })
    .then((run) => {
      const rows = [
        ["run", run.run],
        ["command", run.recorded_command === run.command ? run.command
          : `${run.command} (files of a part of a ${run.recorded_command} run)`],
        ["command line", (run.argv || []).join(" ")],
        ["translocus", run.version],
        ["python", run.python],
        ["platform", run.platform],
        ["started", run.started],
        ["finished", run.finished],
        ["wall / CPU seconds", run.wall_s !== undefined ? `${fmt(run.wall_s, 1)} / ${fmt(run.cpu_s, 1)}` : ""],
        ["page", h("a", { href: run.page }, run.page)],
      ];
      if (run.part_of) rows.push(["part of", h("a", { href: "/study?run=" + run.part_of }, run.part_of)]);
      const facts = h(
        "table",
        { class: "data facts", id: "run-facts" },
        h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v)))),
      );
      const options = h("pre", { class: "options" }, JSON.stringify(run.options || {}, null, 1));
      const tables = ["inputs", "steps", "warnings", "rows", "licence_decisions"].map((key) => {
        const div = h("div", { id: "run-" + key });
        drawTable(div, "/api/study/record", {
          params: { run: runId, key: key }, name: key, limit: 10,
          caption: key.replace("_", " "),
        });
        return div;
      });
      const files = h("div", { id: "run-files" });
      drawTable(files, "/api/study/files", {
        params: { run: runId }, name: "files", limit: 25, caption: "files",
        format: { page: (v) => pageLink(v), size: (v) => (typeof v === "number" ? fmt(v) + " B" : "") },
      });
      el.replaceChildren(facts, h("p", { class: "note" }, "options"), options, files, ...tables);
    })
    .catch((err) => message(el, err.message, "error"));
}

async function main() {
  const app = document.getElementById("app");
  app.replaceChildren(
    h("h1", {}, "Study"),
    studyCard("Runs", "runs", "Every run served; pick one to see its run.json and its files."),
    studyCard("Run", "run-detail"),
    studyCard("Datasets used", "datasets", "Provenance recorded by the runs: source, licence, citation."),
    studyCard("Licences", "licenses", "The licence gate's decision for each dataset (training allowed or refused)."),
  );
  const detail = document.getElementById("run-detail");
  const chosen = await runPicker(null, (id) => renderRunDetail(detail, id));
  drawTable(document.getElementById("runs"), "/api/study/runs", {
    name: "runs",
    limit: 50,
    format: { page: (v) => pageLink(v) },
    onRow: (record, tr) => {
      setState({ run: record.run });
      const picker = document.getElementById("run-picker");
      if (picker) picker.value = record.run;
      document.querySelectorAll("#runs tr.selected").forEach((r) => r.classList.remove("selected"));
      tr.classList.add("selected");
      renderRunDetail(detail, record.run);
    },
  });
  if (chosen) renderRunDetail(detail, chosen);
  else message(detail, "no runs served", "missing");
  drawTable(document.getElementById("datasets"), "/api/study/datasets", { name: "datasets", limit: 25 });
  drawTable(document.getElementById("licenses"), "/api/study/licenses", { name: "licenses", limit: 25 });
}

main();
