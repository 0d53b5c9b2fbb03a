/* The public maps: the overview (clusters, filters, live updates), a report's place, and choosing a place.
 * Everything the map shows is also reachable without it: the list of reports and typed coordinates. */
(function () {
  "use strict";
  var element = document.getElementById("map");
  var configElement = document.getElementById("map-config");
  if (!element || !configElement || typeof L === "undefined") return;
  var config = JSON.parse(configElement.textContent);
  var strings = config.strings;
  var status = document.getElementById("map-status");

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_match, name) { return values[name]; });
  }

  // German and English: one form for 1, another for every other number.
  function plural(count, forms) {
    return format(count === 1 ? forms[0] : forms[1], { count: count });
  }

  function announce(text) {
    if (status) status.textContent = text;
  }

  // Pins by status type: shape and glyph as well as colour, so the kind never depends on colour alone.
  var GLYPHS = { open: "!", progress: "\u2026", fixed: "\u2713", closed: "\u2715" };

  var map = L.map(element, { center: config.center, zoom: config.zoom });
  // Tiles are decoration: when the tile server is unreachable the markers, filters and list still work.
  L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
  window.openMelderMap = map;

  if (config.point) {
    map.setView(config.point, config.pointZoom);
    L.marker(config.point, { keyboard: false, interactive: false, alt: "" }).addTo(map);
    return;
  }
  if (config.pick) {
    setUpPicking();
    return;
  }
  setUpOverview();

  function setUpPicking() {
    var lat = document.getElementById("id_lat");
    var lon = document.getElementById("id_lon");
    var marker = null;

    function show(position, pan) {
      if (marker) marker.setLatLng(position);
      else marker = L.marker(position, { keyboard: false, interactive: false, alt: "" }).addTo(map);
      if (pan) map.setView(position, Math.max(map.getZoom(), 16));
    }

    function choose(position) {
      var chosen = { lat: position.lat.toFixed(6), lon: position.lng.toFixed(6) };
      lat.value = chosen.lat;
      lon.value = chosen.lon;
      show(position, false);
      announce(format(strings.chosen, chosen));
    }

    function typed() {
      var position = [parseFloat(lat.value.replace(",", ".")), parseFloat(lon.value.replace(",", "."))];
      if (isFinite(position[0]) && isFinite(position[1])) show(position, true);
    }

    map.on("click", function (event) { choose(event.latlng); });
    element.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target === element) {
        event.preventDefault();
        choose(map.getCenter());
      }
    });
    lat.addEventListener("change", typed);
    lon.addEventListener("change", typed);
    typed();
    window.openMelderChoose = function (latitude, longitude) { choose(L.latLng(latitude, longitude)); show([latitude, longitude], true); };
  }

  function setUpOverview() {
    var layer = L.layerGroup().addTo(map);
    var filters = document.getElementById("map-filters");
    var panel = document.getElementById("map-filters-panel");
    // On a phone the filters fold away so that the map fits on the first screen; chosen filters stay in view.
    if (panel && window.matchMedia && window.matchMedia("(max-width: 37.5rem)").matches && !location.search) {
      panel.open = false;
    }
    var listLink = document.getElementById("list-link");
    var listBase = listLink ? listLink.getAttribute("href").split("?")[0] : null;
    var pending = null;
    var generation = 0;
    var liveNote = false;

    function filterParams() {
      var params = new URLSearchParams();
      ["category", "status"].forEach(function (name) {
        var field = filters && filters.elements[name];
        if (field && field.value) params.set(name, field.value);
      });
      return params;
    }

    function markerFor(feature, fannedTo) {
      var p = feature.properties || {};
      var c = feature.geometry.coordinates;
      var position = fannedTo || [c[1], c[0]];
      var count = p.count || p.point_count || 1;
      if (p.cluster || count > 1) {
        var size = count < 10 ? 34 : count < 100 ? 40 : 48;
        var label = plural(count, strings.cluster);
        var cluster = L.marker(position, {
          icon: L.divIcon({ className: "cluster", html: "<span>" + count + "</span>", iconSize: [size, size] }),
          title: label,
        });
        var zoomIn = function () { map.setView(position, Math.min(map.getZoom() + 2, 19)); };
        cluster.on("click", zoomIn);
        // Leaflet gives markers role=button but reacts to keys only for popups: Enter and Space zoom in here.
        cluster.on("keypress", function (event) {
          var key = event.originalEvent.key;
          if (key === "Enter" || key === " ") {
            event.originalEvent.preventDefault();
            zoomIn();
          }
        });
        cluster.on("add", function () {
          var icon = cluster.getElement();
          icon.setAttribute("aria-label", label);
          icon.dataset.count = count;
        });
        return cluster;
      }
      var category = config.categories[p.category] || p.category || "";
      var statusLabel = config.statuses[p.status] || p.status || "";
      var key = p.reference || p.id || feature.id;
      var kind = pinKind(p);
      var label = format(strings.report, { category: category, status: statusLabel });
      var point = L.marker(position, {
        icon: L.divIcon({
          className: "pin pin-" + kind,
          html: '<span class="pin-shape" aria-hidden="true"><span class="pin-glyph">' + GLYPHS[kind] + "</span></span>",
          iconSize: [30, 30], iconAnchor: [15, 15], popupAnchor: [0, -14],
        }),
      });
      point.bindPopup(popupFor(p, key, category, statusLabel), { maxWidth: 240, minWidth: 180 });
      point.on("add", function () {
        var icon = point.getElement();
        icon.setAttribute("aria-label", label);
        icon.dataset.reportId = p.id || feature.id || "";
        icon.dataset.kind = kind;
        icon.classList.add("report-marker");
      });
      return point;
    }

    function pinKind(p) {
      if (p.status === "in_progress") return "progress";
      return GLYPHS[p.status_type] ? p.status_type : "open";
    }

    function popupFor(p, key, category, statusLabel) {
      // What the map API sends (category, status) at once; date, place and photo when the popup opens.
      var popup = document.createElement("div");
      popup.className = "report-popup";
      var title = document.createElement("p");
      title.className = "popup-title";
      title.textContent = category + " – " + statusLabel;
      var details = document.createElement("div");
      details.className = "popup-details";
      var link = document.createElement("a");
      link.href = config.detailUrl.replace("KEY", encodeURIComponent(key));
      link.textContent = strings.open + (p.reference ? " " + p.reference : "");
      popup.appendChild(title);
      popup.appendChild(details);
      popup.appendChild(link);
      popup.dataset.previewUrl = p.id ? config.previewUrl.replace(config.previewKey, encodeURIComponent(p.id)) : "";
      return popup;
    }

    function paragraph(parent, className, text) {
      var element = document.createElement("p");
      element.className = className;
      element.textContent = text;
      parent.appendChild(element);
      return element;
    }

    map.on("popupopen", function (event) {
      var popup = event.popup;
      var content = popup.getContent();
      if (!content || !content.dataset || !content.dataset.previewUrl || content.dataset.filled) return;
      content.dataset.filled = "loading";
      fetch(content.dataset.previewUrl, { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          var details = content.querySelector(".popup-details");
          if (data.thumbnail) {
            var image = document.createElement("img");
            image.className = "popup-photo";
            image.alt = strings.photo;
            image.width = 200;
            image.addEventListener("load", function () { popup.update(); });
            image.src = data.thumbnail;
            content.insertBefore(image, content.firstChild);
          }
          paragraph(details, "popup-date", format(strings.reportedOn, { date: data.created }));
          var place = [data.address, data.municipality].filter(Boolean).join(", ");
          if (place) paragraph(details, "popup-address", place);
          var link = content.querySelector("a");
          link.href = data.url;
          link.textContent = strings.open + " " + data.reference;
          content.dataset.filled = "done";
          popup.update();
        })
        .catch(function () { content.dataset.filled = ""; });
    });

    function sameSpot(features) {
      // Reports at identical coordinates fan out around their spot, each its own marker to open.
      var groups = {};
      features.forEach(function (feature) {
        var p = feature.properties || {};
        if (p.cluster || (p.count || p.point_count || 1) > 1) return;
        var key = feature.geometry.coordinates.join(",");
        (groups[key] = groups[key] || []).push(feature);
      });
      return groups;
    }

    function fan(position, index, total) {
      var centre = map.latLngToLayerPoint(position);
      var radius = Math.min(18 + 5 * total, 90);
      var angle = (2 * Math.PI * index) / total - Math.PI / 2;
      return map.layerPointToLatLng(centre.add(L.point(Math.cos(angle) * radius, Math.sin(angle) * radius)));
    }

    // An open popup stays open: redrawing the markers (after the popup pans the map into view, or a live
    // update) would close it under the reader's eyes; what changed meanwhile is loaded when it closes.
    var popupOpen = false;
    var skipped = false;
    map.on("popupopen", function () { popupOpen = true; });
    map.on("popupclose", function () {
      popupOpen = false;
      if (skipped) {
        skipped = false;
        refreshSoon();
      }
    });

    function load() {
      if (popupOpen) {
        skipped = true;
        return;
      }
      var params = filterParams();
      var bounds = map.getBounds();
      // The API takes WGS 84 ranges; a world-wide view can reach beyond them.
      params.set("bbox", [
        Math.max(bounds.getWest(), -180), Math.max(bounds.getSouth(), -90),
        Math.min(bounds.getEast(), 180), Math.min(bounds.getNorth(), 90),
      ].map(function (n) { return n.toFixed(6); }).join(","));
      params.set("zoom", String(map.getZoom()));
      var mine = ++generation;
      fetch(config.dataUrl + "?" + params.toString(), { headers: { Accept: "application/geo+json, application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          if (mine !== generation) return;  // an older answer arriving late must not replace a newer one
          layer.clearLayers();
          var total = 0;
          var features = data.features || [];
          var groups = sameSpot(features);
          features.forEach(function (feature) {
            var p = feature.properties || {};
            total += p.count || p.point_count || 1;
            var group = groups[feature.geometry.coordinates.join(",")];
            if (!group || group.length < 2) {
              layer.addLayer(markerFor(feature));
              return;
            }
            var c = feature.geometry.coordinates;
            var spot = L.latLng(c[1], c[0]);
            var position = fan(spot, group.indexOf(feature), group.length);
            layer.addLayer(L.polyline([spot, position], { className: "fan-leg", interactive: false, weight: 2 }));
            layer.addLayer(markerFor(feature, position));
          });
          element.dataset.loaded = String(generation);
          announce((liveNote ? strings.live + " " : "") + plural(total, strings.loaded));
          liveNote = false;
        })
        .catch(function () { if (mine === generation) announce(strings.failed); });
    }

    function refreshSoon() {
      if (pending) clearTimeout(pending);
      pending = setTimeout(load, 250);
    }

    function filtersChanged() {
      var params = filterParams();
      var query = params.toString();
      if (listLink) listLink.setAttribute("href", listBase + (query ? "?" + query : ""));
      history.replaceState(null, "", query ? "?" + query : location.pathname);
      refreshSoon();
    }

    if (filters) {
      filters.addEventListener("change", filtersChanged);
      filters.addEventListener("submit", function (event) { event.preventDefault(); filtersChanged(); });
    }
    map.on("moveend", refreshSoon);
    load();
    listen();

    function listen() {
      // New and changed reports arrive over the map socket; the map then reloads what it shows.
      var delay = 1000;
      function connect() {
        var scheme = location.protocol === "https:" ? "wss://" : "ws://";
        var socket = new WebSocket(scheme + location.host + config.socketPath);
        socket.onopen = function () {
          // After a lost connection, whatever changed meanwhile is in the next load.
          if (element.dataset.live === "closed") refreshSoon();
          delay = 1000;
          element.dataset.live = "connected";
        };
        socket.onmessage = function (message) {
          var event;
          try { event = JSON.parse(message.data); } catch (error) { return; }
          if (event.kind === "created") liveNote = true;
          refreshSoon();
        };
        socket.onclose = function () {
          element.dataset.live = "closed";
          setTimeout(connect, delay);
          delay = Math.min(delay * 2, 30000);
        };
      }
      if ("WebSocket" in window) connect();
    }
  }
})();
