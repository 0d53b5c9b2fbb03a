/* The area alert form's map: taps add the corners of the area to draw (written into the GeoJSON field), or,
 * with "radius around a place" chosen, set the place's latitude and longitude. The typed fields do the same
 * without the map (keyboard, screen readers, no JavaScript). */
(function () {
  "use strict";
  var element = document.getElementById("alert-map");
  var configElement = document.getElementById("alert-map-config");
  if (!element || !configElement || typeof L === "undefined") return;
  var config = JSON.parse(configElement.textContent);
  var area = document.getElementById("id_area");
  var lat = document.getElementById("id_lat");
  var lon = document.getElementById("id_lon");
  var status = document.getElementById("alert-map-status");
  var radiusChoice = document.querySelector('input[name="scope"][value="radius"]');
  var areaChoice = document.querySelector('input[name="scope"][value="area"]');
  element.hidden = false;
  document.getElementById("alert-map-tools").hidden = false;

  var map = L.map(element, { center: config.center, zoom: config.zoom });
  L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
  var corners = [];
  var shape = null;
  var marker = null;

  function say(text) { if (status) status.textContent = text; }

  function draw() {
    if (shape) { map.removeLayer(shape); shape = null; }
    if (corners.length >= 2) shape = L.polygon(corners, { color: "#0b4f8a" }).addTo(map);
    if (corners.length >= 3) {
      var ring = corners.map(function (c) { return [Number(c.lng.toFixed(6)), Number(c.lat.toFixed(6))]; });
      ring.push(ring[0]);
      area.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    } else {
      area.value = "";
    }
    say(config.strings.corners.replace("%(count)s", corners.length));
  }

  map.on("click", function (event) {
    if (radiusChoice && radiusChoice.checked) {
      lat.value = event.latlng.lat.toFixed(6);
      lon.value = event.latlng.lng.toFixed(6);
      if (marker) map.removeLayer(marker);
      marker = L.circleMarker(event.latlng, { radius: 8, color: "#0b4f8a" }).addTo(map);
      say(config.strings.place);
      return;
    }
    if (areaChoice) areaChoice.checked = true;
    corners.push(event.latlng);
    draw();
  });
  document.getElementById("alert-map-undo").addEventListener("click", function () { corners.pop(); draw(); });
  document.getElementById("alert-map-clear").addEventListener("click", function () { corners = []; draw(); });
})();
