// "+ Add a row" for the program editor's inline sets. Without JavaScript each set still offers one
// empty row per save, so the page works without it.
document.querySelectorAll("[data-add-row]").forEach((button) => {
  const prefix = button.dataset.addRow;
  const template = document.getElementById(`empty-${prefix}`);
  const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
  const body = document.querySelector(`tbody[data-set="${prefix}"]`);
  if (!template || !total || !body) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    const index = Number(total.value);
    const html = template.innerHTML.replaceAll("__prefix__", String(index));
    body.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    body.lastElementChild.querySelector("input, select")?.focus();
  });
});
