// Bellman's LTI login inside the LMS's iframe, where a browser may keep no cookie for Bellman.
// "check" (the LMS offers no storage): go on to the LMS's authorisation if a cookie can be kept here, else offer
// to open Bellman in a new tab, where its cookies are first-party.
// "put" and "get": the LTI client-side postMessage storage (1EdTech "LTI Client Side postMessages"). "put" keeps
// the login's signed state in the LMS's storage frame, then goes on; "get" reads it back at the launch and posts
// it to Bellman with the launch. Messages go only to, and are taken only from, the LMS's origin.
(function () {
  var data = document.getElementById("lti-storage");
  if (!data) { return; }
  var d = JSON.parse(data.textContent);
  var id = "bellman-" + Math.random().toString(36).slice(2);
  var subject = d.mode === "put" ? "lti.put_data" : "lti.get_data";
  var finished = false;

  function cookieKept() {
    var name = "bellman_cookie_check=" + id;
    document.cookie = name + "; path=/; SameSite=None; Secure; Partitioned";
    var kept = document.cookie.indexOf(name) !== -1;
    document.cookie = "bellman_cookie_check=; path=/; max-age=0; SameSite=None; Secure; Partitioned";
    return kept;
  }
  function show(id) { document.getElementById(id).hidden = false; }
  function target() {
    var holder = window.parent !== window ? window.parent : window.opener;
    if (!holder) { return null; }
    if (d.target === "_parent") { return holder; }
    try { return holder.frames[d.target] || null; } catch (e) { return null; }
  }
  function finish(value) {
    if (finished) { return; }
    finished = true;
    if (d.mode === "put") {
      if (value || cookieKept()) { window.location.replace(d.next); } else { show("lti-new-tab"); }
      return;
    }
    if (!value) { show("lti-storage-failed"); return; }
    var form = document.getElementById("lti-storage-form");
    form.elements.lti_storage_state.value = value;
    form.submit();
  }

  if (d.mode === "check") {
    if (cookieKept()) { window.location.replace(d.next); } else { show("lti-new-tab"); }
    return;
  }
  window.addEventListener("message", function (event) {
    var m = event.data;
    if (event.origin !== d.origin || !m || m.message_id !== id || m.subject !== subject + ".response") { return; }
    finish(m.error ? null : (m.value || (d.mode === "put" ? "stored" : null)));
  });
  var frame = target();
  if (!frame) { finish(null); return; }
  var message = {subject: subject, message_id: id, key: d.key};
  if (d.mode === "put") { message.value = d.value; }
  frame.postMessage(message, d.origin);
  setTimeout(function () { finish(null); }, 4000);
})();
