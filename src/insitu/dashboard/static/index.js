// The experiments list: one row per experiment given to `insitu dashboard`.
"use strict";

function countsText(counts) {
  const parts = Object.entries(counts || {}).map(([state, n]) => `${n} ${state.toLowerCase()}`);
  return parts.length ? esc(parts.join(", ")) : "–";
}

async function refreshList() {
  const body = document.querySelector("#experiments tbody");
  let rows;
  try {
    rows = await getJSON("/api/experiments");
  } catch (err) {
    body.innerHTML = `<tr><td colspan="6" class="alert">${esc(err.message)}</td></tr>`;
    return;
  }
  if (!rows.length) {
    body.innerHTML = '<tr><td colspan="6" class="note">No experiment given.</td></tr>';
    return;
  }
  body.innerHTML = rows.map((r) => `
    <tr data-key="${esc(r.key)}">
      <td><a href="/exp/${encodeURIComponent(r.key)}">${esc(r.name)}</a></td>
      <td>${r.error ? badge("error") : badge(r.state)}</td>
      <td>${r.error ? `<span class="note">${esc(r.error)}</span>` : countsText(r.counts)}
        ${!r.error && r.skipped ? `<span class="warn">${r.skipped} unreadable line(s) skipped</span>` : ""}</td>
      <td>${fmtClock(r.began)}</td>
      <td>${fmtClock(r.last)}</td>
      <td class="note">${esc(r.path)}</td>
    </tr>`).join("");
}

refreshList();
setInterval(refreshList, 3000);
