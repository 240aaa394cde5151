/* What every integrator page shares: CSRF, JSON requests, test results, confirmations.
   User data is only ever written with textContent, never as HTML. */
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function requestJSON(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (error) { data = null; }
        return { status: response.status, ok: response.ok, data: data };
      });
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function milliseconds(value) {
    return typeof value === "number" ? " (" + Math.round(value) + " ms)" : "";
  }

  function renderResult(container, result) {
    container.replaceChildren();
    var verdict = element("p", "result-status " + (result.ok ? "ok" : "failed"));
    verdict.appendChild(element("strong", null, result.ok ? "Connected" : "Failed"));
    verdict.appendChild(document.createTextNode(" · " + (result.status || "")));
    container.appendChild(verdict);
    if (result.message) container.appendChild(element("p", "result-message", result.message));
    if (result.hint) container.appendChild(element("p", "hint", "Hint: " + result.hint));
    if (Array.isArray(result.stages) && result.stages.length) {
      var list = element("ol", "stages");
      result.stages.forEach(function (stage) {
        var item = element("li", stage.ok ? "stage ok" : "stage failed");
        item.appendChild(element("strong", null, stage.name));
        item.appendChild(document.createTextNode(
          ": " + (stage.ok ? "ok" : "failed") + milliseconds(stage.duration_ms) +
          (stage.detail ? " — " + stage.detail : "")));
        list.appendChild(item);
      });
      container.appendChild(list);
    }
    var details = result.details || {};
    Object.keys(details).forEach(function (key) {
      if (details[key] !== null && details[key] !== undefined && details[key] !== "") {
        container.appendChild(element("p", "detail", key.replace(/_/g, " ") + ": " + details[key]));
      }
    });
    if (result.tested_at) {
      container.appendChild(element("p", "muted", "Tested at " + new Date(result.tested_at).toLocaleString()));
    }
  }

  function renderProblem(container, answer) {
    container.replaceChildren();
    var data = answer.data || {};
    var title = answer.status === 403 ? "Not allowed" :
      answer.status === 429 ? "Too many tests" :
      answer.status === 404 ? "Connection tests are not available" : "Could not test";
    container.appendChild(element("p", "result-status failed", title));
    if (typeof data.detail === "string") {
      container.appendChild(element("p", "result-message", data.detail));
    }
    var list = element("ul", "errorlist");
    Object.keys(data).forEach(function (key) {
      if (key === "detail" || !Array.isArray(data[key])) return;
      data[key].forEach(function (message) { list.appendChild(element("li", null, key + ": " + message)); });
    });
    if (list.children.length) container.appendChild(list);
    if (!container.querySelector(".result-message") && !list.children.length) {
      container.appendChild(element("p", "result-message", "The server answered " + answer.status + "."));
    }
  }

  function showAnswer(panel, answer) {
    var body = panel.querySelector(".result-body");
    panel.hidden = false;
    if (answer.ok && answer.data && typeof answer.data.ok === "boolean") {
      renderResult(body, answer.data);
    } else {
      renderProblem(body, answer);
    }
  }

  // Forms that undo nothing but still deserve a second thought ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  window.taxpoynt = {
    csrfToken: csrfToken,
    requestJSON: requestJSON,
    element: element,
    renderResult: renderResult,
    showAnswer: showAnswer,
    pageData: function () {
      var node = document.getElementById("page-data");
      return node ? JSON.parse(node.textContent) : {};
    },
  };
})();
