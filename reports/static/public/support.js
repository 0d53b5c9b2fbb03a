/* "Me too" on a report's page: counted through the citizen API, once per device (a random id kept in this
 * browser); without the script the form posts to the page itself, once per browser session. */
(function () {
  "use strict";
  var form = document.getElementById("support");
  if (!form || !window.fetch) return;
  var button = document.getElementById("support-button");
  var count = document.getElementById("support-count");
  var status = document.getElementById("support-status");

  function deviceId() {
    var id = null;
    try { id = localStorage.getItem("openmelder-device"); } catch (error) { /* storage may be blocked */ }
    if (!id) {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      id = "web-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { localStorage.setItem("openmelder-device", id); } catch (error) { /* counted once per page then */ }
    }
    return id;
  }

  function say(text, failed) {
    status.textContent = text;
    status.classList.toggle("support-error", !!failed);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    fetch(form.dataset.api, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ device_id: deviceId() }),
      credentials: "omit",
    }).then(function (response) {
      if (response.status === 429) throw new Error("throttled");
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      count.textContent = String(data.support_count);
      say(form.dataset.thanks, false);
    }).catch(function (error) {
      button.disabled = false;
      say(error.message === "throttled" ? form.dataset.tooMany : form.dataset.failed, true);
    });
  });
})();
