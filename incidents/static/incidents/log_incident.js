/* *Log incident*: as urgency and impact change, ask the server what severity and due times they give
   (`IncidentAdmin.severity_preview_view`, the rule classification applies) and show it in the preview box. */
"use strict";
(function () {
  function checked(name) {
    var input = document.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function show(box, data) {
    box.textContent = "";
    box.dataset.severity = data.severity;
    var head = document.createElement("strong");
    head.textContent = data.label;
    box.appendChild(head);
    box.appendChild(document.createTextNode(": " + data.definition));
    if (data.response_due) {
      var due = document.createElement("div");
      due.textContent =
        "Respond within " + data.response_target + " (by " + data.response_due + "), resolve within " +
        data.resolution_target + " (by " + data.resolution_due + ").";
      box.appendChild(due);
    }
  }

  function update(box) {
    var urgency = checked("urgency"), impact = checked("impact");
    if (!urgency || !impact) {
      return;
    }
    var url = box.dataset.url + "?" + new URLSearchParams({ urgency: urgency, impact: impact });
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { show(box, data); } })
      .catch(function () { /* the preview is a help; logging works without it */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("severity-preview");
    if (!box) {
      return;
    }
    document.addEventListener("change", function (event) {
      var name = event.target && event.target.name;
      if (name === "urgency" || name === "impact") {
        update(box);
      }
    });
    update(box); // a form shown again with errors keeps its choices
  });
})();
