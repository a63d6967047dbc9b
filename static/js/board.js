// Drag a card onto another column of the pipeline board: this sets the card's own "move to"
// menu and submits its form, so the server does exactly what the no-JavaScript button does
// (and answers with the milestone-date form when the stage needs one).
(function () {
  "use strict";
  var dragged = null;
  document.querySelectorAll(".board-card[draggable=true]").forEach(function (card) {
    card.addEventListener("dragstart", function (event) {
      dragged = card;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.project);
      card.classList.add("dragging");
    });
    card.addEventListener("dragend", function () {
      card.classList.remove("dragging");
      dragged = null;
      document.querySelectorAll(".board-column.drop-ok").forEach(function (c) { c.classList.remove("drop-ok"); });
    });
  });
  function allowed(column) {
    return dragged && dragged.dataset.moves.split(",").indexOf(column.dataset.stage) !== -1;
  }
  document.querySelectorAll(".board-column").forEach(function (column) {
    column.addEventListener("dragover", function (event) {
      if (allowed(column)) {
        event.preventDefault();
        column.classList.add("drop-ok");
      }
    });
    column.addEventListener("dragleave", function () { column.classList.remove("drop-ok"); });
    column.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!allowed(column)) { return; }
      var form = dragged.querySelector("form.board-move");
      form.querySelector("select[name=to_stage]").value = column.dataset.stage;
      form.submit();
    });
  });
})();
