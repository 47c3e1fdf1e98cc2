// Portal: a "Copy the code" button. Without JavaScript (or clipboard access) the code stays selectable.
document.querySelectorAll("[data-copy]").forEach((button) => {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied!";
    } catch {
      button.textContent = "Select the code to copy it";
    }
  });
});
