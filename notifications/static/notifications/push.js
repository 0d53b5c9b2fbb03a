/* Push notifications for one report in this browser: registers the service worker (/push/sw.js), subscribes
 * with the installation's VAPID key and sends the subscription to OpenMelder; "turn off" removes it for this
 * report. Shown only where the browser supports Web Push; nothing happens without a click. */
(function () {
  "use strict";
  var box = document.getElementById("push");
  if (!box || !window.fetch || !("serviceWorker" in navigator) || !("PushManager" in window) ||
      !("Notification" in window)) return;
  var button = document.getElementById("push-button");
  var status = document.getElementById("push-status");
  var remembered = "openmelder-push-" + box.dataset.report;

  function isOn() {
    try { return localStorage.getItem(remembered) === "1"; } catch (error) { return false; }
  }

  function remember(on) {
    try {
      if (on) localStorage.setItem(remembered, "1"); else localStorage.removeItem(remembered);
    } catch (error) { /* storage may be blocked: the button then offers to turn on again */ }
  }

  function show(on) {
    button.textContent = on ? box.dataset.labelOff : box.dataset.labelOn;
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function say(text, failed) {
    status.textContent = text;
    status.classList.toggle("support-error", !!failed);
  }

  function keyBytes(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function activeRegistration() {
    return navigator.serviceWorker.register(box.dataset.worker, { scope: box.dataset.scope }).then(function (reg) {
      if (reg.active) return reg;
      var worker = reg.installing || reg.waiting;
      return new Promise(function (resolve, reject) {
        worker.addEventListener("statechange", function () {
          if (worker.state === "activated") resolve(reg);
          if (worker.state === "redundant") reject(new Error("worker"));
        });
      });
    });
  }

  function send(method, body) {
    return fetch(box.dataset.api, {
      method: method,
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    }).then(function (response) {
      if (response.status === 429) throw new Error("throttled");
      if (!response.ok) throw new Error(String(response.status));
    });
  }

  function turnOn() {
    return Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error("denied");
      return activeRegistration();
    }).then(function (reg) {
      return reg.pushManager.getSubscription().then(function (existing) {
        return existing || reg.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.key),
        });
      });
    }).then(function (subscription) {
      return send("POST", subscription.toJSON());
    }).then(function () {
      remember(true);
      show(true);
      say(box.dataset.on, false);
    });
  }

  function turnOff() {
    // The browser's subscription may serve other reports too: only this report's registration is removed.
    return navigator.serviceWorker.getRegistration(box.dataset.scope).then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      return subscription ? send("DELETE", { endpoint: subscription.endpoint }) : null;
    }).then(function () {
      remember(false);
      show(false);
      say(box.dataset.off, false);
    });
  }

  box.hidden = false;
  show(isOn());
  button.addEventListener("click", function () {
    button.disabled = true;
    (isOn() ? turnOff() : turnOn()).catch(function (error) {
      var text = box.dataset.failed;
      if (error.message === "denied") text = box.dataset.denied;
      if (error.message === "throttled") text = box.dataset.tooMany;
      say(text, true);
    }).then(function () { button.disabled = false; });
  });
})();
