/*
 * Switchboard webchat loader. Embed it on a page of a site the deployment allows:
 *
 *   <script src="https://HOST/static/webchat.js" data-deployment-key="KEY" async></script>
 *
 * It adds a launcher button and our chat frame (HOST/webchat/frame), and only shows, hides and
 * badges the frame: the chat itself runs inside the frame, on our origin, so the host page's
 * styles and scripts cannot reach it. The two talk with postMessage, each checking the other's
 * origin. window.SwitchboardWebchat.open() / .close() / .toggle() control it from the page.
 */
(function () {
  "use strict";
  if (window.SwitchboardWebchat) return;
  var script = document.currentScript || document.querySelector("script[data-deployment-key]");
  var key = script && script.getAttribute("data-deployment-key");
  if (!key) {
    console.error("Switchboard webchat: the script tag needs a data-deployment-key attribute");
    return;
  }
  var origin = new URL(script.src, location.href).origin;
  var defaultColor = "#0b63ce";

  var css =
    ":host{all:initial}" +
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;" +
    "padding:0;cursor:pointer;color:#fff;background:" + defaultColor + ";box-shadow:0 4px 14px rgba(0,0,0,.25);" +
    "display:flex;align-items:center;justify-content:center}" +
    ".launcher[hidden],.frame[hidden],.badge[hidden]{display:none}" +
    ".launcher:focus-visible{outline:3px solid #1d2330;outline-offset:3px}" +
    ".launcher svg{width:28px;height:28px;fill:currentColor}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;" +
    "border-radius:10px;background:#d93025;color:#fff;font:bold 12px/20px system-ui,sans-serif;text-align:center}" +
    ".frame{position:fixed;right:20px;bottom:88px;z-index:2147483001;width:380px;height:600px;" +
    "max-height:calc(100vh - 108px);max-width:calc(100vw - 40px);border:0;border-radius:12px;background:#fff;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.3)}" +
    "@media (max-width:480px),(max-height:500px){.frame{inset:0;width:100%;height:100%;max-width:none;" +
    "max-height:none;border-radius:0}}";

  var host = document.createElement("div");
  host.id = "switchboard-webchat";
  var root = host.attachShadow({ mode: "open" });
  var sheet = document.createElement("style");
  sheet.textContent = css;
  root.appendChild(sheet);

  var chat = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
  var cross = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";
  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.hidden = true;
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "frame");
  var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  var icon = document.createElementNS("http://www.w3.org/2000/svg", "path");
  svg.appendChild(icon);
  var badge = document.createElement("span");
  badge.className = "badge";
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  launcher.appendChild(svg);
  launcher.appendChild(badge);

  var frame = document.createElement("iframe");
  frame.id = "frame";
  frame.className = "frame";
  frame.hidden = true;
  frame.title = "Chat";
  frame.src = origin + "/webchat/frame?" + new URLSearchParams({ key: key, origin: location.origin });
  root.appendChild(frame);
  root.appendChild(launcher);

  var isOpen = false, unread = 0, title = "Chat";

  function label() {
    icon.setAttribute("d", isOpen ? cross : chat);
    launcher.setAttribute("aria-expanded", String(isOpen));
    launcher.setAttribute("aria-label", (isOpen ? "Close " : "Open ") + title +
      (unread && !isOpen ? " (" + unread + " unread)" : ""));
    badge.hidden = isOpen || !unread;
    badge.textContent = unread > 99 ? "99+" : String(unread);
  }

  function tell(type) {
    frame.contentWindow.postMessage({ sbwc: 1, type: type }, origin);
  }

  function open() {
    if (isOpen || launcher.hidden) return;
    isOpen = true;
    frame.hidden = false;
    label();
    frame.focus();
    tell("open");
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    frame.hidden = true;
    label();
    tell("close");
    launcher.focus();
  }

  // readable picks black or white text for the brand colour (WCAG relative luminance).
  function readable(hex) {
    var n = hex.slice(1);
    if (n.length === 3) n = n.replace(/./g, "$&$&");
    var lum = [0, 2, 4].map(function (i) {
      var c = parseInt(n.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2] > 0.4 ? "#000" : "#fff";
  }

  window.addEventListener("message", function (e) {
    if (e.source !== frame.contentWindow || e.origin !== origin) return;
    var m = e.data;
    if (!m || m.sbwc !== 1) return;
    if (m.type === "ready") {
      var color = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(m.color || "") ? m.color : defaultColor;
      launcher.style.background = color;
      launcher.style.color = readable(color);
      if (m.title) title = String(m.title);
      frame.title = title;
      launcher.hidden = false;
      label();
    } else if (m.type === "unread") {
      unread = Math.max(0, m.count | 0);
      label();
    } else if (m.type === "close") {
      close();
    }
  });

  launcher.addEventListener("click", function () {
    isOpen ? close() : open();
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && isOpen) close();
  });

  window.SwitchboardWebchat = {
    open: open,
    close: close,
    toggle: function () {
      isOpen ? close() : open();
    }
  };
  label();
  if (document.body) document.body.appendChild(host);
  else document.addEventListener("DOMContentLoaded", function () {
    document.body.appendChild(host);
  });
})();
