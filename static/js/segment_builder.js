// The segment rule builder: add and remove rows, offer only the operators a field allows,
// and tell htmx (hx-trigger="rules-changed" on #rules) to refresh the live preview.
(() => {
  const form = document.getElementById("segment-form");
  if (!form) return;
  const spec = JSON.parse(document.getElementById("segment-fields").textContent);
  const rows = document.getElementById("rule-rows");
  const template = document.getElementById("rule-row-template");
  const rules = document.getElementById("rules");
  const placeholders = { integer: "a number", days: "days", boolean: "true or false", string: "text", any: "value" };

  const changed = () => rules.dispatchEvent(new Event("rules-changed", { bubbles: true }));

  function fitRow(row) {
    const field = row.querySelector("[data-rule-field]").value;
    const operator = row.querySelector("[data-rule-op]");
    const key = row.querySelector("[data-rule-key]");
    const value = row.querySelector("[data-rule-value]");
    const help = row.querySelector("[data-rule-help]");
    const allowed = spec[field] ? spec[field].ops : null;
    for (const option of operator.options) {
      option.hidden = option.disabled = Boolean(allowed) && !allowed.includes(option.value);
    }
    if (allowed && !allowed.includes(operator.value)) operator.value = allowed[0];
    key.classList.toggle("when-metadata", field !== "metadata.<key>");
    value.placeholder = spec[field] ? placeholders[spec[field].type] || "value" : "value";
    if (["in", "not_in"].includes(operator.value)) value.placeholder += ", comma-separated";
    help.textContent = spec[field] ? spec[field].help : "";
  }

  form.classList.add("js");
  rows.querySelectorAll("[data-rule-row]").forEach(fitRow);
  // The server adds a blank row for browsers without JavaScript; with it, "Add rule" does the job.
  const rowList = rows.querySelectorAll("[data-rule-row]");
  const last = rowList[rowList.length - 1];
  if (rowList.length > 1 && last && !last.querySelector("[data-rule-field]").value) last.remove();

  document.getElementById("add-rule").addEventListener("click", () => {
    const row = template.content.firstElementChild.cloneNode(true);
    rows.appendChild(row);
    fitRow(row);
    row.querySelector("[data-rule-field]").focus();
  });
  rows.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-rule]");
    if (!button) return;
    button.closest("[data-rule-row]").remove();
    changed();
  });
  rows.addEventListener("change", (event) => {
    if (event.target.matches("[data-rule-field], [data-rule-op]")) fitRow(event.target.closest("[data-rule-row]"));
  });
  form.addEventListener("change", (event) => {
    if (event.target.name === "kind") form.dataset.kind = event.target.value;
  });
})();
