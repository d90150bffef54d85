// Follows the call's progress by server-sent events; the page refreshes itself without them.
(function () {
  "use strict";
  var el = document.getElementById("call-progress");
  if (!el || !window.EventSource) {
    setTimeout(function () { location.reload(); }, 2000);
    return;
  }
  var events = new EventSource("/call/events");
  events.addEventListener("progress", function (e) {
    var p = JSON.parse(e.data);
    el.setAttribute("data-state", p.state);
    el.textContent = p.text;
  });
  events.addEventListener("done", function () {
    events.close();
    location.assign("/call");
  });
  events.onerror = function () {
    events.close();
    setTimeout(function () { location.assign("/call"); }, 1000);
  };
})();
