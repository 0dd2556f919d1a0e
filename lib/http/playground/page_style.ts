/** The playground's stylesheet (served as `/playground.css`): plain CSS, narrow screens first. */
export const PAGE_STYLE = String.raw`
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1b1b1f;background:#f6f6f8}
header{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;padding:.6rem 1rem;background:#20212b;color:#fff}
header h1{font-size:1.05rem;margin:0 auto 0 0}
header input{width:14rem;max-width:100%}
main{max-width:60rem;margin:0 auto;padding:1rem}
fieldset{border:1px solid #d6d6de;border-radius:8px;background:#fff;margin:0 0 1rem;padding:.75rem}
legend{font-weight:600;padding:0 .3rem}
label{display:block;margin:.3rem 0}
input,select,textarea,button{font:inherit;padding:.4rem .55rem;border:1px solid #b9b9c6;border-radius:6px;max-width:100%}
textarea{width:100%;min-height:4.5rem}
button{background:#3347d1;color:#fff;border-color:#3347d1;cursor:pointer}
button.alt{background:#fff;color:#3347d1}
button.danger{background:#b3261e;border-color:#b3261e}
button:disabled{opacity:.5;cursor:default}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.status{font-weight:600}
.err{color:#b3261e;white-space:pre-wrap}
.step{background:#fff;border:1px solid #d6d6de;border-radius:8px;margin:.6rem 0;padding:.6rem .75rem}
.step h3{font-size:.95rem;margin:0 0 .4rem;display:flex;flex-wrap:wrap;gap:.6rem}
.meta{color:#5b5b6b;font-weight:400;font-size:.85rem}
pre{white-space:pre-wrap;word-break:break-word;background:#f0f0f4;border-radius:6px;padding:.5rem;margin:.3rem 0;font:13px/1.4 ui-monospace,monospace;overflow:auto}
pre.code{background:#1e1f29;color:#e6e6ee}
.kw{color:#ff8fb1}.str{color:#a5e075}.num{color:#f5c06f}.com{color:#8a8aa0;font-style:italic}
.tag{font-size:.78rem;text-transform:uppercase;color:#5b5b6b;margin-top:.4rem}
.final{border-color:#2e7d32;background:#f1f8f1}
#live:empty{display:none}
.pending{border:2px solid #d18b00;background:#fff8e6}
img.media,audio.media{max-width:100%;display:block;margin:.4rem 0}
@media (max-width:600px){main{padding:.5rem}header input{width:100%}}
`;
