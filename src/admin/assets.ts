/**
 * The panel's stylesheet and script, served from /admin/assets/ so the
 * Content-Security-Policy can forbid inline scripts. Every page works without
 * the script; it adds confirmations, upload progress, live progress of a
 * mailing and jumps from a letter issue to its line.
 */

export const PANEL_CSS = `
:root { color-scheme: light; --ink: #1d232b; --muted: #5b6674; --line: #d9dee5; --bg: #f5f7fa;
  --accent: #2457c5; --danger: #b42318; --ok: #137333; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg); }
header.top { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #fff;
  border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; font-size: 17px; }
header.top nav { display: flex; gap: 16px; flex: 1; }
header.top nav a { color: var(--muted); text-decoration: none; padding: 4px 0; }
header.top nav a.current { color: var(--ink); border-bottom: 2px solid var(--accent); }
main { max-width: 1120px; margin: 0 auto; padding: 20px 24px 60px; }
h1 { font-size: 24px; margin: 4px 0 16px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
a { color: var(--accent); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 12px 0; }
.card > h2:first-child { margin-top: 0; }
table.details th { width: 200px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; font-size: 13px; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { word-break: break-all; }
.muted { color: var(--muted); }
.small { font-size: 13px; }
form.stack label { display: block; margin: 10px 0 2px; font-weight: 600; }
form.stack .hint { font-weight: 400; color: var(--muted); font-size: 13px; }
input[type=text], input[type=email], input[type=password], input[type=number],
input[type=datetime-local], input[type=search], select, textarea {
  width: 100%; padding: 7px 9px; border: 1px solid #b8c0cc; border-radius: 6px; font: inherit; background: #fff; }
textarea { font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
textarea.code { min-height: 320px; }
fieldset { border: 1px solid var(--line); border-radius: 8px; margin: 14px 0; padding: 8px 14px 12px; }
legend { font-weight: 600; padding: 0 4px; }
.row { display: flex; gap: 14px; flex-wrap: wrap; }
.row > * { flex: 1 1 180px; }
form.stack .checks label { display: inline-flex; gap: 6px; align-items: center; font-weight: 400; margin-right: 18px; }
button, .button { display: inline-block; padding: 7px 14px; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; font: inherit; cursor: pointer; text-decoration: none; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); }
button.link { background: none; border: none; color: var(--muted); padding: 0; }
.actions { display: flex; gap: 10px; flex-wrap: wrap; align-items: center; margin: 12px 0; }
.actions form { margin: 0; }
.notice { border-radius: 8px; padding: 12px 16px; margin: 12px 0; border: 1px solid; }
.notice h3 { margin: 0 0 4px; font-size: 15px; }
.notice ul { margin: 6px 0 0; padding-left: 20px; }
.notice.error { background: #fdf0ef; border-color: #f1b8b3; color: #6e1a12; }
.notice.success { background: #eef8f0; border-color: #b4dcbf; color: #0d4a22; }
.notice.info { background: #eef3fc; border-color: #bcd0f3; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
  background: #e8ebef; color: var(--ink); }
.badge.draft { background: #e8ebef; } .badge.wait { background: #fff3d6; color: var(--warn); }
.badge.sending { background: #dce8fd; color: #1a47a3; } .badge.paused { background: #fde8d7; color: #8a3b00; }
.badge.done { background: #dcf3e2; color: var(--ok); } .badge.cancelled { background: #f6dcda; color: var(--danger); }
.badge.error { background: #f6dcda; color: var(--danger); } .badge.warning { background: #fff3d6; color: var(--warn); }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin: 10px 0; }
.figure { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.figure .value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; }
.figure .label { color: var(--muted); font-size: 13px; }
.bar { display: flex; height: 14px; border-radius: 7px; overflow: hidden; background: #e8ebef; margin: 8px 0; }
.bar span { display: block; height: 100%; }
.state-sent { background: #2e9d55; } .state-failed { background: #c9372c; } .state-uncertain { background: #d98d00; }
.state-skipped { background: #8a94a3; } .state-queued, .state-sending { background: #4f7fe0; } .state-pending { background: #c5ccd6; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 13px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; }
.hbar { background: #7ea3ea; height: 10px; border-radius: 5px; min-width: 1px; }
iframe.preview { width: 100%; height: 720px; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
pre.text { white-space: pre-wrap; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; font-size: 13px; }
progress { width: 100%; height: 16px; }
.upload-status { margin-top: 8px; }
.login { max-width: 420px; margin: 60px auto; }
`;

