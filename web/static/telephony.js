// The phone line's live state: each SIP trunk's registration, refreshed every few seconds.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("sip-status");
  if (!box) return;
  const show = (html) => (box.innerHTML = html);
  const text = (value) => { const span = document.createElement("span"); span.textContent = value == null ? "" : String(value); return span.innerHTML; };
  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" } });
      if (response.status === 404) return show('<p class="muted">Telephony is not installed on this box yet.</p>');
      const status = await response.json();
      if (!response.ok) return show(`<p class="error">${text(status.detail)}</p>`);
      const trunks = (status.trunks || []).map((t) => `<li><strong>${text(t.name)}</strong>${t.username != null ? ` ${text(t.username)}@${text(t.registrar)}` : ""}
        <span class="badge ${t.state === "registered" ? "ok" : "failed"}">${text(t.state)}</span>
        ${t.code ? `<span class="muted">${text(t.code)} ${text(t.reason)}</span>` : ""}
        ${t.hint ? `<div class="muted">${text(t.hint)}</div>` : ""}</li>`).join("");
      show(`<p>SIP is <strong>${text(status.state)}</strong>${status.detail ? ": " + text(status.detail) : ""}
        · ${text(status.active_calls)} of ${text(status.max_calls)} calls</p>
        <ul class="trunks">${trunks || '<li class="muted">No trunk configured.</li>'}</ul>`);
    } catch (e) { show(`<p class="error">${text(e.message)}</p>`); }
  }
  poll();
  setInterval(poll, 5000);
});
