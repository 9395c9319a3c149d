// cofirec web page: plain JS over the JSON API (no build step). All text goes in through textContent.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { ready: null, rated: new Map() };  // rated: item id (string) -> {item, title, rating}

  async function api(path, options) {
    const response = await fetch(path, Object.assign({ headers: { "Content-Type": "application/json" } }, options || {}));
    const body = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(body.error || ("HTTP " + response.status));
    return body;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  const label = (entry) => entry.title || ("Item " + entry.item);
  function say(text, isError) { const s = $("status"); s.textContent = text; s.className = isError ? "error" : ""; }

  function ratingValues() {
    const r = state.ready;
    if (!r || r.feedback_kind !== "explicit") return null;
    const step = Number.isInteger(r.rating_min) && Number.isInteger(r.rating_max) ? 1 : 0.5;
    const values = [];
    for (let v = r.rating_max; v >= r.rating_min - 1e-9; v -= step) values.push(Math.round(v * 10) / 10);
    return values;
  }

  function rateControls(entry) {
    const values = ratingValues();
    const name = label(entry);
    if (!values) {
      return el("button", { type: "button", "aria-label": "Like " + name, onclick: () => addRating(entry, state.ready.like_value) }, "Like");
    }
    const select = el("select", { "aria-label": "Your rating for " + name });
    for (const v of values) select.append(el("option", { value: String(v) }, String(v)));
    const button = el("button", { type: "button", class: "secondary", "aria-label": "Rate " + name,
      onclick: () => addRating(entry, Number(select.value)) }, "Rate");
    return el("span", { class: "stars" }, select, button);
  }

  function addRating(entry, rating) {
    state.rated.set(String(entry.item), { item: entry.item, title: entry.title, rating: rating });
    renderRated();
    say("Rated " + label(entry) + " " + rating + ". " + state.rated.size + " rated so far.");
  }

  function renderRated() {
    const list = $("rated");
    list.replaceChildren();
    for (const [key, entry] of state.rated) {
      list.append(el("li", {}, el("span", { class: "title" }, label(entry)), el("span", {}, state.ready && state.ready.feedback_kind !== "explicit" ? "liked" : "rated " + entry.rating),
        el("button", { type: "button", class: "secondary", "aria-label": "Remove " + label(entry),
          onclick: () => { state.rated.delete(key); renderRated(); } }, "Remove")));
    }
    $("rated-empty").hidden = state.rated.size > 0;
    $("recommend-button").disabled = state.rated.size === 0;
  }

  function reasonText(reasons) {
    if (!reasons || !reasons.length) return null;
    const liked = !state.ready || state.ready.feedback_kind !== "explicit";
    const names = reasons.map((r) => {
      const given = state.rated.get(String(r.item));
      return label(r) + (given && !liked ? " " + given.rating : "");
    });
    return (liked ? "Because you liked " : "Because you rated ") + names.join(", ");
  }

  function renderRecommendations(target, items, options) {
    target.replaceChildren();
    for (const entry of items) {
      const li = el("li", {}, el("span", { class: "title" }, label(entry)));
      if (options.similar !== false) {
        li.append(el("button", { type: "button", class: "secondary", "aria-label": "More like " + label(entry),
          onclick: () => showSimilar(entry) }, "More like this"));
      }
      if (options.rate) li.append(rateControls(entry));
      const why = reasonText(entry.reasons);
      if (why) li.append(el("p", { class: "reasons" }, why));
      target.append(li);
    }
  }

  async function search(event) {
    event.preventDefault();
    const query = $("search-input").value.trim();
    try {
      const found = await api("/items?limit=10&query=" + encodeURIComponent(query));
      renderRecommendations($("search-results"), found.items, { similar: false, rate: true });
      say(found.items.length ? found.items.length + " titles found." : "No title matches \u201c" + query + "\u201d.");
    } catch (err) { say(err.message, true); }
  }

  async function recommendForMe() {
    const history = Array.from(state.rated.values()).map((e) => ({ item: e.item, rating: e.rating }));
    try {
      const recs = await api("/recommendations", { method: "POST", body: JSON.stringify({ history: history, n: 10, why: 2 }) });
      $("history-block").hidden = true;
      renderRecommendations($("recommendations"), recs.items, { rate: true });
      say("Top " + recs.items.length + " for you (model " + recs.model_version + ")" +
          (recs.ignored.length ? "; ignored unknown items " + recs.ignored.join(", ") : "") + ".");
      $("results-heading").focus();
    } catch (err) { say(err.message, true); }
  }

  async function showUser(event) {
    event.preventDefault();
    const user = $("user-input").value.trim();
    if (!user) { say("Enter a user id.", true); return; }
    try {
      const id = encodeURIComponent(user);
      const [recs, history] = await Promise.all([api("/users/" + id + "/recommendations?n=10&why=2"), api("/users/" + id + "/history")]);
      renderRecommendations($("recommendations"), recs.items, {});
      const list = $("history");
      list.replaceChildren();
      for (const entry of history.items.slice(0, 50)) {
        list.append(el("li", {}, el("span", { class: "title" }, label(entry)),
          el("span", {}, entry.rating === null ? "watched" : "rated " + entry.rating)));
      }
      $("history-block").hidden = false;
      say("Top " + recs.items.length + " for user " + user + "; " + history.items.length + " items in their history.");
      $("results-heading").focus();
    } catch (err) { say(err.message, true); }
  }

  async function showSimilar(entry) {
    try {
      const similar = await api("/items/" + encodeURIComponent(entry.item) + "/similar?n=10");
      $("similar-heading").textContent = "More like " + label(entry);
      renderRecommendations($("similar"), similar.items, { rate: true });
      $("similar-block").hidden = false;
      $("similar-heading").focus();
    } catch (err) { say(err.message, true); }
  }

  async function start() {
    $("search-form").addEventListener("submit", search);
    $("user-form").addEventListener("submit", showUser);
    $("recommend-button").addEventListener("click", recommendForMe);
    try {
      state.ready = await api("/ready");
      $("model-line").textContent = "Model " + state.ready.model_version + ": " + state.ready.items.toLocaleString() +
        " items, " + state.ready.users.toLocaleString() + " users (" + state.ready.scale + ").";
    } catch (err) { $("model-line").textContent = "The model is not ready: " + err.message; }
    renderRated();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
