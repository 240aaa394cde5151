/* The integration page: test the saved integration and list its recent test results. */
(function () {
  "use strict";

  var page = window.taxpoynt.pageData();
  var base = "/api/integrations/" + encodeURIComponent(page.integration);

  function loadHistory() {
    var panel = document.getElementById("test-history");
    window.taxpoynt.requestJSON("GET", base + "/tests").then(function (answer) {
      var data = answer.data;
      var results = Array.isArray(data) ? data : data && Array.isArray(data.results) ? data.results : null;
      if (!answer.ok || !results) { panel.hidden = true; return; }
      var list = panel.querySelector("ol");
      list.replaceChildren();
      results.slice(0, 10).forEach(function (result) {
        var item = window.taxpoynt.element("li", result.ok ? "ok" : "failed");
        item.appendChild(window.taxpoynt.element("strong", null, result.status));
        var when = result.tested_at ? new Date(result.tested_at).toLocaleString() : "";
        item.appendChild(document.createTextNode(
          " · " + when + (result.user ? " · " + result.user : "") + (result.message ? " — " + result.message : "")));
        if (result.hint) item.appendChild(window.taxpoynt.element("p", "hint", "Hint: " + result.hint));
        list.appendChild(item);
      });
      if (!results.length) list.appendChild(window.taxpoynt.element("li", "muted", "No tests yet."));
      panel.hidden = false;
    }).catch(function () { panel.hidden = true; });
  }

  function connectTestButton() {
    var button = document.getElementById("test-connection");
    var panel = document.getElementById("test-result");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      panel.hidden = false;
      panel.querySelector(".result-body").replaceChildren(
        window.taxpoynt.element("p", "muted", "Testing the connection…"));
      window.taxpoynt.requestJSON("POST", base + "/test", {})
        .then(function (answer) {
          window.taxpoynt.showAnswer(panel, answer);
          loadHistory();
        })
        .catch(function () {
          panel.querySelector(".result-body").replaceChildren(
            window.taxpoynt.element("p", "result-status failed", "The test could not reach the server."));
        })
        .finally(function () { button.disabled = false; });
    });
  }

  connectTestButton();
  loadHistory();
})();
