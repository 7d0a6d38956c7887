// A form marked data-autosubmit posts itself once the page has loaded (the LTI deep-linking return); its button
// stays for a browser without script. No inline script: the Content-Security-Policy allows none.
document.querySelectorAll("form[data-autosubmit='true']").forEach(function (form) { form.submit(); });
