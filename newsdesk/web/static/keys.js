// Keyboard shortcuts for the reader: j/k next/previous item, o (or Enter) open,
// s save, ? help. Purely an enhancement: every action is also a link or a
// form button, and nothing here runs while the reader is typing in a field.
(function () {
  "use strict";
  var ITEMS = "[data-item], .card-list article.card, .related-item";
  var current = -1;
  var help = null;

  function items() { return Array.prototype.slice.call(document.querySelectorAll(ITEMS)); }

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName));
  }

  function select(delta) {
    var list = items();
    if (!list.length) { return; }
    if (current >= 0 && list[current]) { list[current].classList.remove("kbd-current"); }
    current = Math.max(0, Math.min(list.length - 1, current + delta));
    var item = list[current];
    item.classList.add("kbd-current");
    item.scrollIntoView({ block: "nearest" });
    var link = item.querySelector("[data-open], a[href]");
    if (link) { link.focus({ preventScroll: true }); }
  }

  function open() {
    var item = items()[current];
    var link = item ? item.querySelector("[data-open], a[href]") : null;
    if (link) { link.click(); }
  }

  function save() {
    var item = items()[current];
    var form = (item && item.querySelector("form[data-save]")) ||
      document.querySelector(".reader-actions form[data-save]");
    if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
  }

  function buildHelp() {
    var box = document.createElement("div");
    box.id = "kbd-help";
    box.className = "kbd-help";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-labelledby", "kbd-help-title");
    box.tabIndex = -1;
    box.hidden = true;
    var rows = [["j", "Next item"], ["k", "Previous item"], ["o / Enter", "Open the item"],
                ["s", "Save or unsave"], ["?", "Show or hide this help"], ["Esc", "Close"]];
    var html = '<h2 id="kbd-help-title">Keyboard shortcuts</h2><dl>';
    rows.forEach(function (r) { html += "<dt><kbd>" + r[0] + "</kbd></dt><dd>" + r[1] + "</dd>"; });
    box.innerHTML = html + '</dl><button type="button" class="kbd-close">Close</button>';
    box.querySelector(".kbd-close").addEventListener("click", toggleHelp);
    document.body.appendChild(box);
    return box;
  }

  function toggleHelp() {
    help = help || buildHelp();
    help.hidden = !help.hidden;
    if (!help.hidden) { help.focus(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) { return; }
    var actions = { j: function () { select(1); }, k: function () { select(-1); },
                    o: open, s: save, "?": toggleHelp };
    if (event.key === "Escape" && help && !help.hidden) { toggleHelp(); return; }
    if (event.key === "Enter" && current >= 0) { open(); event.preventDefault(); return; }
    var action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });
})();
