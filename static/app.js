// Heartbeat Monitor dashboard: the remembered theme toggle, the "updated Xs ago"
// stamp, copy buttons and the summary cards acting as filters. Loaded in <head>
// without defer so the theme is set before the first paint. No framework.
(function () {
  "use strict";
  var root = document.documentElement;
  var KEY = "hb-theme";
  try {
    var saved = localStorage.getItem(KEY);
    if (saved === "light" || saved === "dark") root.dataset.theme = saved;
  } catch (e) { /* storage disabled: follow the system */ }

  function dark() {
    if (root.dataset.theme) return root.dataset.theme === "dark";
    return window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  // The button says what clicking it does: in the dark theme (chosen, or the system's)
  // it offers the light one, and the other way round.
  function showTheme(btn) {
    var lbl = btn.querySelector(".lbl");
    if (lbl) lbl.textContent = dark() ? "Light mode" : "Dark mode";
    btn.title = dark() ? "Switch to the light theme" : "Switch to the dark theme";
  }

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 5) return "just now";
    if (s < 60) return s + "s ago";
    if (s < 3600) return Math.floor(s / 60) + "m ago";
    return Math.floor(s / 3600) + "h ago";
  }

  // The stamp is re-rendered by every refresh; its age counts from when it arrived.
  function tick() {
    var el = document.getElementById("updated");
    if (!el) return;
    if (!el.dataset.seen) el.dataset.seen = String(Date.now());
    var text = "Updated " + ago(Date.now() - Number(el.dataset.seen));
    if (el.classList.contains("stale")) text += " · refresh failed, retrying";
    el.textContent = text;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var btn = document.getElementById("theme");
    if (btn) {
      showTheme(btn);
      btn.addEventListener("click", function () {
        var next = dark() ? "light" : "dark";
        root.dataset.theme = next;
        try { localStorage.setItem(KEY, next); } catch (e) { /* not remembered */ }
        showTheme(btn);
      });
      window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () { showTheme(btn); });
    }
    tick();
    window.setInterval(tick, 1000);
  });

  document.addEventListener("click", function (ev) {
    var copy = ev.target.closest("[data-copy]");
    if (copy) {
      var src = document.getElementById(copy.dataset.copy);
      if (src && navigator.clipboard) {
        navigator.clipboard.writeText(src.textContent).then(function () {
          copy.textContent = "Copied";
          window.setTimeout(function () { copy.textContent = "Copy"; }, 2000);
        });
      }
      return;
    }
    // A summary card narrows the list to its status, like the status filter does.
    var card = ev.target.closest("a.card");
    var select = document.getElementById("status");
    if (card && select && window.htmx) {
      ev.preventDefault();
      var want = new URL(card.href).searchParams.get("status") || "";
      select.value = select.value === want ? "" : want;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  function stale(on) {
    var el = document.getElementById("updated");
    if (el) { el.classList.toggle("stale", on); tick(); }
  }
  document.addEventListener("htmx:sendError", function () { stale(true); });
  document.addEventListener("htmx:responseError", function () { stale(true); });
  document.addEventListener("htmx:afterSettle", function () { tick(); });
})();
