// The staff pages' behaviour: forms and buttons that call the REST API, the first-run wizard, voice preview.
// No build step: plain JavaScript, loaded after the page.
"use strict";

const csrf = () => document.body.dataset.csrf || "";

async function api(method, url, body) {
  const options = { method, headers: { "X-CSRF-Token": csrf(), Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((data && data.detail) || `${response.status} ${response.statusText}`);
  return data;
}
window.api = api;

function toast(text) {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), 3000);
}
window.toast = toast;

function setPath(target, path, value) {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] = node[key] || {};
  node[keys[keys.length - 1]] = value;
}

// A form's fields as JSON: "a.b" nests, data-kind says how a value is read (bool, int, list, set).
function formJson(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.name === "_csrf" || el.disabled && el.type !== "checkbox") continue;
    const kind = el.dataset.kind;
    if (kind === "bool") setPath(out, el.name, el.checked);
    else if (kind === "set") {
      const list = out[el.name] || (out[el.name] = []);
      if (el.checked) list.push(el.value);
    } else if (kind === "int") setPath(out, el.name, el.value === "" ? null : Number(el.value));
    else if (kind === "list") setPath(out, el.name, el.value.split("\n").map((s) => s.trim()).filter(Boolean));
    else if (el.type === "checkbox") { if (el.checked) setPath(out, el.name, el.value); }
    else setPath(out, el.name, el.value);
  }
  return out;
}

function split(spec) {
  const i = spec.indexOf(" ");
  return [spec.slice(0, i), spec.slice(i + 1)];
}

function after(form, then, result) {
  if (!then || then === "reload") return location.reload();
  if (then.startsWith("toast:")) return toast(then.slice(6));
  if (then.startsWith("go:")) return (location.href = then.slice(3).replace("{id}", result && result.id));
  if (then.startsWith("show-or-reload:")) {  // show the field if the reply has it, else reload
    if (!result || !result[then.slice(15)]) return location.reload();
    then = "show:" + then.slice(15);
  }
  if (then.startsWith("show:")) {
    const box = form.parentElement.querySelector(":scope > [data-result]");
    box.querySelector("code").textContent = result[then.slice(5)];
    box.hidden = false;
    if (form.reset) form.reset();
  }
}

document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-api]");
  if (!form) return;
  event.preventDefault();
  const [method, url] = split(form.dataset.api);
  const error = form.querySelector("[data-error]");
  if (error) error.textContent = "";
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  try {
    after(form, form.dataset.then, await api(method, url, formJson(form)));
  } catch (e) {
    if (error) error.textContent = e.message; else toast(e.message);
  } finally {
    if (button) button.disabled = false;
  }
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-api-click]");
  if (button) {
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    const [method, url] = split(button.dataset.apiClick);
    button.disabled = true;
    try {
      const result = await api(method, url);
      if (button.dataset.then) after(button, button.dataset.then, result); else location.reload();
    }
    catch (e) { toast(e.message); button.disabled = false; }
    return;
  }
  const preview = event.target.closest("[data-preview]");
  if (preview) playPreview(preview);
});

document.addEventListener("change", async (event) => {
  const el = event.target;
  if (el.matches("select[data-nav]")) location.href = el.value;
  if (el.matches("[data-api-change]")) {
    const [method, url] = split(el.dataset.apiChange);
    try { await api(method, url, { [el.dataset.field]: el.value }); toast("Saved"); }
    catch (e) { toast(e.message); }
  }
});

async function playPreview(button) {
  const form = button.closest("form");
  const source = form && form.elements[button.dataset.previewFrom];
  button.disabled = true;
  try {
    const response = await fetch(button.dataset.preview, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/json" },
      body: JSON.stringify({ text: source ? source.value : "" }),
    });
    if (!response.ok) throw new Error((await response.json()).detail);
    const audio = document.getElementById("preview");
    audio.src = URL.createObjectURL(await response.blob());
    audio.hidden = false;
    await audio.play().catch(() => {});
  } catch (e) { toast(e.message); }
  finally { button.disabled = false; }
}

// The first-run wizard: one fieldset at a time; without JavaScript every step shows and the form still works.
function wizard(form) {
  const steps = [...form.querySelectorAll("[data-step]")];
  const marks = [...form.querySelectorAll("ol.steps li")];
  const back = form.querySelector("[data-back]"), next = form.querySelector("[data-next]"), finish = form.querySelector("[data-finish]");
  let at = 0;
  const show = () => {
    steps.forEach((s, i) => (s.hidden = i !== at));
    marks.forEach((m, i) => m.classList.toggle("current", i === at));
    back.hidden = at === 0; next.hidden = at === steps.length - 1; finish.hidden = at !== steps.length - 1;
  };
  next.addEventListener("click", () => {
    const invalid = [...steps[at].querySelectorAll("input, select, textarea")].find((el) => !el.checkValidity());
    if (invalid) return invalid.reportValidity();
    at += 1; show();
  });
  back.addEventListener("click", () => { at -= 1; show(); });
  form.addEventListener("invalid", (e) => { at = steps.findIndex((s) => s.contains(e.target)); show(); }, true);
  show();
}

function timezones() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const input of document.querySelectorAll("[data-default-timezone]")) if (!input.value && zone) input.value = zone;
  const list = document.getElementById("zones");
  if (list && Intl.supportedValuesOf) for (const z of Intl.supportedValuesOf("timeZone")) list.append(new Option(z));
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-wizard]").forEach(wizard);
  timezones();
});
