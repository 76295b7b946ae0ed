/* 组稿 on a desktop (a fine pointer): a part of the draft is dragged by its handle to another
   place (pointer events: the part under the pointer when it is let go, above or below its
   middle); the place is sent (POST /drafts/{id}/parts/{part}/move with `to`) and the page is
   shown anew from the server. The 上移/下移 buttons stay, for phones and keyboards. */
(function () {
  "use strict";
  var list = document.querySelector("ol.draft-parts");
  if (!list || !window.matchMedia || !window.matchMedia("(pointer: fine)").matches) { return; }
  var dragged = null;
  function parts() { return Array.prototype.slice.call(list.children); }
  function clear() {
    parts().forEach(function (li) { li.classList.remove("drop-before", "drop-after"); });
  }
  function over(event) {
    var el = document.elementFromPoint(event.clientX, event.clientY);
    while (el && el.parentNode !== list) { el = el.parentNode; }
    return el && el !== dragged ? el : null;
  }
  function below(event, li) {
    var box = li.getBoundingClientRect();
    return event.clientY > box.top + box.height / 2;
  }
  function send(li, after) {
    var all = parts();
    var from = all.indexOf(dragged);
    var to = all.indexOf(li) + (after ? 1 : 0);
    if (to > from) { to -= 1; }
    var form = dragged.querySelector('form[action$="/move"]');
    if (to === from || !form) { return; }
    var body = new URLSearchParams({ to: String(to), csrf_token: form.elements.csrf_token.value });
    list.classList.add("saving");
    fetch(form.action, { method: "POST", credentials: "same-origin", body: body })
      .then(function () { location.reload(); })
      .catch(function () { list.classList.remove("saving"); });
  }
  function end() {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    clear();
  }
  parts().forEach(function (li) {
    var handle = document.createElement("span");
    handle.className = "drag-handle";
    handle.textContent = "⠿ 拖动排序";
    handle.setAttribute("aria-hidden", "true");  // keyboards have 上移/下移
    li.insertBefore(handle, li.firstChild);
    handle.addEventListener("pointerdown", function (event) {
      event.preventDefault();  // no text selection while dragging
      dragged = li;
      li.classList.add("dragging");
      if (handle.setPointerCapture) { handle.setPointerCapture(event.pointerId); }
    });
    handle.addEventListener("pointermove", function (event) {
      if (!dragged) { return; }
      clear();
      var target = over(event);
      if (target) { target.classList.add(below(event, target) ? "drop-after" : "drop-before"); }
    });
    handle.addEventListener("pointerup", function (event) {
      if (!dragged) { return; }
      var target = over(event);
      if (target) { send(target, below(event, target)); }
      end();
    });
    handle.addEventListener("pointercancel", end);
  });
})();
