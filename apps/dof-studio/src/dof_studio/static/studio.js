// dof studio page: talks only to the server that served it (see routes.py for the endpoints).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { photo: null, people: null, busy: false, dirty: false, urls: {} };

function say(text) {
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
}

async function answer(response) {
  if (response.ok) return response;
  let text = `${response.status} ${response.statusText}`;
  try { text = (await response.json()).error || text; } catch (_) { /* not JSON */ }
  throw new Error(text);
}

function setImage(id, blob) {
  if (state.urls[id]) URL.revokeObjectURL(state.urls[id]);
  state.urls[id] = URL.createObjectURL(blob);
  $(id).src = state.urls[id];
}

function peopleParam() {
  return state.people === null ? "all" : [...state.people].sort((a, b) => a - b).join(",");
}

function settings() {
  const method = $("method").value;
  const range = state.photo ? state.photo.radius[method] : null;
  const radius = range && range.max === 0 ? null : Number($("radius").value);
  return { method, radius, highlights: Number($("highlights").value), people: peopleParam() };
}

// -- opening a photo -------------------------------------------------------------------------

async function open(file) {
  if (!file) return;
  say("");
  $("name").textContent = `opening ${file.name}…`;
  try {
    const response = await answer(await fetch("/api/photos", {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream", "X-Filename": encodeURIComponent(file.name) },
      body: file,
    }));
    const photo = await response.json();
    state.photo = photo;
    state.people = null;
    $("name").textContent = `${photo.name}: ${photo.width}×${photo.height}`;
    setupMethods(photo);
    for (const id of ["subject-box", "render-box", "save-box"]) $(id).disabled = false;
    $("empty").hidden = true;
    $("stage").hidden = false;
    fit();
    setImage("before", await (await answer(await fetch(`/api/photos/${photo.id}/original`))).blob());
    await Promise.all([refreshOverlay(), refreshPreview()]);
  } catch (err) {
    say(err.message);
    $("name").textContent = state.photo ? state.photo.name : "";
  }
}

function setupMethods(photo) {
  const select = $("method");
  const previous = select.value;
  select.replaceChildren(...photo.methods.map((m) => new Option(m, m)));
  select.value = photo.methods.includes(previous) ? previous : photo.methods[0];
  setupRadius();
}

function setupRadius() {
  const method = $("method").value;
  const slider = $("radius");
  const range = state.photo.radius[method];
  slider.disabled = range.max === 0;  // a painting generator has no aperture
  slider.max = String(range.max);
  slider.value = String(Math.round(range.default));
  showValues();
}

function showValues() {
  const method = $("method").value;
  const fixed = state.photo && state.photo.radius[method].max === 0;
  const what = method === "GAN" ? "aperture " : "";
  $("radius-value").textContent = fixed ? "(not used)" : `${what}${$("radius").value} px`;
  $("highlights-value").textContent = $("highlights").value;
  const people = state.photo ? state.photo.people : 0;
  const chosen = state.people === null ? "everyone sharp" : `${state.people.size} of ${people} sharp`;
  $("people").textContent = people === 0 ? "Nobody found: the whole photo is blurred."
    : `${people} ${people === 1 ? "person" : "people"} found, ${chosen}.`;
}

// -- preview: one request in flight, the latest settings win --------------------------------

async function refreshPreview() {
  if (!state.photo) return;
  if (state.busy) { state.dirty = true; return; }
  state.busy = true;
  try {
    do {
      state.dirty = false;
      const s = settings();
      const query = new URLSearchParams({ method: s.method, highlights: s.highlights, people: s.people });
      if (s.radius !== null) query.set("radius", s.radius);
      const began = performance.now();
      const response = await answer(await fetch(`/api/photos/${state.photo.id}/preview?${query}`));
      setImage("after", await response.blob());
      $("after").dataset.query = query.toString();
      const server = (response.headers.get("Server-Timing") || "").match(/dur=([\d.]+)/);
      $("timing").textContent = `preview ${(performance.now() - began).toFixed(0)} ms` +
        (server ? ` (render ${server[1]} ms)` : "");
    } while (state.dirty);
  } catch (err) {
    say(err.message);
  } finally {
    state.busy = false;
  }
}

