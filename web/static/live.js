// The live calls page: one card per call in progress, its transcript as spoken, and the staff buttons.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("live-calls");
  const tenant = box.dataset.tenant;
  const canControl = Boolean(box.dataset.canControl);
  const template = document.getElementById("live-call");
  const status = document.getElementById("live-status");
  const cards = new Map();

  const card = (message) => {
    let el = cards.get(message.call_id);
    if (el) return el;
    el = template.content.firstElementChild.cloneNode(true);
    el.dataset.call = message.call_id;
    const call = message.call || {};
    el.querySelector(".caller").textContent = call.caller || "Caller";
    el.querySelector(".since").textContent = call.started_at ? "since " + new Date(call.started_at + "Z").toLocaleTimeString() : "";
    if (!canControl) el.querySelector(".actions").remove();
    else el.querySelectorAll("[data-action]").forEach((button) => button.addEventListener("click", () => act(message.call_id, button)));
    cards.set(message.call_id, el);
    box.querySelector(".empty").hidden = true;
    box.prepend(el);
    return el;
  };

  const act = async (callId, button) => {
    const action = button.dataset.action;
    if (action === "end" && !confirm("End this call?")) return;
    button.disabled = true;
    try {
      const result = await api("POST", `/api/v1/tenants/${tenant}/live/${callId}/${action}`, action === "take-over" ? {} : undefined);
      toast(result.detail);
    } catch (e) { toast(e.message); button.disabled = false; }
  };

  liveFeed(tenant, (message) => {
    const el = card(message);
    addToTranscript(el.querySelector(".transcript"), message);
    if (message.type === "ended") {
      el.querySelector(".badge").textContent = "ended";
      el.querySelectorAll("button").forEach((b) => (b.disabled = true));
      setTimeout(() => { el.remove(); cards.delete(message.call_id); box.querySelector(".empty").hidden = cards.size > 0; }, 15000);
    }
  }, (state) => (status.textContent = state === "connected" ? "Watching calls as they happen." : "Reconnecting…"));
});
