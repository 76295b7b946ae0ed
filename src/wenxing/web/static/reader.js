/* The reader page's comforts, for members used to 微信读书 and 百度文库: font size, night
   mode, the place last read (kept on the server per member and material, so another
   device opens there, and in localStorage as a fallback; the newer wins), 收藏, a 目录
   button, and the masthead folded to two lines. It only restyles the page: the text and
   its marks are never touched, so whatever a member copies out still traces to them.
   Without this script the page reads whole (toolbar hidden, masthead unfolded). */
(function () {
  "use strict";
  var root = document.documentElement;
  var tools = document.getElementById("tools");
  var article = document.querySelector("article");
  var found = /^\/materials\/(\d+)\/read/.exec(location.pathname);
  if (!tools || !article || !found) { return; }
  var id = found[1];
  var SIZES = [16, 18, 20, 23, 26];
  var store = window.localStorage || null;
  var csrf = null;

  function get(key) { try { return store ? store.getItem(key) : null; } catch (e) { return null; } }
  function put(key, value) { try { if (store) { store.setItem(key, value); } } catch (e) { /* full or private */ } }
  function button(act) { return tools.querySelector('[data-act="' + act + '"]'); }
  function pressed(el, on) {
    el.setAttribute(el.hasAttribute("aria-expanded") ? "aria-expanded" : "aria-pressed", on ? "true" : "false");
    if (el.getAttribute("data-on")) { el.textContent = el.getAttribute(on ? "data-on" : "data-off"); }
  }

  function size(step) {
    var now = parseInt(get("wx-size") || "1", 10);
    if (isNaN(now)) { now = 1; }
    now = Math.max(0, Math.min(SIZES.length - 1, now + step));
    root.setAttribute("data-size", String(now));
    put("wx-size", String(now));
    button("smaller").disabled = now === 0;
    button("larger").disabled = now === SIZES.length - 1;
  }
  function night(on) {
    root.classList.toggle("night", on);
    put("wx-night", on ? "1" : "0");
    pressed(button("night"), on);
  }

  // The place: the block at the top of the screen and how far into it.
  function blocks() { return article.children; }
  function here() {
    var list = blocks();
    for (var n = 0; n < list.length; n++) {
      var box = list[n].getBoundingClientRect();
      if (box.bottom > 0) {
        var into = box.height > 0 ? Math.max(0, Math.min(1, -box.top / box.height)) : 0;
        return n + ":" + (Math.round(into * 1000) / 1000);
      }
    }
    return null;
  }
  function go(place) {
    var parts = /^(\d+):([\d.]+)$/.exec(place || "");
    var el = parts && blocks()[parseInt(parts[1], 10)];
    if (!el) { return; }
    var top = el.getBoundingClientRect().top + window.pageYOffset;
    window.scrollTo(0, Math.round(top + parseFloat(parts[2]) * el.offsetHeight) - toolbarHeight());
  }
  function toolbarHeight() { return tools.offsetHeight || 0; }
  function local() {
    try { return JSON.parse(get("wx-place-" + id) || "null"); } catch (e) { return null; }
  }
  var sent = null;
  function save(leaving) {
    var place = here();
    if (!place || place === sent) { return; }
    put("wx-place-" + id, JSON.stringify({ p: place, t: Date.now() }));
    if (!csrf) { return; }
    sent = place;
    var body = JSON.stringify({ position: place, csrf_token: csrf });
    if (leaving && navigator.sendBeacon) {
      navigator.sendBeacon("/reading/" + id + "/position", new Blob([body], { type: "application/json" }));
      return;
    }
    fetch("/reading/" + id + "/position", {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { "Content-Type": "application/json" }, body: body
    }).catch(function () { sent = null; });
  }
  var timer = null;
  window.addEventListener("scroll", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { save(false); }, 1200);
  }, { passive: true });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { save(true); }
  });

  function favourite(on) {
    pressed(button("favourite"), on);
    button("favourite").setAttribute("data-state", on ? "1" : "0");
  }

  tools.addEventListener("click", function (event) {
    var el = event.target.closest("button");
    if (!el) { return; }
    var act = el.getAttribute("data-act");
    if (act === "smaller" || act === "larger") {
      var place = here();
      size(act === "larger" ? 1 : -1);
      go(place);  // the same paragraph stays at the top of the screen
    } else if (act === "night") {
      night(!root.classList.contains("night"));
    } else if (act === "masthead") {
      var head = document.querySelector(".masthead");
      var open = !head.classList.contains("open");
      head.classList.toggle("open", open);
      pressed(el, open);
    } else if (act === "toc") {
      var toc = document.getElementById("toc");
      if (toc) { toc.open = true; toc.scrollIntoView(); }
    } else if (act === "favourite" && csrf) {
      var want = el.getAttribute("data-state") !== "1";
      fetch("/reading/" + id + "/favourite", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ favourite: want, csrf_token: csrf })
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) { favourite(data.favourite); } })
        .catch(function () { /* offline: nothing changes */ });
    }
  });

  // 相似段落: the link beside a heading opens a panel of sections of other materials on
  // the same topic (titles and headings only), each with 加入素材篮 (POST /basket).
  var panel = null;
  function node(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    if (text) { el.textContent = text; }
    return el;
  }
  function closePanel() { if (panel) { panel.hidden = true; } }
  function openPanel(title) {
    if (!panel) {
      panel = node("aside", "similar-panel");
      panel.id = "similar";
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-label", "相似段落");
      var head = node("header");
      head.appendChild(node("strong"));
      var close = node("button", "", "关闭");
      close.type = "button";
      close.addEventListener("click", closePanel);
      head.appendChild(close);
      panel.appendChild(head);
      panel.appendChild(node("div", "body"));
      document.body.appendChild(panel);
    }
    panel.querySelector("header strong").textContent = title;
    panel.querySelector(".body").textContent = "";
    panel.hidden = false;
    return panel.querySelector(".body");
  }
  function hidden(form, name, value) {
    var input = node("input");
    input.type = "hidden"; input.name = name; input.value = value;
    form.appendChild(input);
  }
  function basketForm(data, s) {
    var form = node("form");
    form.method = "post"; form.action = data.basket_action;
    hidden(form, "material", String(s.material));
    hidden(form, "version", String(s.version));
    hidden(form, "anchor", s.anchor);
    hidden(form, "csrf_token", data.csrf_token);
    var add = node("button", "", "加入素材篮");
    add.type = "submit";
    form.appendChild(add);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      add.disabled = true;
      fetch(form.action, {
        method: "POST", credentials: "same-origin", headers: { Accept: "application/json" },
        body: new FormData(form)
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (answer) {
        if (answer.ok && typeof answer.body.pieces === "number") {
          add.textContent = "已加入素材篮（共 " + answer.body.pieces + " 段）";
          add.setAttribute("data-done", "1");
        } else {
          add.disabled = false;
          add.textContent = answer.body.error || "没能加入，请稍后再试";
        }
      }).catch(function () { add.disabled = false; add.textContent = "网络不通，请稍后再试"; });
    });
    return form;
  }
  function showSimilar(body, data) {
    if (data.notice) { body.appendChild(node("p", "status", data.notice)); }
    if (!data.sections.length) { body.appendChild(node("p", "meta", "没有找到话题相近的段落。")); }
    var list = node("ol");
    data.sections.forEach(function (s) {
      var item = node("li");
      var link = node("a", "", s.heading);
      link.href = s.href;
      item.appendChild(link);
      item.appendChild(node("div", "meta", s.title + " · " + (s.kind ? s.kind + " · " : "") + s.date));
      if (data.basket && s.anchor) { item.appendChild(basketForm(data, s)); }
      list.appendChild(item);
    });
    body.appendChild(list);
    if (!data.basket) { body.appendChild(node("p", "meta", "开通会员后可阅读这些段落并加入素材篮")); }
  }
  article.addEventListener("click", function (event) {
    var el = event.target.closest("a.sim");
    if (!el) { return; }
    event.preventDefault();
    var body = openPanel("相似段落");
    body.appendChild(node("p", "meta", "正在查找…"));
    fetch(el.href, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (answer) {
        body.textContent = "";
        if (!answer.ok) { body.appendChild(node("p", "status", answer.data.error || "暂时无法查找")); return; }
        panel.querySelector("header strong").textContent = "相似段落：" + answer.data.source.heading;
        showSimilar(body, answer.data);
      })
      .catch(function () { body.textContent = ""; body.appendChild(node("p", "status", "网络不通，请稍后再试")); });
  });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") { closePanel(); } });

  if ("scrollRestoration" in history) { history.scrollRestoration = "manual"; }  // ours wins
  root.classList.add("reader");
  size(0);
  // POST /basket for the piece ``anchor`` names; ``add`` (the button) says how it went and
  // a link to the basket is added to ``place`` once.
  function toBasket(version, anchor, add, place) {
    var form = new URLSearchParams({ material: id, version: version, anchor: anchor, csrf_token: csrf });
    add.disabled = true;
    return fetch("/basket", {
      method: "POST", credentials: "same-origin", body: form, headers: { Accept: "application/json" }
    }).then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
      .then(function (answer) {
        add.textContent = answer[0] ? "已加入素材篮（" + answer[1].pieces + "）" : (answer[1].error || "未能加入");
        if (answer[0] && !place.querySelector(".basket-go")) {
          var go = document.createElement("a");
          go.href = "/basket";
          go.className = "basket-go";
          go.textContent = "去素材篮组稿 ›";
          place.appendChild(go);
        }
      })
      .catch(function () { add.disabled = false; add.textContent = "未能加入，请重试"; });
  }
  // 加入素材篮 beside each heading of the table of contents (ids s1, s2, …): one tap puts
  // the section in the member's basket (POST /basket, the same form 相似段落 posts).
  function basketButtons(version) {
    var heads = article.querySelectorAll("[id^='s']");
    Array.prototype.forEach.call(heads, function (head) {
      if (!/^s\d+$/.test(head.id)) { return; }
      var add = document.createElement("button");
      add.type = "button";
      add.className = "basket-add";
      add.textContent = "加入素材篮";
      add.setAttribute("data-anchor", head.id);
      add.setAttribute("aria-describedby", head.id);  // which section, for screen readers
      add.addEventListener("click", function () { toBasket(version, head.id, add, head); });
      // Inside the heading's own element: the article's children stay the blocks the place
      // last read counts (block:fraction), whether or not the buttons are there.
      head.appendChild(add);
    });
  }

  // 加入素材篮 for paragraphs the member selects (a long press on a phone, a drag on a
  // desktop): a bar at the foot of the screen offers the run of article blocks the
  // selection touches (anchor p<first>-<last>, the same POST /basket).
  function selectionBar(version) {
    var bar = document.createElement("div");
    bar.className = "select-bar";
    bar.hidden = true;
    var add = document.createElement("button");
    add.type = "button";
    add.className = "basket-add";
    bar.appendChild(add);
    document.body.appendChild(bar);
    var run = null, busy = false, holding = false;
    function blockOf(el) {
      while (el && el.parentNode !== article) { el = el.parentNode; }
      return el ? Array.prototype.indexOf.call(article.children, el) : -1;
    }
    function offer() {
      var chosen = window.getSelection();
      if (busy || holding) { return; }
      if (!chosen || chosen.isCollapsed || !chosen.rangeCount) { bar.hidden = true; run = null; return; }
      var a = blockOf(chosen.anchorNode), b = blockOf(chosen.focusNode);
      if (a < 0 || b < 0) { bar.hidden = true; run = null; return; }
      run = [Math.min(a, b), Math.max(a, b)];
      var count = run[1] - run[0] + 1;
      add.disabled = count > 60;
      add.textContent = count > 60 ? "一次最多选 60 段" : "把所选 " + count + " 段加入素材篮";
      bar.hidden = false;
    }
    document.addEventListener("selectionchange", offer);
    // A tap on the bar must not lose the selection it offers.
    bar.addEventListener("pointerdown", function () { holding = true; });
    ["pointerup", "pointercancel"].forEach(function (kind) {
      bar.addEventListener(kind, function () { setTimeout(function () { holding = false; }, 500); });
    });
    bar.addEventListener("mousedown", function (event) { event.preventDefault(); });
    add.addEventListener("click", function () {
      holding = false;
      if (!run) { return; }
      busy = true;
      toBasket(version, "p" + run[0] + "-" + run[1], add, bar).then(function () { busy = false; });
    });
  }
  // A link to a run (the basket's p<first>-<last>): scroll to it and mark it.
  function showRun() {
    var parts = /^#p(\d+)-(\d+)$/.exec(location.hash);
    if (!parts) { return false; }
    var list = blocks(), first = parseInt(parts[1], 10), last = parseInt(parts[2], 10);
    if (!list[first]) { return false; }
    for (var n = first; n <= last && list[n]; n++) { list[n].classList.add("picked"); }
    var top = list[first].getBoundingClientRect().top + window.pageYOffset;
    window.scrollTo(0, Math.round(top) - toolbarHeight());
    return true;
  }

  night(get("wx-night") === "1");
  if (!document.getElementById("toc")) { button("toc").hidden = true; }
  tools.hidden = false;
  root.style.setProperty("--tools-h", toolbarHeight() + "px");  // headings land below it
  var mine = local();
  fetch("/reading/" + id, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      var place = mine;
      if (data) {
        csrf = data.csrf_token;
        favourite(!!data.favourite);
        if (data.version) { basketButtons(data.version); selectionBar(data.version); }
        if (data.position && (!mine || data.at >= mine.t)) { place = { p: data.position, t: data.at }; }
      }
      if (showRun()) { return; }
      if (place && !location.hash && window.pageYOffset < 10) { go(place.p); }
      sent = place ? place.p : null;
    })
    .catch(function () { if (mine && !location.hash) { go(mine.p); } });
})();
