/** The playground's HTML: the run page (`GET /`) and a tool's demo page (`GET /tools/{name}`). */

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function shell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="stylesheet" href="/playground.css"></head>
<body><header><h1>${escapeHtml(title)}</h1>
<input id="key" type="password" autocomplete="off" placeholder="API key (kept in this tab)" aria-label="API key">
<button id="load" class="alt">Load</button></header>
<main>${body}</main><script src="/playground.js"></script></body></html>`;
}

export function playgroundPage(): string {
  return shell(
    "smolstep playground",
    `<fieldset><legend>Run</legend>
<div class="row"><label>Agent <select id="agent"></select></label><label>Mode <select id="mode"></select></label>
<label><input type="checkbox" id="auto" checked> Auto-run</label></div>
<label for="task">Task</label><textarea id="task" placeholder="What should the agent do?"></textarea>
<div class="row"><button id="start">Start</button><button id="step" class="alt">Step</button>
<button id="cancel" class="danger">Cancel</button><span id="run-id" class="meta"></span></div>
<div class="row"><input id="reopen-id" placeholder="run id" aria-label="run id"><button id="reopen" class="alt">Reopen</button></div>
</fieldset>
<div class="row"><span class="status" id="status"></span></div><div id="error" class="err" role="alert"></div>
<div id="pending" class="step pending" hidden></div>
<div id="log"></div><pre id="live" aria-live="polite"></pre>
<div class="tag">final answer</div><pre id="answer-out"></pre>
<fieldset><legend>Tool demos</legend><div id="tools"></div></fieldset>`,
  );
}

export function toolPage(name: string): string {
  return shell(
    `smolstep tool: ${name}`,
    `<p><a href="/">← playground</a></p><p id="tool-desc"></p>
<form id="tool-form" data-tool="${escapeHtml(name)}"><fieldset><legend>Arguments</legend><div id="tool-fields"></div>
<button type="submit" id="tool-submit">Run tool</button></fieldset></form>
<div id="tool-error" class="err" role="alert"></div><div id="tool-out"></div>`,
  );
}
