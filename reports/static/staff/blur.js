/* Marking an area of a photo to blur (staff ticket page, leads): drag a rectangle on the photo with a mouse, pen or
   finger, and it fills the form's four number inputs in pixels of the photo as taken. The form is submitted as
   usual; without this script (and for keyboard users) the number inputs are the way. Numbers typed in are drawn
   on the photo too. */
(function () {
  "use strict";

  var NAMES = ["x", "y", "width", "height"];

  function clamp(value, low, high) { return Math.min(Math.max(value, low), high); }

  function setUp(editor) {
    var form = document.getElementById(editor.dataset.form);
    var photoWidth = parseInt(editor.dataset.width, 10), photoHeight = parseInt(editor.dataset.height, 10);
    var selection = editor.querySelector(".blur-selection");
    if (!form || !selection || !(photoWidth > 0) || !(photoHeight > 0)) return;
    var inputs = NAMES.map(function (name) { return form.elements[editor.dataset.prefix + "-" + name]; });
    if (inputs.some(function (input) { return !input; })) return;
    var status = form.querySelector(".blur-status");
    form.querySelectorAll("[data-blur-drag-hint]").forEach(function (hint) { hint.hidden = false; });
    editor.classList.add("blur-editor-active");

    // Where the pointer is, as shares (0…1) of the photo as shown: the same shares of the photo as taken.
    function share(event) {
      var rect = editor.getBoundingClientRect();
      return {
        x: clamp((event.clientX - rect.left) / rect.width, 0, 1),
        y: clamp((event.clientY - rect.top) / rect.height, 0, 1)
      };
    }

    function between(a, b) {
      return {x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y)};
    }

    function draw(box) {
      if (!box || box.w <= 0 || box.h <= 0) { selection.hidden = true; return; }
      selection.hidden = false;
      selection.style.left = (100 * box.x) + "%";
      selection.style.top = (100 * box.y) + "%";
      selection.style.width = (100 * box.w) + "%";
      selection.style.height = (100 * box.h) + "%";
    }

    // The numbers in the inputs as shares of the photo, or null while they are no area.
    function fromInputs() {
      var v = inputs.map(function (input) { return Number(input.value); });
      if (inputs.some(function (input) { return input.value.trim() === ""; }) || v.some(isNaN)) return null;
      return {x: v[0] / photoWidth, y: v[1] / photoHeight, w: v[2] / photoWidth, h: v[3] / photoHeight};
    }

    function fill(box) {
      // Whole pixels of the photo as taken, within the photo.
      var x = clamp(Math.round(box.x * photoWidth), 0, photoWidth - 1);
      var y = clamp(Math.round(box.y * photoHeight), 0, photoHeight - 1);
      var right = clamp(Math.round((box.x + box.w) * photoWidth), x + 1, photoWidth);
      var bottom = clamp(Math.round((box.y + box.h) * photoHeight), y + 1, photoHeight);
      [x, y, right - x, bottom - y].forEach(function (value, index) { inputs[index].value = String(value); });
      draw(fromInputs());
      if (status) status.textContent = status.dataset.chosen || "";
    }

    var start = null;
    editor.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      event.preventDefault();  // no image drag, no text selection
      editor.setPointerCapture(event.pointerId);
      start = share(event);
      draw(null);
    });
    editor.addEventListener("pointermove", function (event) {
      if (start) draw(between(start, share(event)));
    });
    editor.addEventListener("pointerup", function (event) {
      if (!start) return;
      var box = between(start, share(event));
      start = null;
      if (box.w > 0 && box.h > 0) fill(box);
      else draw(fromInputs());  // a tap, not a drag: keep what the inputs say
    });
    editor.addEventListener("pointercancel", function () {
      start = null;
      draw(fromInputs());
    });
    inputs.forEach(function (input) {
      input.addEventListener("input", function () { draw(fromInputs()); });
    });
    draw(fromInputs());
  }

  document.querySelectorAll("[data-blur-editor]").forEach(setUp);
})();
