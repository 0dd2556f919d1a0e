/**
 * The tool demo page's part of the playground script (`GET /tools/{name}`): a form built from the tool's JSON Schema,
 * sent to `POST /v1/tools/{name}`. A function declaration spliced into the script's closure (./page_script.ts), so it
 * uses the same helpers (`$`, `el`, `api`, `pre`). Kept free of backticks so it can live in this template string.
 */
export const TOOL_PAGE_SCRIPT = String.raw`
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
`;
