/**
 * The playground's script (served as `/playground.js`): plain browser JavaScript, no framework, no build step. It
 * drives the same HTTP API as any client: the API key lives in memory and sessionStorage only, never in a URL.
 * Step requests ask for `text/event-stream` and render `delta` events live; a plain JSON answer works the same.
 * Kept free of backticks so it can live in this template string.
 */
import { TOOL_PAGE_SCRIPT } from "./page_tool_script.ts";

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
    var result = null;
    await readEvents(res, function (event, payload) {
      if (event === "delta") onDelta(payload);
      else if (event === "step") result = payload;
      else if (event === "error") throw apiError(payload, 500);
    });
    if (!result) throw new Error("The stream ended without a step.");
    return result;
  }
  /** Calls onEvent(event, data, id) for each Server-Sent Event of the response, until the stream ends. */
  async function readEvents(res, onEvent) {
    var reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) return;
      buffer += chunk.value.replace(/\r\n/g, "\n");
      var cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        var block = buffer.slice(0, cut), event = "message", id, lines = [];
        buffer = buffer.slice(cut + 2);
        block.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) event = line.slice(6).trim();
          else if (line.indexOf("id:") === 0) id = line.slice(3).trim();
          else if (line.indexOf("data:") === 0) lines.push(line.slice(5).replace(/^ /, ""));
        });
        if (lines.length) onEvent(event, JSON.parse(lines.join("\n")), id);
      }
    }
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
  /**
   * Images and audio named in a value, shown inline: data: URLs as they are; a KV run's blob refs
   * ("blob:sha256:<hex>;type=image/...") fetched with the key in a header and shown through an object URL.
   */
  var objectUrls = [];
  function mediaOf(value) {
    var found = [], m, s = typeof value === "string" ? value : JSON.stringify(value || "");
    var re = /data:(image|audio)\/[\w.+-]+;base64,[A-Za-z0-9+\/=]+|blob:sha256:([0-9a-f]{64});type=(image|audio)\//g;
    while ((m = re.exec(s || ""))) {
      var kind = m[1] || m[3], node = el(kind === "image" ? "img" : "audio", { class: "media", controls: "" });
      if (m[1]) node.src = m[0];
      else if (run && run.runId) showBlob(node, run.runId, m[2]);
      else continue; // a stateless run's blobs have no route
      found.push(node);
    }
    return found;
  }
  function showBlob(node, runId, digest) {
    node.setAttribute("data-blob", digest);
    if (node.tagName === "IMG") node.alt = "image " + digest.slice(0, 12);
    fetch("/v1/runs/" + encodeURIComponent(runId) + "/blobs/" + digest, { headers: headers() }).then(function (res) {
      if (!res.ok) throw new Error("blob " + digest.slice(0, 12) + ": HTTP " + res.status);
      return res.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      objectUrls.push(url);
      node.src = url;
    }).catch(function (e) { node.replaceWith(el("div", { class: "err", text: e.message })); });
  }
  function clearLog() {
    objectUrls.forEach(function (url) { URL.revokeObjectURL(url); });
    objectUrls = [];
    log.innerHTML = "";
    $("answer-out").textContent = "";
  }

  // --- the playground
  var log = $("log");
  if (!log) return toolPage();
  var live = $("live"), statusEl = $("status"), errorEl = $("error"), pendingEl = $("pending");
  var agentSelect = $("agent"), modeSelect = $("mode"), autoBox = $("auto");
  var run = null; // {agent, runId?, state?, status, background?}
  var busy = false, stopped = false, following = null; // the AbortController of the events stream followed

  function setError(e) { errorEl.textContent = e ? String(e.message || e) : ""; }
  function setStatus(s, detail) { statusEl.textContent = s + (detail || ""); statusEl.setAttribute("data-status", s); }
  function refreshButtons() {
    var active = run && (run.status === "running" || run.status === "awaiting_input");
    $("step").disabled = busy || following || !run || run.status !== "running" || run.background;
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
      if (data.modes.background) modeSelect.appendChild(el("option", { value: "background", text: "KV in the background (queue)" }));
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
    if ((await send("input", input)) && !run.background) await autoRun();
  }

  /**
   * Follows a background run's events (GET /v1/runs/{id}/events): its model deltas live, each step as it is
   * committed, pauses, and the end. The server closes the stream now and then: it is reopened after the last step seen.
   */
  async function follow(runId, lastStep) {
    if (following) following.abort();
    var ctl = following = new AbortController(), ended = false;
    refreshButtons();
    try {
      while (!ended && !ctl.signal.aborted) {
        var h = headers({ Accept: "text/event-stream" });
        if (lastStep >= 0) h["Last-Event-ID"] = String(lastStep);
        var res = await fetch("/v1/runs/" + encodeURIComponent(runId) + "/events", { headers: h, signal: ctl.signal });
        if (!res.ok) throw apiError(await res.json().catch(function () { return null; }), res.status);
        await readEvents(res, function (event, data, id) {
          if (ctl !== following) return;
          if (event === "delta") return onDelta(data);
          if (event === "step") {
            live.textContent = ""; lastStep = Number(id); renderStep(data);
            // A step after a pause: the run was answered (here or elsewhere) and goes on.
            if (run.status === "awaiting_input") { run.status = "running"; setStatus(run.status); renderPending(null); }
          }
          if (event === "awaiting_input") { run.status = "awaiting_input"; setStatus(run.status); renderPending(data); }
          if (event === "end") { ended = true; live.textContent = ""; applyResult(data); }
          refreshButtons();
        });
      }
    } catch (e) { if (!ctl.signal.aborted) setError(e); }
    finally { if (following === ctl) following = null; refreshButtons(); }
  }
  function unfollow() { if (following) following.abort(); following = null; }

  $("start").onclick = async function () {
    var task = $("task").value.trim();
    if (!task) return setError("Write a task first.");
    var agent = agentSelect.value, mode = modeSelect.value, body = { task: task };
    if (mode !== "kv") body[mode] = true; // stateless: true, or background: true
    unfollow(); clearLog(); renderPending(null); setError(null); stopped = false;
    setStatus("starting"); run = null; $("run-id").textContent = "";
    try {
      var created = await api("POST", "/v1/agents/" + encodeURIComponent(agent) + "/runs", body);
      run = { agent: agent, runId: created.runId, state: created.state, status: created.status, background: created.background };
      $("run-id").textContent = run.runId ? "run " + run.runId + (run.background ? " (background)" : "") : "stateless run";
      if (run.runId) $("reopen-id").value = run.runId;
      setStatus(run.status);
      refreshButtons();
      if (run.background) await follow(run.runId, -1);
      else await autoRun();
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
      unfollow();
      var r = await api("GET", "/v1/runs/" + encodeURIComponent(id));
      run = { agent: r.agent, runId: r.runId, status: r.status, background: r.background };
      clearLog();
      $("run-id").textContent = "run " + r.runId + " (" + r.agent + (r.background ? ", background" : "") + ")";
      r.steps.forEach(function (s) { renderStep(s); });
      applyResult({ status: r.status, pendingInput: r.pendingInput, tokenUsage: r.tokenUsage, finalAnswer: r.finalAnswer, error: r.error });
      // A background run still going: follow it from the last step shown.
      if (r.background && (r.status === "running" || r.status === "awaiting_input")) await follow(r.runId, r.steps.length - 1);
    } catch (e) { setError(e); }
    refreshButtons();
  };
  $("load").onclick = loadAgents;
  refreshButtons();
  loadAgents();

` + TOOL_PAGE_SCRIPT + `})();
`;