export const PANEL_JS = `
"use strict";
(function () {
  // Forms with data-confirm ask first; the server asks again when the
  // confirmed field is missing, so a page without this script stays safe.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question) {
      if (!window.confirm(question)) { event.preventDefault(); return; }
      var confirmed = form.querySelector("input[name=confirmed]");
      if (confirmed) confirmed.value = "yes";
    }
    fillIsoTimes(form);
    if (form.hasAttribute("data-upload")) { event.preventDefault(); upload(form); }
  });

  // datetime-local has no time zone: send the browser's reading as ISO 8601.
  function fillIsoTimes(form) {
    form.querySelectorAll("input[data-iso-target]").forEach(function (input) {
      var target = form.querySelector("input[name=" + input.getAttribute("data-iso-target") + "]");
      if (!target) return;
      var time = input.value ? new Date(input.value) : null;
      target.value = time && !isNaN(time.getTime()) ? time.toISOString() : "";
    });
  }

  // Uploads a file form with XMLHttpRequest to show the upload progress, then
  // shows the page the server returned.
  function upload(form) {
    var status = form.querySelector(".upload-status");
    var bar = status.querySelector("progress");
    var label = status.querySelector("span");
    var button = form.querySelector("button[type=submit]");
    status.hidden = false;
    button.disabled = true;
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.onprogress = function (event) {
      if (!event.lengthComputable) return;
      bar.max = event.total; bar.value = event.loaded;
      label.textContent = "Uploading: " + Math.round(100 * event.loaded / event.total) + " %";
    };
    request.upload.onload = function () {
      bar.removeAttribute("value");
      label.textContent = "Uploaded. The server is checking and saving the rows…";
    };
    request.onload = function () { showPage(request.responseText); };
    request.onerror = function () {
      button.disabled = false;
      label.textContent = "The upload failed: the server could not be reached. Check the connection and try again.";
    };
    request.send(new FormData(form));
  }

  function showPage(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var main = page.querySelector("main");
    if (!main) { document.open(); document.write(html); document.close(); return; }
    document.title = page.title;
    document.querySelector("main").replaceWith(document.adoptNode(main));
    window.scrollTo(0, 0);
    startRefresh();
  }

  // Elements with data-refresh-url are replaced by a fresh copy every few
  // seconds while the copy still has data-refresh-url.
  function startRefresh() {
    document.querySelectorAll("[data-refresh-url]").forEach(function (element) {
      if (element.refreshTimer) return;
      var every = Number(element.getAttribute("data-refresh-ms")) || 2000;
      element.refreshTimer = setTimeout(function () { refresh(element); }, every);
    });
  }

  function refresh(element) {
    fetch(element.getAttribute("data-refresh-url"), { credentials: "same-origin", headers: { accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.text();
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.firstElementChild;
        if (!fresh) throw new Error("empty response");
        element.replaceWith(fresh);
        // A final status ends the refresh, and notices such as "Mailing started" no longer apply.
        if (!fresh.hasAttribute("data-refresh-url")) {
          document.querySelectorAll("[data-until-final]").forEach(function (notice) { notice.remove(); });
        }
        startRefresh();
      })
      .catch(function (error) {
        var note = element.querySelector(".refresh-note");
        if (note) note.textContent = "Live updates stopped (" + error.message + "). Reload the page to try again.";
      });
  }

  // Links on letter issues select the line in the editor.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-line]");
    if (!link) return;
    var editor = document.getElementById(link.getAttribute("data-editor"));
    if (!editor) return;
    event.preventDefault();
    var lines = editor.value.split("\\n");
    var line = Math.max(1, Math.min(Number(link.getAttribute("data-line")), lines.length));
    var start = 0;
    for (var i = 0; i < line - 1; i++) start += lines[i].length + 1;
    editor.focus();
    editor.setSelectionRange(start, start + lines[line - 1].length);
    var lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
    editor.scrollTop = Math.max(0, (line - 5) * lineHeight);
  });

  // File inputs with data-load-into put the chosen file's text into an editor.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-load-into")) return;
    var editor = document.getElementById(input.getAttribute("data-load-into"));
    var file = input.files && input.files[0];
    if (!editor || !file) return;
    file.text().then(function (text) { editor.value = text; });
  });

  // A notice in the URL is shown once: reloading or returning to the page does not repeat it.
  var pageUrl = new URL(window.location.href);
  if (pageUrl.searchParams.has("notice")) {
    pageUrl.searchParams.delete("notice");
    history.replaceState(history.state, "", pageUrl.pathname + pageUrl.search + pageUrl.hash);
  }

  startRefresh();
})();
`;
