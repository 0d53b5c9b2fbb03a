/* Progressive enhancement for the staff pages; every page works without it. */
(function () {
  "use strict";

  // A chosen response template fills the answer field at once (without JS: the "Use template" button).
  document.querySelectorAll("select[data-fills]").forEach(function (select) {
    var target = document.getElementById(select.dataset.fills);
    if (!target) return;
    select.form.querySelectorAll(".js-hide").forEach(function (button) { button.hidden = true; });
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      if (option && option.dataset.text !== undefined) {
        target.value = option.dataset.text;
        target.focus();
      }
    });
  });

  // "Sort by distance": ask the browser for the position and reload with ?near=lat,lon.
  var sortButton = document.getElementById("sort-by-distance");
  var geoStatus = document.getElementById("geo-status");
  if (sortButton && "geolocation" in navigator) {
    sortButton.hidden = false;
    sortButton.addEventListener("click", function () {
      sortButton.disabled = true;
      if (geoStatus) geoStatus.textContent = sortButton.dataset.locating || "";
      navigator.geolocation.getCurrentPosition(function (position) {
        var params = new URLSearchParams(sortButton.dataset.query || "");
        params.set("near", position.coords.latitude.toFixed(6) + "," + position.coords.longitude.toFixed(6));
        params.set("ordering", "distance");
        window.location.search = params.toString();
      }, function () {
        sortButton.disabled = false;
        if (geoStatus) geoStatus.textContent = sortButton.dataset.failed || "";
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
    });
  }

  // Bulk actions: a "select all on this page" box, the number selected announced, and the result of the last
  // action (the messages above the list) read out first.
  var bulkForm = document.getElementById("bulk-form");
  if (bulkForm) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="reports"][form="bulk-form"]'));
    var all = document.getElementById("select-all");
    var count = document.getElementById("bulk-count");
    var announce = function () {
      var n = boxes.filter(function (box) { return box.checked; }).length;
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
      count.textContent = n === 0 ? count.dataset.none : n === 1 ? count.dataset.one : count.dataset.many.replace("%(count)s", n);
    };
    all.parentElement.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      announce();
    });
    boxes.forEach(function (box) { box.addEventListener("change", announce); });
    var results = document.querySelector(".messages");
    if (results) {
      results.tabIndex = -1;
      results.focus();
    }
  }

  // Called by django-leaflet once the map exists: centre it on the report and mark the place.
  window.staffMapInit = function (map) {
    var element = document.getElementById("report-map");
    var lat = parseFloat(element.dataset.lat), lon = parseFloat(element.dataset.lon);
    if (isNaN(lat) || isNaN(lon)) return;
    map.setView([lat, lon], 17);
    L.marker([lat, lon], {keyboard: false}).addTo(map);
  };
})();
