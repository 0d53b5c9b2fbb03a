/* The report form shows the extra questions of the chosen category only. Without the script every category's
 * questions are on the page, each group named by its category, and the server checks the chosen one's only.
 * A group that is not shown is disabled too, so its answers are not sent. */
(function () {
  "use strict";
  var select = document.getElementById("id_category");
  var groups = document.querySelectorAll("fieldset.questions[data-category]");
  if (!select || !groups.length) return;

  function show() {
    Array.prototype.forEach.call(groups, function (group) {
      var chosen = group.getAttribute("data-category") === select.value;
      group.hidden = !chosen;
      group.disabled = !chosen;
    });
  }

  select.addEventListener("change", show);
  show();
})();
