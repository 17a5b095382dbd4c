// Small DOM helpers shared by the pages. Everything is built with createElement and
// text nodes, never innerHTML, so a name or a message from the API is shown as text.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// Each page's heading takes the focus when the page opens (tabindex -1 allows that).
export function heading(text) {
  return h("h1", { tabindex: "-1" }, text);
}

export function link(href, text, props = {}) {
  return h("a", { href, ...props }, text);
}

// -- page lifecycle ------------------------------------------------------------------

// Only the page on screen may poll: each page gets a token, and leaving it (a new
// route) makes the old token stale, which ends its polling loops.
let currentPage = 0;

export function startPage() {
  currentPage += 1;
  const token = currentPage;
  return { alive: () => token === currentPage };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs step() every `every` ms while it answers true and the page is on screen (the
// caller has shown the first state already). A failed step is shown at the top of
// `root` and tried again, as the API may only be busy; the next success clears it.
export async function poll(page, root, step, every = 2000) {
  for (;;) {
    await sleep(every);
    if (!page.alive()) return;
    let again = true;
    try {
      again = await step();
      const failed = root.querySelector(":scope > .notice.error");
      if (failed) failed.hidden = true;
    } catch (err) {
      if (err.status === 401 || !page.alive()) return;
      notice(root, `Could not refresh: ${plainError(err)}`);
    }
    if (!again) return;
  }
}

// -- times ---------------------------------------------------------------------------

export function elapsed(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return m ? `${m}m ${s}s` : `${seconds}s`;
}

// When a resource entered its state: the API's own time if it gives one, else when this
// page first saw the state (kept across pages, so leaving and coming back keeps counting).
const firstSeen = new Map();

export function stateSince(key, state, apiTime) {
  if (apiTime) return Date.parse(apiTime);
  const mark = `${key}\u0000${state}`;
  if (!firstSeen.has(mark)) firstSeen.set(mark, Date.now());
  return firstSeen.get(mark);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

// "Creating (1m 05s)": a status with how long it has lasted, shown while it is moving.
export function statusText(status, moving, startedAt) {
  return moving ? `${status} (${elapsed(Date.now() - startedAt)})` : status;
}

// -- forms ---------------------------------------------------------------------------

function describe(control, id) {
  const ids = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
  ids.add(id);
  control.setAttribute("aria-describedby", [...ids].join(" "));
}

function undescribe(control, id) {
  const ids = (control.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== id);
  if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
  else control.removeAttribute("aria-describedby");
}

// A labelled control with an optional hint under it; its error goes in the same box.
export function field(label, control, hint) {
  const parts = [h("label", { for: control.id }, label), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    parts.push(hint instanceof Node ? hint : h("p", { class: "hint", id: hintId }, hint));
    describe(control, hint instanceof Node ? hint.id : hintId);
  }
  return h("div", { class: "field" }, ...parts);
}

export function input(id, props = {}) {
  return h("input", { id, name: id, type: "text", ...props });
}

// options: [{value, label}]; the first is chosen unless `chosen` names another.
export function select(id, options, props = {}, chosen = undefined) {
  const el = h("select", { id, name: id, ...props });
  fillSelect(el, options, chosen);
  return el;
}

export function fillSelect(el, options, chosen = undefined) {
  const keep = chosen ?? el.value;
  el.replaceChildren(...options.map((o) => h("option", { value: o.value }, o.label)));
  if (options.some((o) => o.value === keep)) el.value = keep;
}

// A group of radio buttons with a legend: choices [{value, label, id}].
export function radios(name, legend, choices, checked) {
  return h("fieldset", { class: "radios" }, h("legend", {}, legend),
    choices.map((c) => h("div", { class: "radio" },
      h("input", { type: "radio", id: c.id, name, value: c.value, checked: c.value === checked }),
      h("label", { for: c.id }, c.label))));
}

export function checkbox(id, label, checked = false) {
  return h("div", { class: "check" },
    h("input", { type: "checkbox", id, name: id, checked }), h("label", { for: id }, label));
}

export function form(id, props, ...children) {
  // method=post: should the script ever fail, a plain submit still never puts a
  // password in a URL (and so in a log).
  return h("form", { id, method: "post", action: "#", novalidate: true, ...props }, ...children);
}

export function clearErrors(root) {
  for (const el of root.querySelectorAll(".error, .form-error")) el.remove();
  for (const el of root.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    undescribe(el, `${el.id}-error`);
  }
}

export function showFieldError(control, message) {
  const id = `${control.id}-error`;
  document.getElementById(id)?.remove();
  const box = control.closest(".field, fieldset") || control.parentElement;
  box.append(h("p", { class: "error", id, role: "alert" }, message));
  control.setAttribute("aria-invalid", "true");
  describe(control, id);
}

export function showFormError(formEl, message) {
  formEl.querySelector(":scope > .form-error")?.remove();
  formEl.prepend(h("div", { class: "form-error", role: "alert", tabindex: "-1" }, message));
}

// Which control an error concerns: the one the page named (err.field), else the one
// whose parameter name the message or code mentions (data-param, e.g.
// "MasterUserPassword"), else one whose words the code, then the message, uses
// (data-words, e.g. "subnet"). Longest names first, so "MasterUsername" does not take
// an error about "MasterUserPassword".
export function controlFor(root, err) {
  if (err.field) return root.querySelector(`#${err.field}`);
  const text = `${err.code || ""} ${err.message || ""}`;
  const controls = [...root.querySelectorAll("[data-param], [data-words]")];
  const names = controls.flatMap((c) =>
    (c.dataset.param || "").split(" ").filter(Boolean).map((name) => [name, c]));
  names.sort((a, b) => b[0].length - a[0].length);
  for (const [name, control] of names) if (text.includes(name)) return control;
  for (const said of [err.code || "", err.message || ""]) {
    const lower = said.toLowerCase();
    for (const control of controls) {
      const words = (control.dataset.words || "").split(",").map((w) => w.trim()).filter(Boolean);
      if (words.some((w) => lower.includes(w))) return control;
    }
  }
  return null;
}

export function plainError(err) {
  if (err instanceof TypeError) return "The pgrealm server did not answer. Is it running?";
  if (err.status === 401) return "Your session has ended: sign in again.";
  const message = (err.message || "").trim();
  return message || `The request failed (${err.code}).`;
}

// Beside the field it concerns, else at the top of the form; focus goes there.
export function showApiError(formEl, err) {
  const control = controlFor(formEl, err);
  if (control) {
    showFieldError(control, plainError(err));
    control.focus();
  } else {
    showFormError(formEl, plainError(err));
    formEl.querySelector(":scope > .form-error").focus();
  }
}

// Runs the form's work with its submit button disabled, so a second press does not
// send it twice; errors go beside their field.
export async function submitting(formEl, busyLabel, work) {
  const button = formEl.querySelector("button[type=submit]");
  const label = button.textContent;
  clearErrors(formEl);
  button.disabled = true;
  button.textContent = busyLabel;
  formEl.setAttribute("aria-busy", "true");
  try {
    await work();
  } catch (err) {
    showApiError(formEl, err);
  } finally {
    button.disabled = false;
    button.textContent = label;
    formEl.removeAttribute("aria-busy");
  }
}

// -- display -------------------------------------------------------------------------

// A table whose rows are [{key, cells}], drawn by box.update(rows). Polling redraws
// it in place: a row keeps its element and a cell is replaced only when its text
// changed, so keyboard focus on a link in the table survives each refresh. The caption
// is for screen readers only unless `showCaption`: a heading above usually says it.
export function table(id, caption, headers, empty, showCaption = false) {
  const body = h("tbody");
  const el = h("table", { id },
    h("caption", { class: showCaption ? null : "sr-only" }, caption),
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    body);
  const none = h("p", { class: "empty" }, empty);
  const box = h("div", { class: "table" }, el, none);
  box.update = (rows) => {
    const old = new Map([...body.children].map((tr) => [tr.dataset.key, tr]));
    const trs = rows.map((row) => {
      const tr = old.get(row.key) || h("tr", { dataset: { key: row.key } });
      old.delete(row.key);
      row.cells.forEach((cell, i) => {
        const node = cell instanceof Node ? cell : document.createTextNode(cell ?? "—");
        const td = tr.children[i] || tr.appendChild(h(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {}));
        if (td.textContent !== node.textContent || td.childNodes.length === 0) td.replaceChildren(node);
      });
      return tr;
    });
    body.replaceChildren(...trs);
    el.hidden = rows.length === 0;
    none.hidden = rows.length !== 0;
  };
  box.update([]);
  return box;
}

// A definition list; pairs are [term, value, id of the value].
export function summary(id, pairs) {
  return h("dl", { id, class: "summary" },
    pairs.map(([term, value, valueId]) => [h("dt", {}, term), h("dd", { id: valueId }, value ?? "—")]));
}

export function setText(id, text) {
  const el = document.getElementById(id);
  if (el && el.textContent !== text) el.textContent = text;
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea", { class: "offscreen", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

// Text to copy, in <pre><code>, with a Copy button that says when it is done.
export function copyBlock(id, label, text) {
  const code = h("code", { id }, text);
  const status = h("span", { class: "copied", role: "status" });
  const button = h("button", {
    type: "button", class: "secondary", "aria-label": `Copy ${label}`, id: `${id}-copy`,
    onclick: async () => {
      try {
        await copyText(code.textContent);
        status.textContent = "Copied";
      } catch {
        status.textContent = "Could not copy: select the text instead";
      }
      setTimeout(() => { status.textContent = ""; }, 3000);
    },
  }, "Copy");
  return h("div", { class: "copy" }, h("pre", {}, code), h("div", { class: "copy-actions" }, button, status));
}

// A destructive button that asks first, in the page (no pop-up): the question and
// its two buttons appear beside it and the first of them takes the focus.
export function confirmButton(id, label, question, action) {
  const box = h("div", { class: "confirm" });
  const ask = h("button", { type: "button", id, class: "danger", onclick: () => open() }, label);
  function close() {
    box.replaceChildren(ask);
    ask.focus();
  }
  function open() {
    const yes = h("button", { type: "button", id: `${id}-yes`, class: "danger",
      onclick: async () => {
        yes.disabled = true;
        try {
          await action();
        } catch (err) {
          box.querySelector(".error")?.remove();
          box.append(h("p", { class: "error", role: "alert" }, plainError(err)));
          yes.disabled = false;
        }
      } }, `Yes, ${label.toLowerCase()}`);
    const no = h("button", { type: "button", class: "secondary", onclick: close }, "Cancel");
    box.replaceChildren(h("div", { role: "group", "aria-label": question, class: "question" },
      h("p", {}, question), yes, no));
    yes.focus();
  }
  box.append(ask);
  return box;
}

// A page-level notice (errors that belong to no form, e.g. a failed refresh).
export function notice(root, message, kind = "error") {
  let el = root.querySelector(":scope > .notice");
  if (!el && !message) return;
  if (!el) {
    el = h("div", { class: "notice", role: kind === "error" ? "alert" : "status" });
    root.prepend(el);
  }
  el.className = `notice ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.textContent = message;
  el.hidden = !message;
}
