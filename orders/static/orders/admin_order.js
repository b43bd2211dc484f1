/* The order page's dialogs: open and close them, show the carrier-name box for "other", and list only the
   chosen carrier's services. Everything is checked again on the server; without JavaScript the buttons'
   dialogs are also reachable as pages (ship/ and refund/ under the order's URL). */
(function () {
  document.querySelectorAll("[data-dialog]").forEach(function (button) {
    button.addEventListener("click", function () {
      var dialog = document.getElementById(button.dataset.dialog);
      if (dialog) { dialog.showModal(); }
    });
  });
  document.querySelectorAll("dialog [data-close-dialog]").forEach(function (button) {
    button.addEventListener("click", function () { button.closest("dialog").close(); });
  });
  document.querySelectorAll(".order-dialog-form").forEach(function (form) {
    var carrier = form.querySelector("select[name=carrier]");
    var service = form.querySelector("select[name=service]");
    if (!carrier) { return; }
    function sync() {
      var label = carrier.options[carrier.selectedIndex].text;
      form.querySelectorAll("[data-show-for-carrier]").forEach(function (box) {
        box.hidden = box.dataset.showForCarrier !== carrier.value;
      });
      if (service) {
        service.querySelectorAll("optgroup").forEach(function (group) {
          var mine = group.label === label;
          group.hidden = !mine;
          group.disabled = !mine;
        });
        var chosen = service.options[service.selectedIndex];
        if (chosen && chosen.parentElement.tagName === "OPTGROUP" && chosen.parentElement.disabled) {
          service.value = "";
        }
      }
    }
    carrier.addEventListener("change", sync);
    sync();
  });
})();
