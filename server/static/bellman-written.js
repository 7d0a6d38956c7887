/* The written-answers form: a word count under each box, and the draft saved every few seconds while
   the student types (a static file: the Content Security Policy allows no inline script). */
(function () {
  var form = document.getElementById("written-form");
  if (!form) return;
  function count(text) { var m = text.match(/[A-Za-z\u00c0-\u024f0-9][A-Za-z\u00c0-\u024f0-9'\u2019-]*/g); return m ? m.length : 0; }
  var dirty = false;
  form.querySelectorAll(".word-count").forEach(function (el) {
    var area = document.getElementById(el.dataset.for);
    var update = function () { el.textContent = count(area.value); };
    area.addEventListener("input", function () { update(); dirty = true; });
    update();
  });
  function autosave() {
    if (!dirty) return;
    dirty = false;
    var data = new FormData(form);
    data.set("action", "autosave");
    fetch(form.dataset.autosave, {method: "POST", body: data, credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function () { document.getElementById("draft-status").textContent = "Draft saved at " + new Date().toLocaleTimeString(); })
      .catch(function () { dirty = true; document.getElementById("draft-status").textContent = "Draft not saved yet (offline?)"; });
  }
  setInterval(autosave, 3000);
  form.addEventListener("focusout", autosave);
})();
