/* "Copy" buttons: <button data-copy="ID"> copies the text of the element ID (a static file: the Content
   Security Policy allows no inline script). Without the clipboard API (plain HTTP) the text is selected
   for Ctrl+C. */
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.dataset.copy);
    if (!target) return;
    var label = button.textContent;
    function select() {
      var range = document.createRange();
      range.selectNodeContents(target);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
    button.addEventListener("click", function () {
      if (!navigator.clipboard || !window.isSecureContext) { select(); return; }
      navigator.clipboard.writeText(target.textContent).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 2000);
      }, select);
    });
  });
})();
