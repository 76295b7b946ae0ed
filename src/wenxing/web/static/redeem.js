// The redeem box redeems in place: the code is sent to the API, a refusal is shown under
// the box with the code left as typed, and success returns to the page that sent the
// member here. Without scripts the form posts to /account/redeem, which does the same.
(function () {
  "use strict";
  document.querySelectorAll("form[data-redeem]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = form.querySelector("[data-redeem-error]");
      var button = form.querySelector("button");
      var token = form.querySelector("input[name=csrf_token]").value;
      var next = form.querySelector("input[name=next]").value;
      button.disabled = true;
      fetch("/api/v1/account/redeem", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
        body: JSON.stringify({ code: form.querySelector("input[name=code]").value }),
      })
        .then(function (response) {
          return response.json().then(function (body) {
            if (response.ok) {
              window.location.assign(next + (next.indexOf("?") < 0 ? "?" : "&") + "redeemed=1");
              return;
            }
            box.textContent = body.error || box.dataset.fallback || "";
            box.hidden = false;
            button.disabled = false;
            form.querySelector("input[name=code]").focus();
          });
        })
        .catch(function () {
          form.submit();
        });
    });
  });
})();
