/* The new and edit pages: keep the JSON editor and the raw JSON in step, test the
   unsaved draft and preview the schedule. The raw JSON is what the server reads. */
(function () {
  "use strict";

  var page = window.taxpoynt.pageData();
  var raw = document.getElementById("id_config");
  var rawStatus = document.getElementById("raw-json-status");
  var form = document.getElementById("integration-form");
  var lastEdited = null;

  function parseRaw() {
    try {
      var value = JSON.parse(raw.value.trim() || "{}");
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return { error: "The config must be a JSON object: { ... }." };
      }
      return { value: value };
    } catch (error) {
      return { error: "Not valid JSON yet: " + error.message };
    }
  }

  function isEmpty(value) {
    return value === "" || value === null || value === undefined;
  }

  // Fields of the form replace their keys; keys only the raw JSON has are kept.
  function merged(formData) {
    var parsed = parseRaw();
    var config = parsed.value ? Object.assign({}, parsed.value) : {};
    Object.keys(formData || {}).forEach(function (key) {
      if (isEmpty(formData[key])) delete config[key];
      else config[key] = formData[key];
    });
    return config;
  }

  function editorInstance() {
    if (!window.reactJsonForm || !document.getElementById("id_config_editor_jsonform")) return null;
    return window.reactJsonForm.getFormInstance("id_config_editor_jsonform") || null;
  }

  function writeRaw(formData) {
    raw.value = JSON.stringify(merged(formData), null, 2);
    rawStatus.textContent = "";
    schedulePreviewSoon();
  }

  // The editor draws labels beside its inputs without tying them together; tie them,
  // so that screen readers name each field and a click on a label focuses it.
  function labelEditorFields() {
    var container = document.getElementById("id_config_editor_jsonform");
    if (!container) return;
    container.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (input) {
      var key = input.name.replace(/^rjf§/, "").replace(/§/g, "-");
      if (!input.id) input.id = "config-field-" + key;
      var row = input.closest(".rjf-form-row-inner > div");
      var label = row && row.querySelector(":scope > label");
      if (label && !label.htmlFor) label.htmlFor = input.id;
      var help = input.parentElement.querySelector(".rjf-help-text");
      if (help) {
        help.id = input.id + "-help";
        input.setAttribute("aria-describedby", help.id);
      }
    });
  }

  function connectEditor() {
    var editor = editorInstance();
    if (!editor) return;
    labelEditorFields();
    new MutationObserver(labelEditorFields).observe(
      document.getElementById("id_config_editor_jsonform"), { childList: true, subtree: true });
    editor.addEventListener("change", function (event) {
      // Typing in the raw JSON also redraws the form; that must not rewrite the text
      // being typed.
      if (document.activeElement === raw) return;
      lastEdited = "form";
      writeRaw(event.data);
    });
    raw.addEventListener("input", function () {
      lastEdited = "raw";
      var parsed = parseRaw();
      if (parsed.error) {
        rawStatus.textContent = parsed.error + " The form above keeps the last valid JSON.";
        return;
      }
      rawStatus.textContent = "";
      editor.update({ data: parsed.value });
      schedulePreviewSoon();
    });
    form.addEventListener("submit", function () {
      if (lastEdited === "form") writeRaw(editor.getData());
    });
  }

  function draftConfig() {
    var parsed = parseRaw();
    if (parsed.error) return parsed;
    var config = Object.assign({}, parsed.value);
    (page.secrets || []).forEach(function (name) {
      var input = document.getElementById("id_secret_" + name);
      var clear = document.getElementById("id_clear_" + name);
      if (clear && clear.checked) config[name] = null;
      else if (input && input.value) config[name] = input.value;
    });
    return { value: config };
  }

  function connectTestButton() {
    var button = document.getElementById("test-connection");
    var panel = document.getElementById("test-result");
    if (!button || !panel) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var draft = draftConfig();
      panel.hidden = false;
      var body = panel.querySelector(".result-body");
      if (draft.error) {
        body.replaceChildren(window.taxpoynt.element("p", "result-status failed", draft.error));
        return;
      }
      var payload = { config: draft.value };
      if (page.integration) payload.integration = page.integration;
      button.disabled = true;
      body.replaceChildren(window.taxpoynt.element("p", "muted", "Testing the connection…"));
      window.taxpoynt
        .requestJSON("POST", "/api/integration-types/" + encodeURIComponent(page.type) + "/test", payload)
        .then(function (answer) { window.taxpoynt.showAnswer(panel, answer); })
        .catch(function () {
          body.replaceChildren(window.taxpoynt.element("p", "result-status failed", "The test could not reach the server."));
        })
        .finally(function () { button.disabled = false; });
    });
  }

  var previewTimer = null;

  function schedulePreviewSoon() {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(previewSchedule, 300);
  }

  // Progressive: the preview shows only when the endpoint answers 200.
  function previewSchedule() {
    var panel = document.getElementById("schedule-preview");
    var parsed = parseRaw();
    if (!panel || parsed.error || !parsed.value.schedule) {
      if (panel) panel.hidden = true;
      return;
    }
    var query = new URLSearchParams({
      schedule: String(parsed.value.schedule),
      timezone: String(parsed.value.timezone || "Africa/Lagos"),
    });
    window.taxpoynt.requestJSON("GET", "/api/schedule-preview?" + query.toString())
      .then(function (answer) {
        var runs = answer.ok && answer.data && answer.data.next_runs;
        if (!Array.isArray(runs) || !runs.length) { panel.hidden = true; return; }
        var list = panel.querySelector("ol");
        list.replaceChildren();
        runs.forEach(function (run) { list.appendChild(window.taxpoynt.element("li", null, run)); });
        panel.hidden = false;
      })
      .catch(function () { panel.hidden = true; });
  }

  function start() {
    connectEditor();
    connectTestButton();
    previewSchedule();
  }

  // django-jsonform draws its editor on DOMContentLoaded; this listener runs after it.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
