// Zoom and rotate for document images on the review screen. No external libraries.
(function () {
  "use strict";
  document.querySelectorAll("[data-kyc-viewer]").forEach(function (box) {
    var img = box.querySelector("img");
    if (!img) { return; }
    var scale = 1, angle = 0;
    function apply() { img.style.transform = "scale(" + scale + ") rotate(" + angle + "deg)"; }
    box.parentNode.querySelectorAll("[data-kyc-tool]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        var tool = button.getAttribute("data-kyc-tool");
        if (tool === "zoom-in") { scale = Math.min(scale * 1.25, 8); }
        if (tool === "zoom-out") { scale = Math.max(scale / 1.25, 0.25); }
        if (tool === "rotate") { angle = (angle + 90) % 360; }
        if (tool === "reset") { scale = 1; angle = 0; }
        apply();
      });
    });
  });
})();

// Ticking a reason ticks the items it re-requests (the reasons' data-slots).
(function () {
  "use strict";
  document.querySelectorAll("form").forEach(function (form) {
    var reasons = form.querySelectorAll("input[type=checkbox][data-slots]");
    if (!reasons.length) { return; }
    reasons.forEach(function (reason) {
      reason.addEventListener("change", function () {
        var wanted = {};
        reasons.forEach(function (r) {
          if (r.checked) { r.getAttribute("data-slots").split(" ").forEach(function (s) { wanted[s] = true; }); }
        });
        reason.getAttribute("data-slots").split(" ").forEach(function (slot) {
          var box = form.querySelector("input[type=checkbox][name$=slots][value='" + slot + "']");
          if (box) { box.checked = !!wanted[slot]; }
        });
      });
    });
  });
})();
