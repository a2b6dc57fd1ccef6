/** The page frame, shared fragments and formatting of the dashboard's pages. */
import { randomBytes } from 'node:crypto';
import type { IssuedCredentials } from '../services/platforms.js';
import type { SessionSubject } from '../services/sessions.js';
import { ASSET_VERSION } from './assets.js';
import { type HtmlValue, html, type SafeHtml } from './html.js';

export const BASE = '/dashboard';

export interface PageOptions {
  title: string;
  /** The signed-in person, with the session's CSRF token; undefined on the sign-in pages. */
  session?: { subject: SessionSubject; csrfToken: string } | undefined;
  /** A fixed confirmation shown above the content. */
  notice?: string | undefined;
  body: HtmlValue;
}

function navigation(subject: SessionSubject): SafeHtml {
  const links =
    subject.kind === 'user'
      ? [
          ['Overview', `${BASE}/platform`],
          ['Go-live', `${BASE}/platform/go-live`],
          ['Requests', `${BASE}/platform/requests`],
          ['Usage', `${BASE}/platform/usage`],
          ['Examples', `${BASE}/platform/examples`],
        ]
      : [
          ['Platforms', `${BASE}/operator`],
          ['Board platform', `${BASE}/operator/platforms/new`],
          ['Audit log', `${BASE}/operator/audit`],
          ['Traffic', `${BASE}/operator/traffic`],
        ];
  return html`<nav aria-label="Main"><ul>${links.map(
    ([label, href]) => html`<li><a href="${href}">${label}</a></li>`,
  )}</ul></nav>`;
}

export function csrfField(csrfToken: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrfToken}">`;
}

/**
 * A one-time token for a form whose response reveals a secret. The server records it when the form
 * is submitted, so a reload that submits the form again changes nothing.
 */
export function onceField(): SafeHtml {
  return html`<input type="hidden" name="_once" value="${randomBytes(18).toString('base64url')}">`;
}

export function page(options: PageOptions): SafeHtml {
  const { session } = options;
  const account = session
    ? html`<div class="who"><span>${session.subject.email}${
        session.subject.kind === 'user' ? html` (${session.subject.role})` : html` (operator)`
      }</span><form method="post" action="${BASE}/sign-out">${csrfField(session.csrfToken)}<button type="submit">Sign out</button></form></div>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Gatepass</title>
<link rel="stylesheet" href="${BASE}/assets/dashboard.css?v=${ASSET_VERSION}">
<script src="${BASE}/assets/dashboard.js?v=${ASSET_VERSION}" defer></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site">
<a class="brand" href="${BASE}">Gatepass</a>
${session ? navigation(session.subject) : ''}
${account}
</header>
<main id="main" tabindex="-1">
<h1>${options.title}</h1>
${options.notice ? html`<div class="notice" role="status">${options.notice}</div>` : ''}
${options.body}
</main>
</body>
</html>`;
}

/** Time as an ISO 8601 string in UTC, to the second; a dash for none. */
export function formatTime(at: number | null | undefined): string {
  if (at === null || at === undefined) return '—';
  return `${new Date(Number(at)).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function statusBadge(status: string): SafeHtml {
  return html`<span class="status status-${status}">${status}</span>`;
}

/** A box for a secret shown once, with a copy button; ids keep several on one page apart. */
export function secretBox(label: string, value: string, id: string): SafeHtml {
  return html`<dt>${label}</dt><dd><code id="${id}">${value}</code> <button type="button" class="secondary" data-copy="${id}" aria-label="Copy ${label}">Copy</button></dd>`;
}

export const SECRETS_ONCE_WARNING =
  'These secrets are shown once. Store them now in a secret manager: Gatepass keeps only their hashes and cannot show them again.';

/** Render the credentials of one environment, shown once. */
export function issuedCredentials(credentials: IssuedCredentials, prefix: string): SafeHtml {
  const modules = Object.entries(credentials.modules).map(
    ([id, secrets]) =>
      html`${secretBox(`Module secret of ${id}`, secrets.module_secret, `${prefix}-ms-${id}`)}${
        secrets.provider_secret
          ? secretBox(`Provider secret of ${id}`, secrets.provider_secret, `${prefix}-ps-${id}`)
          : ''
      }`,
  );
  return html`<section class="secret-once" aria-labelledby="${prefix}-heading"><h2 id="${prefix}-heading">${credentials.environment} credentials</h2>
<p>${SECRETS_ONCE_WARNING}</p>
<dl class="facts"><dt>Client id</dt><dd><code>${credentials.client_id}</code></dd>
${secretBox('Client secret', credentials.client_secret, `${prefix}-cs`)}
${modules}</dl></section>`;
}
