// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // "/" focuses the query box, as on many search sites (not while typing elsewhere).
  var box = document.getElementById("q");
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (box && event.key === "/" && !/^(INPUT|TEXTAREA|SELECT)$/.test(tag)) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });
  // Choosing a number of results a page, or a field to count by, applies it at once.
  var selects = document.querySelectorAll("select[data-autosubmit]");
  Array.prototype.forEach.call(selects, function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.submit(); }
    });
  });
});
