// Optional enhancement of the AI blocks: fetch the same page with the reader's
// request and swap in the block, so the article does not reload and lose its
// place. Without this script the links and GET forms do exactly the same.
(function () {
  "use strict";
  var BLOCKS = ["ai-features", "story-ask"];

  function swap(id, url) {
    var block = document.getElementById(id);
    block.setAttribute("aria-busy", "true");
    block.classList.add("ai-loading");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
        if (!fresh) { throw new Error("no block"); }
        block.replaceWith(fresh);
        history.replaceState(null, "", url);
        var result = fresh.querySelector(".ai-result");
        if (result) { result.setAttribute("tabindex", "-1"); result.focus({ preventScroll: true }); }
      })
      .catch(function () { window.location.assign(url); });
  }

  function formUrl(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var url = new URL(form.action, window.location.href);
    url.search = new URLSearchParams(data).toString();
    return url.toString();
  }

  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest(".ai-actions a");
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) { return; }
    e.preventDefault();
    var block = link.closest(".ai-block");
    swap(block ? block.id : "ai-features", link.href);
  });

  // A story brief not built yet is fetched at once, after the page has rendered.
  var pending = document.querySelector("[data-autoload] a");
  if (pending) {
    var target = pending.closest("[data-autoload]").getAttribute("data-autoload");
    var keep = window.location.href;
    swap(target, pending.href).then(function () { history.replaceState(null, "", keep); });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    var block = BLOCKS.filter(function (id) {
      var el = document.getElementById(id);
      return el && el.contains(form);
    })[0];
    if (!block || form.method.toLowerCase() !== "get") { return; }
    e.preventDefault();
    swap(block, formUrl(form, e.submitter));
  });
})();
