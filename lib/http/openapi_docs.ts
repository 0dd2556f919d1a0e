/**
 * `GET /docs`: a self-contained page (no CDN, no framework) that reads `./openapi.json` and lists every operation
 * with its parameters, request body, responses, error codes and schemas. Its one script and style sheet are inline and
 * allowed by their hashes in the page's Content-Security-Policy (`docsHeaders`): nothing else may run or load.
 */
import { encodeBase64 } from "../base64.ts";

const DOCS_STYLE = `body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#222}
h1{font-size:1.4rem}details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer}code,pre{font:13px ui-monospace,monospace}pre{background:#f6f6f6;padding:.5rem;overflow:auto}
.m{display:inline-block;width:4.2rem;font-weight:700;text-transform:uppercase}.get{color:#07a}.post{color:#080}
.delete{color:#c20}.s{color:#666}
`;

const DOCS_SCRIPT =
  `const el=(tag,attrs,...kids)=>{const e=document.createElement(tag);Object.assign(e,attrs);e.append(...kids);return e};
const pre=(v)=>el("pre",{},JSON.stringify(v,null,2));
fetch("openapi.json").then((r)=>r.json()).then((doc)=>{
  document.getElementById("info").textContent=doc.info.title+" "+doc.info.version+" (OpenAPI "+doc.openapi+"). "+
    doc.info.description;
  const ops=document.getElementById("ops");
  for(const [path,item] of Object.entries(doc.paths))for(const [method,op] of Object.entries(item)){
    const d=el("details",{},el("summary",{},el("span",{className:"m "+method},method),el("code",{},path)," ",
      el("span",{className:"s"},op.summary)));
    if(op.description)d.append(el("p",{},op.description));
    if(op.security&&op.security.length)d.append(el("p",{},"Needs Authorization: Bearer <API key>."));
    for(const p of op.parameters||[])d.append(el("p",{},el("code",{},p.in+" "+p.name)," ",p.description||""));
    if(op.requestBody)d.append(el("h4",{},"Request body"),pre(op.requestBody.content["application/json"].schema));
    for(const [status,res] of Object.entries(op.responses)){
      d.append(el("h4",{},status+" "+res.description));
      for(const [media,c] of Object.entries(res.content||{}))if(!status.startsWith("4")&&!status.startsWith("5"))
        d.append(el("p",{},el("code",{},media)),pre(c["x-sse-events"]||c.schema));
    }
    ops.append(d);
  }
  const schemas=document.getElementById("schemas");
  for(const [name,s] of Object.entries(doc.components.schemas))
    schemas.append(el("details",{id:name},el("summary",{},el("code",{},name)),pre(s)));
}).catch((e)=>{document.getElementById("info").textContent="Could not load openapi.json: "+e});
`;

export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>smolstep API</title>
<style>${DOCS_STYLE}</style></head><body><h1>smolstep API</h1><p id="info">Loading <a href="openapi.json">openapi.json</a>…</p>
<div id="ops"></div><h2>Schemas</h2><div id="schemas"></div>
<script>${DOCS_SCRIPT}</script></body></html>
`;

async function sha256Source(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `'sha256-${encodeBase64(new Uint8Array(digest))}'`;
}

/** The page's security headers: only its own inline script and style run, and it may fetch only from the app. */
export async function docsHeaders(): Promise<Record<string, string>> {
  const csp = `default-src 'none'; script-src ${await sha256Source(DOCS_SCRIPT)}; ` +
    `style-src ${await sha256Source(DOCS_STYLE)}; connect-src 'self'; base-uri 'none'; form-action 'none'; ` +
    "frame-ancestors 'none'";
  return { "Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer" };
}
