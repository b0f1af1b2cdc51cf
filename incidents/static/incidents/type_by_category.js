/* The incident type offers the types of the category chosen (seed 2.2: each type belongs to one category).
   The type select carries `data-types-by-category` (category → type values); the category select is the
   form's `category` field. With no category chosen, every type is offered. The server checks the same rule
   (`incidents.services`), so this only spares a round trip. */
"use strict";
(function () {
  function filter(typeSelect, category) {
    var types = JSON.parse(typeSelect.dataset.typesByCategory || "{}");
    var allowed = category ? types[category] || [] : null;
    Array.prototype.forEach.call(typeSelect.options, function (option) {
      option.hidden = Boolean(allowed && option.value && allowed.indexOf(option.value) < 0);
      option.disabled = option.hidden;
    });
    Array.prototype.forEach.call(typeSelect.querySelectorAll("optgroup"), function (group) {
      group.hidden = !Array.prototype.some.call(group.children, function (option) { return !option.hidden; });
    });
    var chosen = typeSelect.options[typeSelect.selectedIndex];
    if (chosen && chosen.hidden) {
      typeSelect.value = "";
    }
  }

  function categoryOf(form) {
    var field = form.querySelector('[name="category"]');
    return field ? field.value : "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-types-by-category]").forEach(function (typeSelect) {
      var form = typeSelect.form;
      if (!form) {
        return;
      }
      filter(typeSelect, categoryOf(form));
      form.addEventListener("change", function (event) {
        if (event.target && event.target.name === "category") {
          filter(typeSelect, event.target.value);
        }
      });
    });
  });
})();
