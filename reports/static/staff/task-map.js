/* "Meine Aufgaben" on a map: clusters of the same grid as the public map, then one pin per task. */
(function () {
  "use strict";

  function format(template, count) { return template.replace("%(count)s", String(count)); }

  // Markers are focusable: Enter (and Space for the buttons) does what a tap does.
  function activateWithKeys(element, action) {
    element.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || (event.key === " " && element.getAttribute("role") === "button")) {
        event.preventDefault();
        action();
      }
    });
  }

  // Called by django-leaflet once the map exists.
  window.staffTasksMapInit = function (map) {
    var element = document.getElementById("tasks-map");
    var status = document.getElementById("map-status");
    var layer = L.layerGroup().addTo(map);
    var request = 0;
    var extent = (element.dataset.extent || "").split(",").map(parseFloat);
    if (extent.length === 4 && extent.every(isFinite)) {
      map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]], {padding: [24, 24], maxZoom: 16});
    }

    function draw(collection, drawn) {
      layer.clearLayers();
      var total = 0;
      collection.features.forEach(function (feature) {
        var lon = feature.geometry.coordinates[0], lat = feature.geometry.coordinates[1];
        var p = feature.properties;
        if (p.cluster) {
          total += p.count;
          var label = p.count === 1 ? element.dataset.groupOne : format(element.dataset.group, p.count);
          var icon = L.divIcon({className: "task-cluster", html: "<span>" + p.count + "</span>", iconSize: [40, 40]});
          var marker = L.marker([lat, lon], {icon: icon, title: label, alt: label, keyboard: true});
          var zoomIn = function () { map.setView([lat, lon], Math.min(map.getZoom() + 2, 18)); };
          marker.on("click", zoomIn);
          marker.addTo(layer);
          var el = marker.getElement();
          if (el) {
            el.setAttribute("role", "button"); el.setAttribute("aria-label", label); el.dataset.count = p.count;
            activateWithKeys(el, zoomIn);
          }
        } else {
          total += 1;
          var title = p.reference + " (" + p.status_label + ")";
          var pin = L.marker([lat, lon], {title: title, alt: title, keyboard: true});
          var open = function () { window.location.href = p.url; };
          pin.on("click", open);
          pin.addTo(layer);
          var pinElement = pin.getElement();
          if (pinElement) {
            pinElement.setAttribute("role", "link"); pinElement.classList.add("task-pin");
            activateWithKeys(pinElement, open);
          }
        }
      });
      element.dataset.loaded = String(drawn);
      status.textContent = total === 1 ? element.dataset.one : format(element.dataset.many, total);
    }

    function load() {
      var bounds = map.getBounds();
      var params = new URLSearchParams(element.dataset.source.split("?")[1] || "");
      params.set("zoom", String(map.getZoom()));
      params.set("bbox", [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
        .map(function (v) { return v.toFixed(6); }).join(","));
      var number = ++request;
      fetch(element.dataset.source.split("?")[0] + "?" + params.toString(), {credentials: "same-origin"})
        .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
        .then(function (collection) { if (number === request) draw(collection, number); })
        .catch(function () { status.textContent = element.dataset.failed; });
    }

    map.on("moveend", load);
    load();
  };
})();