async function refreshOverlay() {
  const query = new URLSearchParams({ people: peopleParam() });
  const response = await answer(await fetch(`/api/photos/${state.photo.id}/overlay?${query}`));
  setImage("overlay", await response.blob());
  $("overlay").hidden = !$("show-mask").checked;
}

// -- picking the subject ---------------------------------------------------------------------

async function pick(event) {
  if (!state.photo) return;
  const box = $("stage").getBoundingClientRect();
  const x = (event.clientX - box.left) / box.width;
  const y = (event.clientY - box.top) / box.height;
  try {
    const response = await answer(await fetch(`/api/photos/${state.photo.id}/pick`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ x: Math.min(1, Math.max(0, x)), y: Math.min(1, Math.max(0, y)) }),
    }));
    const { person } = await response.json();
    if (person === 0) { say("Nobody there: click on a person (the tinted areas)."); return; }
    say("");
    const all = new Set(Array.from({ length: state.photo.people }, (_, i) => i + 1));
    if (event.shiftKey || event.ctrlKey || event.metaKey) {
      const chosen = new Set(state.people === null ? all : state.people);
      if (chosen.has(person)) chosen.delete(person); else chosen.add(person);
      state.people = chosen.size === all.size ? null : chosen;
    } else {
      state.people = new Set([person]);
    }
    showValues();
    await Promise.all([refreshOverlay(), refreshPreview()]);
  } catch (err) {
    say(err.message);
  }
}

// -- saving at full size ---------------------------------------------------------------------

async function save() {
  const button = $("save");
  button.disabled = true;
  const bar = $("progress");
  bar.hidden = false;
  bar.value = 0;
  try {
    const body = { ...settings(), format: $("format").value };
    let job = await (await answer(await fetch(`/api/photos/${state.photo.id}/render`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }))).json();
    while (job.state === "queued" || job.state === "running") {
      bar.value = job.progress;
      $("save-status").textContent = `${job.stage || "waiting"}… ${job.seconds.toFixed(1)} s`;
      await new Promise((resolve) => setTimeout(resolve, 250));
      job = await (await answer(await fetch(`/api/jobs/${job.id}`))).json();
    }
    if (job.state === "failed") throw new Error(job.error);
    bar.value = 1;
    $("save-status").textContent = `${job.filename}: ${(job.bytes / 2 ** 20).toFixed(1)} MB in ${job.seconds.toFixed(1)} s`;
    const link = document.createElement("a");
    link.href = `/api/jobs/${job.id}/file`;
    link.download = job.filename;
    document.body.append(link);
    link.click();
    link.remove();
  } catch (err) {
    say(err.message);
    $("save-status").textContent = "";
  } finally {
    button.disabled = false;
  }
}

// the photo as large as the window allows, whole
function fit() {
  if (!state.photo) return;
  const viewer = $("viewer");
  const room = Math.max(200, window.innerHeight - viewer.getBoundingClientRect().top - 16);
  const width = Math.min(viewer.clientWidth, room * state.photo.width / state.photo.height);
  $("stage").style.width = `${Math.floor(width)}px`;
}

// -- wiring ----------------------------------------------------------------------------------

function split() {
  const at = Number($("split").value);
  $("after").style.clipPath = `inset(0 0 0 ${at}%)`;
  $("divider").style.left = `${at}%`;
}

document.addEventListener("DOMContentLoaded", () => {
  $("file").addEventListener("change", (e) => { open(e.target.files[0]); e.target.value = ""; });
  $("stage").addEventListener("click", pick);
  $("method").addEventListener("change", () => { setupRadius(); refreshPreview(); });
  $("radius").addEventListener("input", () => { showValues(); refreshPreview(); });
  $("highlights").addEventListener("input", () => { showValues(); refreshPreview(); });
  $("split").addEventListener("input", split);
  $("show-mask").addEventListener("change", () => { $("overlay").hidden = !$("show-mask").checked; });
  $("everyone").addEventListener("click", async () => {
    state.people = null; showValues(); await Promise.all([refreshOverlay(), refreshPreview()]);
  });
  $("save").addEventListener("click", save);
  document.addEventListener("dragover", (e) => { e.preventDefault(); document.body.classList.add("dragging"); });
  document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    document.body.classList.remove("dragging");
    open(e.dataTransfer.files[0]);
  });
  window.addEventListener("resize", fit);
  split();
});
