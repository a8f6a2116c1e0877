// The knowledge page: sources with their state, adding a website or files with a progress bar that follows the
// upload and then the ingest job, and a search to try. Everything goes through /api/v1/kb.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("knowledge");
  const tenant = root.dataset.tenant;
  const canWrite = Boolean(root.dataset.canWrite);
  const base = `/api/v1/kb/${tenant}`;
  const jobs = document.getElementById("kb-jobs");

  const cell = (row, text) => { const td = row.insertCell(); td.textContent = text; return td; };

  async function refresh() {
    const summary = await api("GET", base);
    const k = summary.knowledge;
    document.getElementById("kb-mode").textContent =
      `${k.chunks} chunks, about ${k.tokens} tokens: ${k.mode === "inline" ? "small enough to go whole into the assistant's instructions" : "searched for each question"}.`;
    const body = document.querySelector("#kb-sources tbody");
    body.replaceChildren();
    if (!summary.sources.length) {
      const row = body.insertRow(); const td = cell(row, "Nothing yet."); td.colSpan = 7; td.className = "muted";
    }
    for (const s of summary.sources) {
      const row = body.insertRow();
      cell(row, s.source); cell(row, s.kind);
      const status = cell(row, ""); const badge = document.createElement("span");
      badge.className = `badge ${s.status}`; badge.textContent = s.error ? "failed" : s.status; status.append(badge);
      cell(row, s.pages); cell(row, s.chunks); cell(row, [s.error, ...s.notes].filter(Boolean).join("; "));
      const actions = cell(row, "");
      if (canWrite) {
        const remove = document.createElement("button");
        remove.className = "danger"; remove.textContent = "Remove";
        remove.addEventListener("click", async () => {
          if (!confirm(`Remove ${s.source}?`)) return;
          try { await api("DELETE", `${base}/sources?source=${encodeURIComponent(s.source)}`); refresh(); } catch (e) { toast(e.message); }
        });
        actions.append(remove);
      }
    }
  }

  // One line per ingest: a bar that shows the upload (first half, for files) and then the job's own progress.
  function tracker(name) {
    jobs.hidden = false;
    const li = document.createElement("li");
    li.innerHTML = '<span class="name"></span> <span class="phase muted"></span><div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div></div></div>';
    li.querySelector(".name").textContent = name;
    jobs.querySelector("ul").prepend(li);
    const bar = li.querySelector(".progress");
    return {
      set(fraction, phase) {
        const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
        bar.firstElementChild.style.width = pct + "%"; bar.setAttribute("aria-valuenow", pct);
        li.querySelector(".phase").textContent = phase;
      },
      done(ok, text) { this.set(1, text); li.dataset.state = ok ? "done" : "failed"; if (!ok) li.classList.add("error"); },
    };
  }

  async function follow(job, track, from) {
    for (;;) {
      job = await api("GET", `${base}/jobs/${job.id}`);
      const p = job.progress;
      if (job.state === "done") return track.done(true, `done: ${job.result ? job.result.chunks + " chunks" : ""}`);
      if (job.state === "failed") return track.done(false, job.error || "failed");
      const part = p.total ? p.done / p.total : 0.5;
      track.set(from + (1 - from) * part, `${p.phase}${p.detail ? ": " + p.detail : ""}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  function upload(file, track) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", `${base}/files/${encodeURIComponent(file.name)}`);
      xhr.setRequestHeader("X-CSRF-Token", document.body.dataset.csrf);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) track.set(0.5 * e.loaded / e.total, "uploading"); };
      xhr.onload = () => {
        let body = null; try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(new Error((body && body.detail) || `${xhr.status} ${xhr.statusText}`));
      };
      xhr.onerror = () => reject(new Error("the upload failed"));
      xhr.send(file);
    });
  }

  const website = document.getElementById("kb-website");
  if (website) website.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = website.elements.url.value;
    const track = tracker(url);
    try { await follow(await api("POST", `${base}/websites`, { url }), track, 0); website.reset(); }
    catch (e) { track.done(false, e.message); }
    refresh();
  });

  const files = document.getElementById("kb-files");
  if (files) files.addEventListener("submit", async (event) => {
    event.preventDefault();
    await Promise.all([...files.elements.files.files].map(async (file) => {
      const track = tracker(file.name);
      try { await follow(await upload(file, track), track, 0.5); }
      catch (e) { track.done(false, e.message); }
    }));
    files.reset();
    refresh();
  });

  const search = document.getElementById("kb-search");
  search.addEventListener("submit", async (event) => {
    event.preventDefault();
    const list = document.getElementById("kb-hits");
    list.replaceChildren();
    try {
      const hits = await api("GET", `${base}/search?q=${encodeURIComponent(search.elements.q.value)}`);
      if (!hits.length) list.innerHTML = '<li class="muted">Nothing found.</li>';
      for (const hit of hits) {
        const li = document.createElement("li");
        li.innerHTML = '<div class="where"></div><p></p><div class="muted score"></div>';
        li.querySelector(".where").textContent = [hit.title || hit.location, hit.heading].filter(Boolean).join(" › ");
        li.querySelector("p").textContent = hit.text;
        li.querySelector(".score").textContent = `score ${hit.score.toFixed(3)} · found by ${hit.legs.join(" and ")} · ${hit.source}`;
        list.append(li);
      }
    } catch (e) { toast(e.message); }
  });

  refresh().catch((e) => (document.getElementById("kb-mode").textContent = e.message));
});
