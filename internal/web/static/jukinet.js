// jukinet: back links, tables that scroll in their own box, and WebAuthn sign-in, enrolment and re-verification. Forms marked
// data-webauthn="login|enrol|unlock" post to ACTION/begin, ask the browser's
// authenticator (user verification required), then post to ACTION/finish.
(function () {
  "use strict";
  // Links marked data-back go back a page (the page's policy allows no
  // javascript: links); without history they go where their href says.
  document.querySelectorAll("a[data-back]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      if (history.length > 1) {
        ev.preventDefault();
        history.back();
      }
    });
  });
  // On a narrow window (200 % zoom, a tablet) the menu folds behind a
  // button that names the current screen, so a page starts with its
  // content; it opens on a press and folds again when the window widens.
  var nav = document.querySelector("nav.site"), toggle = nav && nav.querySelector(".menu-toggle");
  if (toggle) {
    var narrow = window.matchMedia("(max-width: 48rem)"), label = toggle.textContent;
    var current = nav.querySelector("a[aria-current=page]");
    if (current) label += (document.documentElement.lang === "ja" ? "：" : ": ") + current.textContent.replace(/\s+\d+$/, "").trim();
    var fold = function (folded) {
      nav.classList.toggle("folded", folded);
      toggle.setAttribute("aria-expanded", folded ? "false" : "true");
    };
    var fit = function () {
      toggle.hidden = !narrow.matches;
      toggle.textContent = label;
      fold(narrow.matches);
    };
    toggle.addEventListener("click", function () { fold(!nav.classList.contains("folded")); });
    narrow.addEventListener("change", fit);
    fit();
  }
  // Tables scroll sideways in a box of their own when they are wider than
  // the page (at 200 % zoom, on a narrow window): the page itself never
  // does. A box that scrolls can be reached from the keyboard and is
  // named after the table's heading.
  var boxes = [];
  document.querySelectorAll("main table").forEach(function (t) {
    if (t.closest(".table-scroll")) return;
    var box = document.createElement("div");
    box.className = "table-scroll";
    t.parentNode.insertBefore(box, t);
    box.appendChild(t);
    boxes.push(box);
  });
  function heading(box) {
    var fig = box.closest("figure");
    if (fig && fig.querySelector("figcaption")) return fig.querySelector("figcaption").textContent.trim();
    for (var el = box.previousElementSibling; el; el = el.previousElementSibling) {
      if (/^H[1-6]$/.test(el.tagName)) return el.textContent.trim();
    }
    var h1 = document.querySelector("main h1");
    return h1 ? h1.textContent.trim() : document.title;
  }
  function scrollable() {
    boxes.forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", heading(box));
      } else {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  scrollable();
  window.addEventListener("resize", scrollable);
  function dec(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function enc(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  async function post(url, body) {
    var r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
    var j = {};
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    if (!r.ok) throw new Error(j.error || r.statusText);
    return j;
  }
  function forGet(o) {
    o.publicKey.challenge = dec(o.publicKey.challenge);
    (o.publicKey.allowCredentials || []).forEach(function (c) { c.id = dec(c.id); });
    return o;
  }
  function forCreate(o) {
    o.publicKey.challenge = dec(o.publicKey.challenge);
    o.publicKey.user.id = dec(o.publicKey.user.id);
    (o.publicKey.excludeCredentials || []).forEach(function (c) { c.id = dec(c.id); });
    return o;
  }
  function assertion(c) {
    return { id: c.id, rawId: enc(c.rawId), type: c.type, response: {
      clientDataJSON: enc(c.response.clientDataJSON), authenticatorData: enc(c.response.authenticatorData),
      signature: enc(c.response.signature), userHandle: c.response.userHandle ? enc(c.response.userHandle) : null } };
  }
  function attestation(c) {
    return { id: c.id, rawId: enc(c.rawId), type: c.type, response: {
      clientDataJSON: enc(c.response.clientDataJSON), attestationObject: enc(c.response.attestationObject) } };
  }
  document.querySelectorAll("form[data-webauthn]").forEach(function (f) {
    f.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var out = f.querySelector("[role=alert]"), button = f.querySelector("button[type=submit]");
      out.textContent = "";
      button.disabled = true;
      try {
        var kind = f.dataset.webauthn, base = f.getAttribute("action");
        var fields = Object.fromEntries(new FormData(f));
        var begin = await post(base + "/begin", fields), body = {};
        if (begin.options) {
          if (kind === "enrol") body = attestation(await navigator.credentials.create(forCreate(begin.options)));
          else body = assertion(await navigator.credentials.get(forGet(begin.options)));
        }
        var q = "?ceremony=" + encodeURIComponent(begin.ceremony) + "&label=" + encodeURIComponent(fields.label || "") +
          "&next=" + encodeURIComponent(f.dataset.next || "/");
        var done = await post(base + "/finish" + q, body);
        location.assign(done.redirect || "/");
      } catch (e) {
        out.textContent = e.message || String(e);
        button.disabled = false;
      }
    });
  });
})();
