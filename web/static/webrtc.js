// A test call from the browser: the microphone goes to the assistant over WebRTC, its voice comes back, and the
// transcript follows the call on the live feed.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const start = document.getElementById("call-start");
  const hangup = document.getElementById("call-hangup");
  const status = document.getElementById("call-status");
  const transcript = document.getElementById("call-transcript");
  const remote = document.getElementById("remote");
  const tenant = start.dataset.tenant;
  let pc = null, callId = null, feed = null, stream = null;

  const say = (text) => (status.textContent = text);

  const gathered = (peer) => new Promise((resolve) => {
    if (peer.iceGatheringState === "complete") return resolve();
    const check = () => { if (peer.iceGatheringState === "complete") { peer.removeEventListener("icegatheringstatechange", check); resolve(); } };
    peer.addEventListener("icegatheringstatechange", check);
    setTimeout(resolve, 3000);  // use what has been gathered so far
  });

  const stop = async (reason) => {
    if (callId) await api("POST", `/api/v1/tenants/${tenant}/webrtc/${callId}/hangup`).catch(() => {});
    if (pc) pc.close();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    pc = null; stream = null;
    start.disabled = false; hangup.disabled = true;
    say(reason);
  };

  start.addEventListener("click", async () => {
    start.disabled = true;
    transcript.replaceChildren();
    try {
      say("Asking for the microphone…");
      // Unprocessed audio: echo cancellation and noise suppression change what the assistant hears.
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      pc = new RTCPeerConnection({ iceServers: [] });
      stream.getTracks().forEach((track) => pc.addTrack(track, stream));
      pc.addEventListener("track", (event) => { remote.srcObject = event.streams[0] || new MediaStream([event.track]); });
      pc.addEventListener("connectionstatechange", () => {
        if (pc && pc.connectionState === "connected") say("Connected. Speak after the greeting.");
        if (pc && pc.connectionState === "failed") stop("The connection failed.");
      });
      say("Calling…");
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const answer = await api("POST", `/api/v1/tenants/${tenant}/webrtc/offer`, { sdp: pc.localDescription.sdp, type: "offer" });
      callId = answer.call_id;
      transcript.dataset.call = callId;
      feed = feed || liveFeed(tenant, (message) => {
        if (message.call_id !== callId) return;
        addToTranscript(transcript, message);
        if (message.type === "ended") { callId = null; stop("The call has ended."); }
      });
      await pc.setRemoteDescription({ type: answer.type, sdp: answer.sdp });
      hangup.disabled = false;
    } catch (e) {
      await stop("Could not call: " + e.message);
    }
  });
  hangup.addEventListener("click", () => stop("You hung up."));
});
