// Upload with a progress bar: the form still works without this script.
(function () {
  var form = document.getElementById("upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var bar = document.getElementById(form.dataset.progress);
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.hidden = false; bar.value = Math.round(e.loaded * 100 / e.total); }
    });
    request.addEventListener("load", function () {
      document.open(); document.write(request.responseText); document.close();
    });
    request.send(new FormData(form));
  });
})();
