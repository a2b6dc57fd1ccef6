/**
 * The dashboard's stylesheet and script, kept as strings so they ship inside `dist/` with the
 * code and are served by Gatepass itself, with no CDN. The content security policy allows
 * neither inline scripts nor inline styles, so pages use only these two files.
 */
import { createHash } from 'node:crypto';

export const STYLESHEET = `
:root {
  --ink: #1b1f24; --muted: #4a5360; --line: #d5dae1; --page: #f6f7f9; --card: #ffffff;
  --brand: #1f4fbf; --brand-ink: #ffffff; --ok: #1d6b3a; --warn: #8a4b00; --bad: #a3211b;
  --focus: #ffbf47;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--page); line-height: 1.5;
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--brand); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible,
textarea:focus-visible, summary:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px;
}
.skip-link { position: absolute; left: -999px; top: 0; background: var(--card); padding: .5rem 1rem; }
.skip-link:focus { left: 1rem; z-index: 10; }
header.site {
  background: #16294f; color: #fff; padding: .75rem 1.25rem;
  display: flex; flex-wrap: wrap; align-items: center; gap: .75rem 1.5rem;
}
header.site a { color: #fff; }
header.site .brand { font-weight: 700; font-size: 1.1rem; text-decoration: none; }
header.site nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; }
header.site .who { margin-left: auto; display: flex; align-items: center; gap: .75rem; flex-wrap: wrap; }
header.site form { margin: 0; }
main { max-width: 72rem; margin: 0 auto; padding: 1.25rem; }
h1 { font-size: 1.6rem; margin: .25rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .75rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .5rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 0 0 1rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: #eef1f5; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9rem; }
pre { background: #0f1720; color: #e8edf3; padding: .75rem 1rem; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
input[type=text], input[type=email], input[type=password], input[type=number], input[type=search],
input[type=datetime-local], select, textarea {
  width: 100%; max-width: 32rem; padding: .5rem; border: 1px solid #8a94a3; border-radius: 4px;
  font: inherit; color: var(--ink); background: #fff;
}
textarea { min-height: 5rem; }
.inline-check label { display: inline; font-weight: 400; margin-left: .35rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0; }
button, .button {
  display: inline-block; font: inherit; font-weight: 600; padding: .5rem 1rem; margin: .5rem .5rem 0 0;
  border: 1px solid var(--brand); border-radius: 4px; background: var(--brand); color: var(--brand-ink);
  cursor: pointer; text-decoration: none;
}
button.secondary { background: #fff; color: var(--brand); }
button.danger { background: var(--bad); border-color: var(--bad); }
header.site button { background: transparent; border-color: #fff; color: #fff; margin: 0; padding: .3rem .8rem; }
.filters { display: grid; gap: .5rem 1rem; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); align-items: end; }
.filters label { margin-top: 0; }
.notice { border-left: 4px solid var(--ok); background: #e9f5ee; padding: .75rem 1rem; margin: 0 0 1rem; }
.error { border-left: 4px solid var(--bad); background: #fbeaea; padding: .75rem 1rem; margin: 0 0 1rem; }
.secret-once { border: 2px solid var(--warn); background: #fff6e8; padding: 1rem; border-radius: 6px; margin: 0 0 1rem; }
.secret-once code { word-break: break-all; }
.status { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .85rem; font-weight: 600; border: 1px solid currentColor; }
.status-live, .status-ok { color: var(--ok); }
.status-staging { color: var(--brand); }
.status-suspended, .status-bad { color: var(--bad); }
.muted { color: var(--muted); }
ul.plain { list-style: none; padding: 0; }
.comments li { border-bottom: 1px solid var(--line); padding: .5rem 0; }
.comments .meta { color: var(--muted); font-size: .9rem; }
.chart { width: 100%; max-width: 48rem; height: auto; }
.chart .calls { fill: #1f4fbf; }
.chart .errors { fill: #c0392b; }
.chart .axis { stroke: #4a5360; }
.chart text { fill: #1b1f24; font-size: 11px; }
.legend span { display: inline-flex; align-items: center; gap: .35rem; margin-right: 1rem; }
.swatch { display: inline-block; width: .9rem; height: .9rem; border-radius: 2px; }
.swatch-calls { background: #1f4fbf; }
.swatch-errors { background: #c0392b; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; word-break: break-all; }
@media (max-width: 40rem) {
  main { padding: .75rem; }
  header.site .who { margin-left: 0; }
  dl.facts { grid-template-columns: 1fr; }
}
`;

export const SCRIPT = `
document.addEventListener('click', function (event) {
  var button = event.target.closest('button[data-copy]');
  if (!button) return;
  var source = document.getElementById(button.getAttribute('data-copy'));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent).then(function () {
    var label = button.textContent;
    button.textContent = 'Copied';
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});
`;

/** Short content hash for the asset URLs, so a new release is never served from a stale cache. */
export const ASSET_VERSION = createHash('sha256')
  .update(STYLESHEET)
  .update(SCRIPT)
  .digest('hex')
  .slice(0, 12);
