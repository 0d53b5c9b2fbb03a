/* The report form's address search without leaving the page; without the script the search button
 * sends the form and the server lists the places. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var button = document.getElementById("address-search");
  var input = document.getElementById("id_address");
  var results = document.getElementById("address-results");
  var configElement = document.getElementById("map-config");
  if (!form || !button || !input || !results || !configElement) return;
  var strings = JSON.parse(configElement.textContent).search;

  function message(text) {
    results.textContent = "";
    var p = document.createElement("p");
    p.className = "notice";
    p.textContent = text;
    results.appendChild(p);
  }

  function show(places) {
    if (!places.length) {
      message(strings.none);
      return;
    }
    results.textContent = "";
    var heading = document.createElement("p");
    heading.textContent = strings.found.replace("%(count)s", places.length);
    var list = document.createElement("ul");
    list.className = "places";
    places.forEach(function (place) {
      var item = document.createElement("li");
      var choose = document.createElement("button");
      choose.type = "button";
      choose.textContent = place.label;
      choose.addEventListener("click", function () {
        input.value = place.label;
        if (window.openMelderChoose) window.openMelderChoose(place.lat, place.lon);
        else {
          document.getElementById("id_lat").value = place.lat.toFixed(6);
          document.getElementById("id_lon").value = place.lon.toFixed(6);
        }
        results.textContent = "";
        message(strings.chosen.replace("%(label)s", place.label));
        document.dispatchEvent(new CustomEvent("openmelder:place"));
      });
      item.appendChild(choose);
      list.appendChild(item);
    });
    results.appendChild(heading);
    results.appendChild(list);
  }

  function search() {
    var text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    message(strings.searching);
    fetch(button.dataset.url + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { results: [], available: false }; })
      .then(function (data) {
        if (data.available === false) message(strings.unavailable);
        else show(data.results || []);
      })
      .catch(function () { message(strings.unavailable); });
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    search();
  });
  input.addEventListener("keydown", function (event) {
    // Enter in the address field searches instead of sending the whole report.
    if (event.key === "Enter") {
      event.preventDefault();
      search();
    }
  });
})();

/* The phone helpers of the report form: the place from the device, open reports nearby to support instead,
 * previews of the chosen photos, and feedback while the report is being sent. Without the script the form
 * works as before (map, address search, coordinates). */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var configElement = document.getElementById("map-config");
  if (!form || !configElement) return;
  var strings = JSON.parse(configElement.textContent).form || {};
  var lat = document.getElementById("id_lat");
  var lon = document.getElementById("id_lon");
  var category = document.getElementById("id_category");

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_match, name) { return values[name]; });
  }

  function choose(latitude, longitude) {
    if (window.openMelderChoose) window.openMelderChoose(latitude, longitude);
    else {
      lat.value = latitude.toFixed(6);
      lon.value = longitude.toFixed(6);
    }
    nearbySoon();
  }

  // --- the place from the device -------------------------------------------------------------
  var locate = document.getElementById("locate");
  var locateStatus = document.getElementById("locate-status");
  if (locate && "geolocation" in navigator) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      locate.disabled = true;
      locateStatus.textContent = strings.locating;
      navigator.geolocation.getCurrentPosition(function (position) {
        locate.disabled = false;
        choose(position.coords.latitude, position.coords.longitude);
        locateStatus.textContent = format(strings.located, {
          lat: position.coords.latitude.toFixed(5), lon: position.coords.longitude.toFixed(5),
        });
      }, function () {
        locate.disabled = false;
        locateStatus.textContent = strings.locateFailed;
        locateStatus.classList.add("notice");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  } else if (locateStatus && strings.locateFailed) {
    locateStatus.textContent = "";
  }

  // --- swapped coordinates -----------------------------------------------------------------
  var swap = document.getElementById("swap-coordinates");
  if (swap) {
    swap.hidden = false;
    swap.addEventListener("click", function () {
      choose(parseFloat(swap.dataset.lat), parseFloat(swap.dataset.lon));
      swap.hidden = true;
    });
  }

  // --- open reports nearby -------------------------------------------------------------------
  var nearby = document.getElementById("nearby");
  var nearbyList = document.getElementById("nearby-list");
  var nearbyStatus = document.getElementById("nearby-status");
  var nearbyTimer = null;
  var nearbyGeneration = 0;

  function deviceId() {
    var id = null;
    try { id = window.localStorage.getItem("openmelder-device"); } catch (error) { id = null; }
    if (!id) {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      id = "web-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { window.localStorage.setItem("openmelder-device", id); } catch (error) { /* private mode: one-off id */ }
    }
    return id;
  }

  function support(report, button, count) {
    button.disabled = true;
    fetch(strings.supportUrl.replace("ID", encodeURIComponent(report.id)), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ device_id: deviceId() }),
    })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        count.textContent = format(strings.supporters, { count: data.support_count });
        button.textContent = strings.supported;
        nearbyStatus.textContent = format(strings.supportedStatus, {
          reference: report.reference, count: data.support_count,
        });
      })
      .catch(function () {
        button.disabled = false;
        nearbyStatus.textContent = strings.supportFailed;
      });
  }

  function showNearby(reports) {
    nearbyList.textContent = "";
    reports.slice(0, 5).forEach(function (report) {
      var item = document.createElement("li");
      item.className = "nearby-report";
      item.dataset.id = report.id;
      var title = document.createElement("p");
      var link = document.createElement("a");
      link.href = strings.detailUrl.replace("KEY", encodeURIComponent(report.reference));
      link.textContent = report.reference;
      title.appendChild(link);
      title.appendChild(document.createTextNode(" · " + report.status_label + " · " +
        format(strings.distance, { metres: Math.round(report.distance_m) })));
      item.appendChild(title);
      if (report.description) {
        var text = document.createElement("p");
        text.className = "nearby-description";
        text.textContent = report.description.length > 140 ? report.description.slice(0, 140) + " …" : report.description;
        item.appendChild(text);
      }
      var count = document.createElement("p");
      count.className = "support-count";
      count.textContent = format(strings.supporters, { count: report.support_count });
      item.appendChild(count);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary support";
      button.textContent = strings.support;
      button.addEventListener("click", function () { support(report, button, count); });
      item.appendChild(button);
      nearbyList.appendChild(item);
    });
    nearby.hidden = reports.length === 0;
    if (reports.length) nearbyStatus.textContent = format(strings.nearbyFound, { count: reports.length });
  }

  function loadNearby() {
    var latitude = parseFloat((lat.value || "").replace(",", "."));
    var longitude = parseFloat((lon.value || "").replace(",", "."));
    var mine = ++nearbyGeneration;
    if (!category || !category.value || !isFinite(latitude) || !isFinite(longitude) ||
        Math.abs(latitude) > 90 || Math.abs(longitude) > 180) {
      nearby.hidden = true;
      return;
    }
    var params = new URLSearchParams({ lat: latitude.toFixed(6), lon: longitude.toFixed(6), category: category.value });
    fetch(strings.nearbyUrl + "?" + params.toString(), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { reports: [] }; })
      .then(function (data) { if (mine === nearbyGeneration) showNearby(data.reports || []); })
      .catch(function () { if (mine === nearbyGeneration) nearby.hidden = true; });
  }

  function nearbySoon() {
    if (!nearby) return;
    if (nearbyTimer) clearTimeout(nearbyTimer);
    nearbyTimer = setTimeout(loadNearby, 300);
  }

  if (nearby && lat && lon) {
    if (category) category.addEventListener("change", nearbySoon);
    lat.addEventListener("change", nearbySoon);
    lon.addEventListener("change", nearbySoon);
    var map = window.openMelderMap;
    if (map) {
      // Registered after the map script's own handlers: the fields already hold the chosen place.
      map.on("click", nearbySoon);
      map.getContainer().addEventListener("keydown", function (event) { if (event.key === "Enter") nearbySoon(); });
    }
    document.addEventListener("openmelder:place", nearbySoon);
    nearbySoon();
  }

  // --- previews of the chosen photos ---------------------------------------------------------
  var photos = document.getElementById("id_photos");
  var previews = document.getElementById("photo-previews");
  var urls = [];
  if (photos && previews && window.URL && URL.createObjectURL) {
    photos.addEventListener("change", function () {
      urls.forEach(function (url) { URL.revokeObjectURL(url); });
      urls = [];
      previews.textContent = "";
      Array.prototype.forEach.call(photos.files || [], function (file, index) {
        var item = document.createElement("li");
        if (/^image\//.test(file.type)) {
          var url = URL.createObjectURL(file);
          urls.push(url);
          var image = document.createElement("img");
          image.src = url;
          image.alt = format(strings.preview, { number: index + 1 });
          item.appendChild(image);
        }
        var name = document.createElement("span");
        name.textContent = file.name;
        item.appendChild(name);
        previews.appendChild(item);
      });
      previews.hidden = !previews.children.length;
    });
  }

  // --- sending ---------------------------------------------------------------------------------
  var send = document.getElementById("send");
  var sending = document.getElementById("sending");
  var progress = document.getElementById("upload-progress");
  var sendingLabel = document.getElementById("sending-label");
  if (!send || !sending || !window.FormData || !window.XMLHttpRequest) return;

  function done() {
    send.disabled = false;
    sending.hidden = true;
  }

  // form.action would be the search button named "action", not the attribute.
  var target = new URL(form.getAttribute("action") || location.pathname, location.href).href;

  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.name === "action") return;  // the address search without the script
    event.preventDefault();
    if (send.disabled) return;  // a second tap while sending sends nothing
    send.disabled = true;
    sending.hidden = false;
    progress.removeAttribute("value");
    sendingLabel.textContent = strings.sending;
    var request = new XMLHttpRequest();
    request.open("POST", target);
    request.upload.addEventListener("progress", function (progressEvent) {
      if (!progressEvent.lengthComputable) return;
      var percent = Math.round(100 * progressEvent.loaded / progressEvent.total);
      progress.value = percent;
      sendingLabel.textContent = format(strings.progress, { percent: percent + " %" });
    });
    request.addEventListener("load", function () {
      var url = request.responseURL || "";
      if (request.status < 400 && url && url.split("?")[0] !== target.split("?")[0]) {
        window.location.assign(url);  // filed: the confirmation page
        return;
      }
      // Errors: the server's page, with every mistake and the kept photos, replaces this one.
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", function () {
      done();
      sendingLabel.textContent = strings.sendFailed;
      sending.hidden = false;
    });
    request.send(new FormData(form));
  });
})();
