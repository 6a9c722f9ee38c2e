// Reloads the queue every 30 seconds so that a new emergency shows without a click. Only while
// the page is in view and nobody is typing in it; without JavaScript the page works as it is.
(function () {
  "use strict";
  var PERIOD = 30000;
  function busy() {
    var el = document.activeElement;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT") && el.value;
  }
  setInterval(function () {
    if (document.visibilityState === "visible" && !busy()) {
      window.location.reload();
    }
  }, PERIOD);
})();
