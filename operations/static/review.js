"use strict";
// The review page's behaviour: each key presses the button that shows it (data-key), each button
// sends its action, and the server's answer replaces the item and the status with HTML its
// templates escaped (this script builds none). The next item's image is fetched ahead, so an
// answer shows the next image at once; closing the tab gives back what it holds.
(() => {
  const token = document.querySelector('meta[name="review-token"]').content;
  const item = document.getElementById("item");
  const status = document.getElementById("status");
  const problem = document.getElementById("problem");
  const pollMs = Number(document.body.dataset.pollMs);
  const SOON_MS = 150;
  let soon = SOON_MS / 2;
  const images = new Map(); // image URL -> promise of an object URL for its bytes
  let session = null;
  let shown = null; // the message id of the item shown
  let itemHtml = null;
  let statusAt = 0;
  let queue = Promise.resolve(); // actions run one after the other, in the order pressed

  async function send(path, payload) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Review-Token": token },
      body: JSON.stringify(payload || {}),
    });
    if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
      return response.json(); // the state, also when an action was refused (409)
    }
    throw new Error((await response.text()).trim() || `${response.status}`);
  }

  function fetchAhead(url) {
    if (!images.has(url)) {
      const bytes = fetch(url).then((r) => (r.ok ? r.blob() : null)).catch(() => null);
      images.set(url, bytes.then((blob) => blob && URL.createObjectURL(blob)));
    }
  }

  function showImage(img) {
    const url = img.dataset.src;
    img.addEventListener("error", async () => {
      const said = item.querySelector(".image-problem"); // why, in the server's words
      if (!said) return;
      said.textContent = await fetch(url).then((r) => r.text(), () => "the page did not answer");
      said.hidden = false;
      poll(); // an image that is gone: the server now offers to close the item
    });
    const ahead = images.get(url);
    if (!ahead) {
      img.src = url;
      return;
    }
    ahead.then((objectUrl) => {
      if (img.isConnected) img.src = objectUrl || url;
    });
  }

  function forget(keep) {
    for (const [url, objectUrl] of images) {
      if (!keep.includes(url)) {
        images.delete(url);
        objectUrl.then((u) => u && URL.revokeObjectURL(u));
      }
    }
  }

  function render(state) {
    session = state.session;
    shown = state.message_id;
    if (state.item !== itemHtml) {
      itemHtml = state.item;
      item.innerHTML = state.item;
      const img = item.querySelector("img[data-src]");
      if (img) showImage(img);
    }
    status.innerHTML = state.status;
    statusAt = performance.now();
    problem.hidden = true;
    const img = item.querySelector("img[data-src]");
    forget([img && img.dataset.src, state.next_image]);
    if (state.next_image) fetchAhead(state.next_image);
    // The server fetches the next item while this one is shown: ask for it soon (then less and
    // less soon, in case none comes), so that its image is here before the next key.
    const waiting = state.message_id && !state.next_image;
    soon = waiting ? soon * 2 : SOON_MS / 2;
    pollIn(waiting ? Math.min(soon, pollMs) : pollMs);
  }

  function fail(error) {
    problem.textContent = error.message;
    problem.hidden = false;
  }

  function act(action, label) {
    const payload = { message_id: shown, label }; // what was shown when the key was pressed
    queue = queue
      .then(() => send(`/sessions/${session}/${action}`, payload))
      .then(render, fail);
  }

  let polling = null;
  function poll() {
    if (session) queue = queue.then(() => send(`/sessions/${session}/poll`)).then(render, fail);
  }

  function pollIn(ms) {
    clearTimeout(polling);
    polling = setTimeout(() => {
      poll();
      pollIn(pollMs);
    }, ms);
  }

  function countDown() {
    for (const counter of status.querySelectorAll(".countdown")) {
      const left = Number(counter.dataset.secondsLeft) - (performance.now() - statusAt) / 1000;
      counter.textContent = String(Math.max(0, Math.ceil(left)));
      if (left < -0.2 && !counter.dataset.asked) {
        counter.dataset.asked = "yes"; // the answer is being saved: ask what became of it
        poll();
      }
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button && session) act(button.dataset.action, button.dataset.label);
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const key = CSS.escape(event.key.toLowerCase());
    const button = document.querySelector(`button[data-key="${key}"]`);
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
  window.addEventListener("pagehide", () => {
    if (session) navigator.sendBeacon(`/sessions/${session}/close`, new URLSearchParams({ token }));
    session = null;
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) start(); // back from the back-forward cache: its session was closed
  });

  function start() {
    queue = queue.then(() => send(document.body.dataset.sessions)).then(render, fail);
  }

  start();
  setInterval(countDown, 100);
})();
