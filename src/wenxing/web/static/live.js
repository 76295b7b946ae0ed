/* Live updates for open pages: the bell's count and a short notice of new materials.
   Server-Sent Events from /events; EventSource reconnects by itself and resumes with
   Last-Event-ID. The texts come from the page (data-* attributes, translated there). */
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root || !window.EventSource) { return; }
  var bell = document.getElementById("bell");
  var source = new EventSource("/events");

  function count() { return bell ? parseInt(bell.getAttribute("data-count") || "0", 10) : 0; }
  function setCount(n) {
    if (!bell) { return; }
    bell.setAttribute("data-count", String(n));
    var badge = bell.querySelector(".count");
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = n === 0;
  }
  function read(event) {
    try { return JSON.parse(event.data); } catch (e) { return {}; }
  }
  function local(link) { return typeof link === "string" && /^\/(?!\/)/.test(link); }

  function toast(label, data) {
    var box = document.createElement("div");
    box.className = "toast";
    box.setAttribute("role", "status");
    var text = document.createElement("span");
    text.textContent = label + (data.title || "");
    box.appendChild(text);
    if (local(data.link)) {
      var open = document.createElement("a");
      open.href = data.link;
      open.textContent = root.getAttribute("data-open");
      box.appendChild(document.createTextNode(" "));
      box.appendChild(open);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", root.getAttribute("data-close"));
    close.addEventListener("click", function () { box.remove(); });
    box.appendChild(close);
    root.appendChild(box);
    window.setTimeout(function () { box.remove(); }, 12000);
  }

  source.addEventListener("notification", function (event) {
    var data = read(event);
    setCount(count() + 1);
    if (data.kind !== "material") { toast(root.getAttribute("data-notice"), data); }
  });
  source.addEventListener("material.published", function (event) {
    var data = read(event);
    // held: one of several materials an import publishes; its digest brings one notice
    if (!data.held) { toast(root.getAttribute("data-new"), data); }
  });
  source.addEventListener("material.digest", function (event) {
    toast("", read(event));  // its title says how many, and the first one's title
  });
  window.addEventListener("pagehide", function () { source.close(); });
}());
