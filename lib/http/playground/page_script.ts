/**
 * The playground's script (served as `/playground.js`): plain browser JavaScript, no framework, no build step. It
 * drives the same HTTP API as any client: the API key lives in memory and sessionStorage only, never in a URL.
 * Step requests ask for `text/event-stream` and render `delta` events live; a plain JSON answer works the same.
 * Kept free of backticks so it can live in this template string.
 */
export const PAGE_SCRIPT = String.raw`"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var keyInput = $("key");
  keyInput.value = sessionStorage.getItem("smolstep.key") || "";
  keyInput.addEventListener("change", function () { sessionStorage.setItem("smolstep.key", keyInput.value); });

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "html") node.innerHTML = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function headers(extra) {
    var h = { "Content-Type": "application/json" };
    if (keyInput.value) h.Authorization = "Bearer " + keyInput.value;
    for (var k in extra || {}) h[k] = extra[k];
    return h;
  }
  function apiError(body, status) {
    var e = (body && body.error) || { code: "http_" + status, message: "HTTP " + status };
    var err = new Error(e.code + ": " + e.message);
    err.api = e;
    return err;
  }
  async function api(method, path, body) {
    var res = await fetch(path, { method: method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body) });
    var data = await res.json().catch(function () { return null; });
    if (!res.ok) throw apiError(data, res.status);
    return data;
  }
  /** A step request: SSE deltas rendered live when the server streams, else the JSON body. */
  async function stepRequest(path, body, onDelta) {
    var res = await fetch(path, {
      method: "POST",
      headers: headers({ Accept: "text/event-stream, application/json" }),
      body: JSON.stringify(body || {}),
    });
    var type = res.headers.get("Content-Type") || "";
    if (!res.ok || type.indexOf("text/event-stream") < 0) {
      var data = await res.json().catch(function () { return null; });
      if (!res.ok) throw apiError(data, res.status);
      return data;
    }
    var reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    var buffer = "", result = null;
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += chunk.value.replace(/\r\n/g, "\n");
      var cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        var block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        var event = "message", lines = [];
        block.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) event = line.slice(6).trim();
          else if (line.indexOf("data:") === 0) lines.push(line.slice(5).replace(/^ /, ""));
        });
        if (!lines.length) continue;
        var payload = JSON.parse(lines.join("\n"));
        if (event === "delta") onDelta(payload);
        else if (event === "step") result = payload;
        else if (event === "error") throw apiError(payload, 500);
      }
    }
    if (!result) throw new Error("The stream ended without a step.");
    return result;
  }

  // --- light highlighting: comments, strings, numbers, keywords
  var KW = "and as async await break case catch class const continue def del elif else except export false False finally for from function if import in is lambda let new None nonlocal not null or pass print raise return this throw true True try typeof undefined var while with yield";
  var KWS = {};
  KW.split(" ").forEach(function (w) { KWS[w] = 1; });
  var TOKENS = /(\/\/[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/)|("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|\x60(?:\\.|[^\x60\\])*\x60)|\b(\d+(?:\.\d+)?)\b|\b([A-Za-z_]\w*)\b/g;
  function escapeHtml(s) { return s.replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function highlight(code) {
    var out = "", last = 0, m;
    TOKENS.lastIndex = 0;
    while ((m = TOKENS.exec(code))) {
      out += escapeHtml(code.slice(last, m.index));
      var cls = m[1] ? "com" : m[2] ? "str" : m[3] ? "num" : KWS[m[4]] ? "kw" : "";
      out += cls ? '<span class="' + cls + '">' + escapeHtml(m[0]) + "</span>" : escapeHtml(m[0]);
      last = TOKENS.lastIndex;
    }
    return out + escapeHtml(code.slice(last));
  }
  function text(value) { return typeof value === "string" ? value : JSON.stringify(value, null, 2); }
  function section(label, node) { return [el("div", { class: "tag", text: label }), node]; }
  function pre(value, cls) { return el("pre", cls ? { class: cls, text: text(value) } : { text: text(value) }); }
  /** Media references in text ("data:image/..." URLs) shown inline. */
  function mediaOf(value) {
    var found = [], re = /data:(image|audio)\/[\w.+-]+;base64,[A-Za-z0-9+\/=]+/g, m;
    var s = typeof value === "string" ? value : JSON.stringify(value || "");
    while ((m = re.exec(s || ""))) found.push(el(m[1] === "image" ? "img" : "audio", { class: "media", src: m[0], controls: "" }));
    return found;
  }

  // --- the playground
  var log = $("log");
  if (!log) return toolPage();
  var live = $("live"), statusEl = $("status"), errorEl = $("error"), pendingEl = $("pending");
  var agentSelect = $("agent"), modeSelect = $("mode"), autoBox = $("auto");
  var run = null; // {agent, runId?, state?, status}
  var busy = false, stopped = false;

  function setError(e) { errorEl.textContent = e ? String(e.message || e) : ""; }
  function setStatus(s, detail) { statusEl.textContent = s + (detail || ""); statusEl.setAttribute("data-status", s); }
  function refreshButtons() {
    var active = run && (run.status === "running" || run.status === "awaiting_input");
    $("step").disabled = busy || !run || run.status !== "running";
    $("cancel").disabled = !active;
    $("start").disabled = busy;
  }

  async function loadAgents() {
    setError(null);
    try {
      var data = await api("GET", "/v1/agents");
      agentSelect.innerHTML = "";
      data.agents.forEach(function (a) { agentSelect.appendChild(el("option", { value: a.name, text: a.name })); });
      modeSelect.innerHTML = "";
      if (data.modes.kv) modeSelect.appendChild(el("option", { value: "kv", text: "KV (stored run)" }));
      if (data.modes.stateless) modeSelect.appendChild(el("option", { value: "stateless", text: "Stateless (token)" }));
      var tools = $("tools");
      tools.innerHTML = "";
      data.agents.forEach(function (a) {
        a.tools.forEach(function (t) {
          if (t.directCalls === false) return;
          tools.appendChild(el("a", { href: "/tools/" + encodeURIComponent(t.name) + "?agent=" + encodeURIComponent(a.name), text: a.name + "/" + t.name }));
          tools.appendChild(document.createTextNode(" "));
        });
      });
    } catch (e) { setError(e); }
  }

  function renderStep(step, info) {
    if (!step) return;
    var title = step.type === "action" ? "Step " + step.stepNumber : step.type === "planning" ? "Plan" : step.type === "task" ? "Task" : "Final answer";
    var meta = [];
    if (step.timing) meta.push(Math.round(step.timing.durationMs) + " ms");
    if (step.tokenUsage) meta.push(step.tokenUsage.inputTokens + " in / " + step.tokenUsage.outputTokens + " out tokens");
    if (info && info.stepAgent) meta.push("agent " + info.stepAgent);
    var card = el("div", { class: "step" + (step.type === "final_answer" || step.isFinalAnswer ? " final" : ""), "data-type": step.type }, [
      el("h3", {}, [el("span", { text: title }), el("span", { class: "meta", text: meta.join(" · ") })]),
    ]);
    function add(nodes) { nodes.forEach(function (n) { card.appendChild(n); }); }
    if (step.type === "task") add(section("task", pre(step.task)));
    if (step.type === "planning") add(section("plan", pre(step.plan)));
    if (step.type === "action") {
      if (step.modelOutput) add(section("thought", pre(step.modelOutput)));
      if (step.code) add(section("code", el("pre", { class: "code", html: highlight(step.code) })));
      (step.toolCalls || []).forEach(function (call) {
        if (step.code && call.arguments === step.code) return; // the code block above
        add(section("tool call", pre(call.name + "(" + text(call.arguments) + ")")));
      });
      if (step.observations) add(section("observation", pre(step.observations))), add(mediaOf(step.observations));
      if (step.error) add(section("error", el("pre", { class: "err", text: step.error.type + ": " + step.error.message })));
      if (step.isFinalAnswer) add(section("final answer", pre(step.actionOutput)));
    }
    if (step.type === "final_answer") add(section("answer", pre(step.output))), add(mediaOf(step.output));
    log.appendChild(card);
  }

  function renderPending(p) {
    pendingEl.innerHTML = "";
    pendingEl.hidden = !p;
    if (!p) return;
    if (p.kind === "approval") {
      pendingEl.appendChild(el("div", { class: "tag", text: "approval needed" }));
      p.toolCalls.forEach(function (c) { pendingEl.appendChild(pre(c.name + "(" + text(c.arguments) + ")")); });
      var reason = el("input", { id: "reason", placeholder: "reason (optional)" });
      var yes = el("button", { id: "approve", text: "Approve" });
      var no = el("button", { id: "reject", class: "danger", text: "Reject" });
      yes.onclick = function () { answer({ approve: true }); };
      no.onclick = function () { answer(reason.value ? { approve: false, reason: reason.value } : { approve: false }); };
      pendingEl.appendChild(el("div", { class: "row" }, [yes, no, reason]));
    } else {
      pendingEl.appendChild(el("div", { class: "tag", text: "the agent asks" }));
      pendingEl.appendChild(pre(p.question));
      var field = el("input", { id: "answer", placeholder: "your answer" });
      var send = el("button", { id: "send-answer", text: "Send" });
      send.onclick = function () { answer({ answer: field.value }); };
      pendingEl.appendChild(el("div", { class: "row" }, [field, send]));
    }
  }

  function applyResult(data) {
    if (data.state) run.state = data.state;
    run.status = data.status;
    renderStep(data.step, data);
    var usage = data.tokenUsage;
    setStatus(data.status, usage ? " · " + usage.inputTokens + " in / " + usage.outputTokens + " out tokens total" : "");
    renderPending(data.pendingInput);
    if (data.error) setError({ message: data.error.type + ": " + data.error.message });
    if (data.status !== "running" && data.status !== "awaiting_input" && "finalAnswer" in data) {
      $("answer-out").textContent = text(data.finalAnswer);
      mediaOf(data.finalAnswer).forEach(function (n) { log.appendChild(n); });
    }
  }

  function onDelta(d) {
    if (d.text) live.textContent += d.text;
    if (d.toolCall) live.textContent += (d.toolCall.name ? "\n" + d.toolCall.name + " " : "") + (d.toolCall.arguments || "");
  }

  async function send(kind, body) {
    busy = true; refreshButtons(); setError(null); live.textContent = "";
    try {
      var path, payload = body || {};
      if (run.runId) path = "/v1/runs/" + encodeURIComponent(run.runId) + (kind === "input" ? "/input" : "/steps");
      else {
        path = "/v1/agents/" + encodeURIComponent(run.agent) + (kind === "input" ? "/input" : "/steps");
        payload = Object.assign({ state: run.state }, payload);
      }
      applyResult(await stepRequest(path, payload, onDelta));
      return true;
    } catch (e) { setError(e); return false; }
    finally { live.textContent = ""; busy = false; refreshButtons(); }
  }

  async function autoRun() {
    while (run && run.status === "running" && autoBox.checked && !stopped) {
      if (!(await send("step"))) break;
    }
  }

  async function answer(input) {
    if (await send("input", input)) await autoRun();
  }

  $("start").onclick = async function () {
    var task = $("task").value.trim();
    if (!task) return setError("Write a task first.");
    var agent = agentSelect.value, stateless = modeSelect.value === "stateless";
    log.innerHTML = ""; $("answer-out").textContent = ""; renderPending(null); setError(null); stopped = false;
    setStatus("starting"); run = null; $("run-id").textContent = "";
    try {
      var created = await api("POST", "/v1/agents/" + encodeURIComponent(agent) + "/runs", stateless ? { task: task, stateless: true } : { task: task });
      run = { agent: agent, runId: created.runId, state: created.state, status: created.status };
      $("run-id").textContent = run.runId ? "run " + run.runId : "stateless run";
      if (run.runId) $("reopen-id").value = run.runId;
      setStatus(run.status);
      refreshButtons();
      await autoRun();
    } catch (e) { setError(e); }
    refreshButtons();
  };
  $("step").onclick = function () { send("step"); };
  $("cancel").onclick = async function () {
    stopped = true;
    if (run && run.runId) {
      try { var r = await api("POST", "/v1/runs/" + encodeURIComponent(run.runId) + "/cancel", {}); run.status = r.status; setStatus(r.status); }
      catch (e) { setError(e); }
    } else if (run) { run.status = "cancelled"; setStatus("cancelled", " (stateless: the token is dropped)"); }
    renderPending(null);
    refreshButtons();
  };
  $("reopen").onclick = async function () {
    var id = $("reopen-id").value.trim();
    if (!id) return;
    setError(null); stopped = false; setStatus("loading");
    try {
      var r = await api("GET", "/v1/runs/" + encodeURIComponent(id));
      run = { agent: r.agent, runId: r.runId, status: r.status };
      log.innerHTML = ""; $("answer-out").textContent = "";
      $("run-id").textContent = "run " + r.runId + " (" + r.agent + ")";
      r.steps.forEach(function (s) { renderStep(s); });
      applyResult({ status: r.status, pendingInput: r.pendingInput, tokenUsage: r.tokenUsage, finalAnswer: r.finalAnswer, error: r.error });
    } catch (e) { setError(e); }
    refreshButtons();
  };
  $("load").onclick = loadAgents;
  refreshButtons();
  loadAgents();

  // --- a tool demo page: a form from the tool's JSON Schema
  function toolPage() {
    var form = $("tool-form"), out = $("tool-out"), name = form.getAttribute("data-tool");
    var agentName = new URLSearchParams(location.search).get("agent");
    var fields = [];
    async function build() {
      $("tool-error").textContent = "";
      try {
        var data = await api("GET", "/v1/agents");
        var found = null;
        data.agents.forEach(function (a) {
          if (agentName && a.name !== agentName) return;
          a.tools.forEach(function (t) { if (t.name === name && !found) found = { agent: a.name, tool: t }; });
        });
        if (!found) throw new Error("No tool named " + name + ".");
        agentName = found.agent;
        $("tool-desc").textContent = found.tool.description;
        var props = (found.tool.parameters && found.tool.parameters.properties) || {};
        var required = (found.tool.parameters && found.tool.parameters.required) || [];
        var box = $("tool-fields");
        box.innerHTML = ""; fields = [];
        Object.keys(props).forEach(function (key) {
          var p = props[key], type = Array.isArray(p.type) ? p.type[0] : p.type, input;
          if (p.enum) { input = el("select", { name: key }); p.enum.forEach(function (v) { input.appendChild(el("option", { value: v, text: v })); }); }
          else if (type === "boolean") input = el("input", { type: "checkbox", name: key });
          else if (type === "number" || type === "integer") input = el("input", { type: "number", step: type === "integer" ? "1" : "any", name: key });
          else if (type === "string") input = el("textarea", { name: key, rows: "2" });
          else input = el("textarea", { name: key, rows: "3", placeholder: "JSON" });
          if (required.indexOf(key) >= 0 && type !== "boolean") input.required = true;
          if (p.default !== undefined && type !== "boolean") input.value = typeof p.default === "string" ? p.default : JSON.stringify(p.default);
          fields.push({ key: key, type: type, input: input, enumerated: Boolean(p.enum) });
          box.appendChild(el("label", {}, [el("span", { text: key + (p.description ? " — " + p.description : "") }), el("br"), input]));
        });
      } catch (e) { $("tool-error").textContent = e.message; }
    }
    form.onsubmit = async function (event) {
      event.preventDefault();
      $("tool-error").textContent = ""; out.innerHTML = "";
      var args = {};
      try {
        fields.forEach(function (f) {
          var v = f.input.value;
          if (f.type === "boolean") args[f.key] = f.input.checked;
          else if (v === "") return;
          else if (f.type === "number" || f.type === "integer") args[f.key] = Number(v);
          else if (f.type === "string" || f.enumerated) args[f.key] = v;
          else args[f.key] = JSON.parse(v);
        });
        var r = await api("POST", "/v1/tools/" + encodeURIComponent(name), { agent: agentName || undefined, arguments: args });
        out.appendChild(el("div", { class: "meta", text: r.durationMs + " ms · " + r.outputType }));
        if (r.media) out.appendChild(el(r.media.mediaType.indexOf("audio") === 0 ? "audio" : "img", { class: "media", src: r.media.dataUrl, controls: "" }));
        else out.appendChild(pre(r.output));
      } catch (e) { $("tool-error").textContent = e.message; }
    };
    $("load").onclick = build;
    build();
  }
})();
`;
