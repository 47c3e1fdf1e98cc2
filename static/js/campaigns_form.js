// The campaign form's live parts: fields shown by discount/campaign type, the slug from the name, and the
// randomness of the code configuration (the server checks it again; this only informs while typing).
(function () {
  "use strict";
  const form = document.getElementById("campaign-form");
  if (!form) return;
  const WEAK_BITS = 40;

  function valueOf(name) {
    const fields = form.elements[name];
    if (!fields) return "";
    if (fields instanceof RadioNodeList) return fields.value;
    if (fields.type === "checkbox") return fields.checked ? "on" : "";
    return fields.value;
  }

  // data-show-for="discount_type:percent" shows an element only while that field has that value.
  function toggle() {
    form.querySelectorAll("[data-show-for]").forEach(function (element) {
      const [name, wanted] = element.dataset.showFor.split(":");
      element.hidden = valueOf(name) !== wanted;
    });
    bits();
  }

  function unique(text) { return Array.from(new Set(text.toUpperCase().split(""))).join(""); }

  function bits() {
    const output = document.getElementById("code-bits-value");
    if (!output) return;
    const symbols = unique(valueOf("code_charset"));
    const letters = symbols.replace(/[^A-Z]/g, "");
    const pattern = valueOf("code_pattern");
    let value;
    if (pattern) {
      const digits = (pattern.match(/#/g) || []).length;
      const wild = (pattern.match(/\?/g) || []).length;
      value = digits * Math.log2(10) + wild * Math.log2(Math.max(letters.length, 1));
    } else {
      value = (parseInt(valueOf("code_length"), 10) || 0) * Math.log2(Math.max(symbols.length, 1));
    }
    output.textContent = value.toFixed(1);
    const verdict = document.getElementById("code-bits-verdict");
    const weak = value < WEAK_BITS;
    verdict.textContent = weak ? "guessable" : "strong";
    verdict.className = "badge " + (weak ? "bad" : "ok");
    const confirm = document.getElementById("field-weak_codes_confirmed");
    if (confirm) confirm.hidden = !weak && !confirm.classList.contains("field-error");
    const example = document.getElementById("code-bits-example");
    const length = pattern ? pattern.length : Math.min(parseInt(valueOf("code_length"), 10) || 0, 64);
    let sample = "";
    for (let index = 0; index < length; index++) {
      const slot = pattern ? pattern[index] : "?";
      const pool = slot === "#" ? "0123456789" : slot === "?" ? (pattern ? letters : symbols) : slot;
      sample += pool ? pool[Math.floor(Math.random() * pool.length)] : "";
    }
    example.textContent = "e.g. " + valueOf("code_prefix").toUpperCase() + sample + valueOf("code_postfix").toUpperCase();
  }

  // The slug follows the name until the marketer types a slug of their own.
  const name = form.elements["name"];
  const slug = form.elements["slug"];
  let slugTouched = slug && slug.value !== "";
  function slugify(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 100);
  }
  if (name && slug && !slug.readOnly) {
    slug.addEventListener("input", function () { slugTouched = slug.value !== ""; });
    name.addEventListener("input", function () { if (!slugTouched) slug.value = slugify(name.value); });
  }

  form.addEventListener("input", toggle);
  form.addEventListener("change", toggle);
  toggle();
})();
