// Live updates of the control room: the server sends the page's main part, rendered and
// escaped on the server, whenever the journal changes; without script the page is complete.
(function () {
  "use strict";
  var main = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!main || !main.dataset.events || !window.EventSource) { return; }
  var source = new EventSource(main.dataset.events);
  function update(event) {
    var data = JSON.parse(event.data);
    main.innerHTML = data.html;
    main.dataset.version = data.version;
    // In the zone the page's own times are in (the server's, report.content.LOCAL).
    var zone = main.dataset.zone || undefined;
    status.textContent = "live " + new Date().toLocaleTimeString("nl-NL", {timeZone: zone});
  }
  source.addEventListener("page", update);
  source.addEventListener("overview", update);
  source.onerror = function () { status.textContent = "verbinding verbroken / disconnected"; };
}());
