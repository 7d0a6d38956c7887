// LTI Dynamic Registration: tell the LMS that opened this window that registration is over (it closes it).
(function () {
  var done = document.getElementById("lti-registration-done");
  if (done && window.opener) { window.opener.postMessage({subject: done.dataset.close}, "*"); }
  if (done && window.parent !== window) { window.parent.postMessage({subject: done.dataset.close}, "*"); }
})();
