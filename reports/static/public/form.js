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
