/* The incident page: warn before leaving it with edits not yet saved (a link, an escalation action, the
   browser's back button, a comment or a checklist tick, which post forms of their own). Submitting the
   incident's own form (save, a transition button, which saves the edits first) is not leaving. */
"use strict";
(function () {
  var dirty = false;
  var submitting = false;

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("incident_form");
    if (!form) {
      return;
    }
    function edited(event) {
      var target = event.target;
      if (target && target.form === form) {
        dirty = true;
      }
    }
    form.addEventListener("input", edited);
    form.addEventListener("change", edited);
    document.addEventListener("submit", function (event) {
      submitting = event.target === form;
    }, true);
    window.addEventListener("pageshow", function () { submitting = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !submitting) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  });
})();
