// The prompt editor, enhanced: show the section of the chosen kind, add and remove
// rows in place, fill the preview's values from a sample input. Without this file
// every button still works by submitting the form (see prompts/views/editor.py).
(() => {
  const form = document.getElementById("editor");
  if (!form) return;

  const changed = () => form.dispatchEvent(new Event("editor-changed"));

  // Kind: only the section in use is shown (both are there without JavaScript).
  const kind = form.querySelector("[name=kind]");
  const showKind = () => {
    form.querySelectorAll("[data-kind-section]").forEach((section) => {
      section.hidden = kind && section.dataset.kindSection !== kind.value;
    });
  };
  if (kind) {
    kind.addEventListener("change", showKind);
    showKind();
  }

  // Rows of a formset: new ones from its <template>, numbered by TOTAL_FORMS. Indices
  // of removed rows stay unused; the server skips the gaps.
  form.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-row]");
    if (add) {
      event.preventDefault();
      const prefix = add.dataset.addRow;
      const total = form.querySelector(`[name="${prefix}-TOTAL_FORMS"]`);
      const template = document.getElementById(`${prefix}-empty`);
      const rows = form.querySelector(`[data-rows="${prefix}"]`);
      if (!total || !template || !rows) return;
      const index = Number(total.value);
      const holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
      const row = holder.firstElementChild;
      rows.appendChild(row);
      total.value = String(index + 1);
      const first = row.querySelector("textarea, input:not([type=hidden]), select");
      if (first) first.focus();
      changed();
      return;
    }
    const remove = event.target.closest("[data-remove-row]");
    if (remove) {
      event.preventDefault();
      const row = remove.closest("[data-row]");
      if (row) row.remove();
      changed();
    }
  });

  // A sample input fills the value inputs it has values for. The chosen set also
  // travels in a hidden field, so numbers and lists keep their type in the preview.
  form.addEventListener(
    "change",
    (event) => {
      const select = event.target.closest("[data-sample-select]");
      if (!select) return;
      const option = select.selectedOptions[0];
      let values = {};
      try {
        values = option && option.dataset.values ? JSON.parse(option.dataset.values) : {};
      } catch (error) {
        values = {};
      }
      form.querySelector("[name=sample_values]").value = option && option.value ? option.dataset.values : "";
      form.querySelector("[name=sample_loaded]").value = select.value;
      Object.entries(values).forEach(([name, value]) => {
        const input = form.querySelector(`[name="value-${CSS.escape(name)}"]`);
        if (input) input.value = typeof value === "string" ? value : JSON.stringify(value);
      });
    },
    true, // before htmx sends the preview for this change
  );

  // A throttled preview (429) still shows its note.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr && event.detail.xhr.status === 429) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
