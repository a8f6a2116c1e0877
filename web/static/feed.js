// The live feed of a business's calls (a websocket), and how one call's messages become a transcript.
"use strict";

function liveFeed(tenant, onMessage, onStatus) {
  let closed = false, retry = 500, socket = null;
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/tenants/${tenant}/live/feed`);
    socket.onopen = () => { retry = 500; onStatus && onStatus("connected"); };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = () => {
      onStatus && onStatus("reconnecting");
      if (!closed) setTimeout(connect, (retry = Math.min(retry * 2, 8000)));
    };
  };
  connect();
  return { close() { closed = true; socket && socket.close(); } };
}

// Adds one message to a call's transcript list: the caller's words, the assistant's clauses as spoken.
function addToTranscript(list, message) {
  const time = new Date(message.at).toLocaleTimeString();
  const item = (cls, who, text) => {
    const li = document.createElement("li");
    li.className = cls;
    li.innerHTML = "<time></time><span class=who></span><p></p>";
    li.querySelector("time").textContent = time;
    li.querySelector(".who").textContent = who;
    li.querySelector("p").textContent = text;
    list.append(li);
    li.scrollIntoView({ block: "nearest" });
    return li;
  };
  if (message.type === "caller") item("caller", "Caller", message.text);
  else if (message.type === "corrected") {
    // An earlier turn redacted after the fact (a card number finished in a later turn).
    const line = list.querySelectorAll("li.caller")[message.caller_line];
    if (line) line.querySelector("p").textContent = message.text;
  }
  else if (message.type === "assistant") {
    const open = list.querySelector(`li.assistant[data-turn="${message.turn}"]`);
    if (open) open.querySelector("p").textContent += " " + message.text;
    else item("assistant", "Assistant", message.text).dataset.turn = message.turn;
  } else if (message.type === "transfer") item("event", "", `Transferring to ${message.target} (${message.reason})`);
  else if (message.type === "hangup") item("event", "", `Ending: ${message.reason}`);
  else if (message.type === "ended") item("event", "", `Call ended${message.outcome ? ": " + message.outcome : ""}`);
}

window.liveFeed = liveFeed;
window.addToTranscript = addToTranscript;
