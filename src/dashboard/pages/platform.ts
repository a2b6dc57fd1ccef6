/** Pages of platform users: overview, credentials, go-live, request log, usage, examples. */
import type { Environment } from '../../domain/environment.js';
import type { PendingReveal } from '../../services/credential-reveals.js';
import type { RotateResult } from '../../services/credentials.js';
import type { UsageSeries } from '../../services/dashboard.js';
import type { ChecklistView } from '../../services/go-live.js';
import type { IssuedCredentials, PlatformDetails } from '../../services/platforms.js';
import type { RequestLogTable } from '../../store/schema.js';
import { usageCharts } from '../charts.js';
import { type HtmlValue, html, type SafeHtml } from '../html.js';
import {
  BASE,
  csrfField,
  formatTime,
  issuedCredentials,
  onceField,
  type PageOptions,
  page,
  SECRETS_ONCE_WARNING,
  secretBox,
  statusBadge,
} from '../layout.js';

type Session = NonNullable<PageOptions['session']>;
type RequestRow = Omit<RequestLogTable, 'id'> & { id: number };
type EnvironmentDetails = PlatformDetails['environments'][number];

function role(session: Session): string {
  return session.subject.kind === 'user' ? session.subject.role : 'operator';
}

/**
 * Render a table of an environment's secrets by hint. `action` adds a last column, such as the
 * operator's revoke button.
 */
export function secretsTable(
  environment: EnvironmentDetails,
  showHints: boolean,
  action?: (secret: EnvironmentDetails['secrets'][number]) => HtmlValue,
): SafeHtml {
  const rows = environment.secrets.map(
    (s) =>
      html`<tr><td>${s.kind}</td><td>${s.module_id ?? '—'}</td><td>${showHints ? html`<code>${s.hint}</code>` : html`<span class="muted">hidden</span>`}</td><td>${formatTime(s.created_at)}</td><td>${formatTime(s.expires_at)}</td><td>${formatTime(s.revoked_at)}</td><td>${formatTime(s.last_used_at)}</td>${action ? html`<td>${action(s)}</td>` : ''}</tr>`,
  );
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Secrets of ${environment.environment}"><table>
<caption class="muted">Secrets of ${environment.environment}, by hint</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Module</th><th scope="col">Hint</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Revoked</th><th scope="col">Last used</th>${action ? html`<th scope="col">Action</th>` : ''}</tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

/** Sealed credentials of the platform that wait for an owner, or expired since the last read. */
export interface RevealState {
  ready: Array<PendingReveal & { client_id: string }>;
  expired: Array<PendingReveal & { client_id: string }>;
}

function environmentLabel(environment: Environment): string {
  return environment === 'production' ? 'Production' : 'Staging';
}

/**
 * Render a notice per sealed environment: owners get the reveal button, and other roles read
 * that an owner reveals them. Expired ones tell the owner to rotate instead.
 */
export function revealNotices(session: Session, reveals: RevealState): SafeHtml {
  const owner = role(session) === 'owner';
  const ready = reveals.ready.map((reveal) => {
    const label = environmentLabel(reveal.environment);
    const action = owner
      ? html`<p>The secrets are shown once, to the owner who reveals them, so store them in a secret manager straight away. They expire unrevealed at ${formatTime(reveal.expires_at)}.</p>
<form method="post" action="${BASE}/platform/clients/${encodeURIComponent(reveal.client_id)}/reveal">${csrfField(session.csrfToken)}${onceField()}
<button type="submit">Reveal ${reveal.environment} credentials</button></form>`
      : html`<p>An owner of your platform reveals them once, until ${formatTime(reveal.expires_at)}. Ask an owner: the dashboard shows them to owners only.</p>`;
    return html`<section class="card" aria-labelledby="reveal-${reveal.environment}"><h2 id="reveal-${reveal.environment}">${label} credentials are ready</h2>
<p>Go-live was approved at ${formatTime(reveal.created_at)} and ${reveal.environment} credentials were issued for your platform.</p>
${action}</section>`;
  });
  const expired = reveals.expired.map(
    (reveal) =>
      html`<div class="notice" role="status">The ${reveal.environment} credentials issued at go-live expired unrevealed at ${formatTime(reveal.expires_at)} and were deleted. An owner rotates the <a href="${BASE}/platform/clients/${encodeURIComponent(reveal.client_id)}">${reveal.environment} client secret</a> instead, and an operator the module secrets.</div>`,
  );
  return html`${expired}${ready}`;
}

/** The response page of a reveal: the sealed credentials, shown this once. */
export function revealedPage(session: Session, credentials: IssuedCredentials): SafeHtml {
  const path = `${BASE}/platform/clients/${encodeURIComponent(credentials.client_id)}`;
  return page({
    title: `${environmentLabel(credentials.environment)} credentials`,
    session,
    body: html`${issuedCredentials(credentials, 'revealed')}
<p>They work until they are rotated. The dashboard does not show them again, to you or to anyone else.</p>
<p><a href="${path}">Continue to the ${credentials.environment} credentials</a></p>`,
  });
}

export function checklistProgress(view: ChecklistView): SafeHtml {
  const done = view.items.filter((item) => item.checked).length;
  return html`<p>${done} of ${view.items.length} checklist items done; ${view.approvals.length} of ${view.approvals_required} approvals.</p>`;
}

export function overviewPage(
  session: Session,
  details: PlatformDetails,
  checklist: ChecklistView,
  reveals: RevealState,
  notice?: string,
): SafeHtml {
  const cards = details.environments.map(
    (env) => html`<section class="card" aria-labelledby="env-${env.environment}">
<h2 id="env-${env.environment}">${env.environment}</h2>
<dl class="facts"><dt>Client id</dt><dd><code>${env.client_id}</code></dd>
<dt>Modules</dt><dd>${env.modules.join(', ') || 'none'}</dd></dl>
<p><a href="${BASE}/platform/clients/${encodeURIComponent(env.client_id)}">Credentials of ${env.environment}</a></p>
</section>`,
  );
  return page({
    title: details.platform.name,
    session,
    notice,
    body: html`<p>Status: ${statusBadge(details.platform.status)} · Your role: ${role(session)}</p>
${revealNotices(session, reveals)}
<div class="grid">${cards}</div>
<section class="card" aria-labelledby="golive-heading"><h2 id="golive-heading">Go-live progress</h2>
${checklistProgress(checklist)}
<p><a href="${BASE}/platform/go-live">Checklist and comments</a></p></section>`,
  });
}

export function clientPage(
  session: Session,
  platformName: string,
  environment: EnvironmentDetails,
  rotated?: RotateResult,
  reveals: RevealState = { ready: [], expired: [] },
): SafeHtml {
  const owner = session.subject.kind === 'user' && session.subject.role === 'owner';
  const viewer = session.subject.kind === 'user' && session.subject.role === 'viewer';
  const path = `${BASE}/platform/clients/${encodeURIComponent(environment.client_id)}`;
  const revealed = rotated
    ? html`<section class="secret-once" aria-labelledby="new-secret"><h2 id="new-secret">New client secret</h2>
<p>${SECRETS_ONCE_WARNING}</p>
<dl class="facts">${secretBox('Client secret', rotated.secret, 'secret-client')}</dl>
<p>The previous secret works until ${formatTime(rotated.replaced_expires_at)}.</p></section>`
    : '';
  const rotate = owner
    ? html`<section class="card" aria-labelledby="rotate-heading"><h2 id="rotate-heading">Rotate the client secret</h2>
<p>A new secret is issued and shown once. The current one keeps working for the overlap, so you can switch without downtime.</p>
<form method="post" action="${path}/rotate">${csrfField(session.csrfToken)}${onceField()}
<label for="overlap">Overlap (seconds)</label>
<input id="overlap" name="overlap_seconds" type="number" min="0" step="1" value="86400" required>
<button type="submit">Rotate client secret</button></form></section>`
    : html`<p class="muted">Only owners of the platform rotate its credentials.</p>`;
  return page({
    title: `${platformName}: ${environment.environment} credentials`,
    session,
    body: html`${revealed}${revealNotices(session, {
      ready: reveals.ready.filter((r) => r.client_id === environment.client_id),
      expired: reveals.expired.filter((r) => r.client_id === environment.client_id),
    })}<dl class="facts"><dt>Client id</dt><dd><code>${environment.client_id}</code></dd></dl>
${secretsTable(environment, !viewer)}
${rotate}`,
  });
}

export function commentsSection(view: ChecklistView, csrfToken: string, action: string): SafeHtml {
  const comments = view.comments.map(
    (c) =>
      html`<li><div class="meta">${c.author_name} (${c.author_kind}), ${formatTime(c.created_at)}</div><div>${c.body}</div></li>`,
  );
  return html`<section class="card" aria-labelledby="comments-heading"><h2 id="comments-heading">Comments</h2>
${comments.length > 0 ? html`<ul class="plain comments">${comments}</ul>` : html`<p>No comments yet.</p>`}
<form method="post" action="${action}">${csrfField(csrfToken)}
<label for="comment-body">Comment</label>
<textarea id="comment-body" name="body" required maxlength="4000"></textarea>
<button type="submit">Add comment</button></form></section>`;
}

export function checklistTable(view: ChecklistView): SafeHtml {
  const rows = view.items.map(
    (item) =>
      html`<tr><th scope="row">${item.title}</th><td>${item.checked ? html`<span class="status status-ok">done</span>` : html`<span class="status status-bad">open</span>`}</td><td>${item.automatic ? 'Gatepass' : (item.checked_by ?? '—')}</td><td>${item.comment ?? (item.automatic && view.untested_modules.length > 0 ? `untested modules: ${view.untested_modules.join(', ')}` : '—')}</td></tr>`,
  );
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Go-live checklist"><table><caption class="muted">Go-live checklist</caption>
<thead><tr><th scope="col">Item</th><th scope="col">State</th><th scope="col">Checked by</th><th scope="col">Comment</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

export function goLivePage(session: Session, view: ChecklistView, notice?: string): SafeHtml {
  return page({
    title: 'Go-live',
    session,
    notice,
    body: html`<p>Status: ${statusBadge(view.status)}</p>
${checklistProgress(view)}
${checklistTable(view)}
${commentsSection(view, session.csrfToken, `${BASE}/platform/go-live/comments`)}`,
  });
}

export interface RequestFilterForm {
  module?: string | undefined;
  environment?: string | undefined;
  status?: string | undefined;
  failed?: boolean | undefined;
  from?: string | undefined;
  until?: string | undefined;
}

function option(value: string, label: string, selected: string | undefined): SafeHtml {
  return html`<option value="${value}"${selected === value ? html` selected` : ''}>${label}</option>`;
}

export function environmentSelect(selected: string | undefined): SafeHtml {
  return html`<label for="f-environment">Environment</label><select id="f-environment" name="environment">${option('', 'Any', selected)}${option('staging', 'staging', selected)}${option('production', 'production', selected)}</select>`;
}

export function requestsPage(
  session: Session,
  rows: RequestRow[],
  modules: string[],
  filter: RequestFilterForm,
): SafeHtml {
  const body = rows.map(
    (r) =>
      html`<tr><td>${formatTime(r.at)}</td><td>${r.environment}</td><td>${r.module_id}</td><td>${r.method}</td><td><code>${r.path}</code></td><td>${r.status}</td><td>${r.latency_ms} ms</td><td><a href="${BASE}/platform/requests/${r.id}">Details<span class="muted"> of ${r.request_id}</span></a></td></tr>`,
  );
  return page({
    title: 'Requests',
    session,
    body: html`<form method="get" action="${BASE}/platform/requests" class="card"><div class="filters">
<div><label for="f-module">Module</label><select id="f-module" name="module">${option('', 'Any', filter.module)}${modules.map((m) => option(m, m, filter.module))}</select></div>
<div>${environmentSelect(filter.environment)}</div>
<div><label for="f-status">Status</label><input id="f-status" name="status" type="text" inputmode="numeric" placeholder="404, or 5 for 5xx" value="${filter.status ?? ''}"></div>
<div class="inline-check"><input id="f-failed" name="failed" type="checkbox" value="1"${filter.failed ? html` checked` : ''}><label for="f-failed">Failed only</label></div>
<div><label for="f-from">From (UTC)</label><input id="f-from" name="from" type="datetime-local" value="${filter.from ?? ''}"></div>
<div><label for="f-until">Until (UTC)</label><input id="f-until" name="until" type="datetime-local" value="${filter.until ?? ''}"></div>
</div><button type="submit">Filter</button></form>
${
  rows.length === 0
    ? html`<p>No requests match.</p>`
    : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Requests"><table><caption class="muted">Newest first, at most 200</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Environment</th><th scope="col">Module</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Status</th><th scope="col">Latency</th><th scope="col">Request</th></tr></thead>
<tbody>${body}</tbody></table></div>`
}`,
  });
}

export function requestPage(session: Session, row: RequestRow): SafeHtml {
  return page({
    title: `Request ${row.request_id}`,
    session,
    body: html`<div class="card"><dl class="facts">
<dt>Request id</dt><dd><code>${row.request_id}</code></dd>
<dt>Time</dt><dd>${formatTime(row.at)}</dd>
<dt>Environment</dt><dd>${row.environment}</dd>
<dt>Module</dt><dd>${row.module_id}</dd>
<dt>Method and path</dt><dd><code>${row.method} ${row.path}</code></dd>
<dt>Status</dt><dd>${row.status}</dd>
<dt>Latency</dt><dd>${row.latency_ms} ms</dd>
<dt>Error code</dt><dd>${row.error_code ?? 'none'}</dd>
<dt>Authentication</dt><dd>${row.auth_method}</dd>
<dt>Client address</dt><dd>${row.client_address}</dd>
</dl></div><p><a href="${BASE}/platform/requests">All requests</a></p>`,
  });
}

export interface ExampleEnvironment {
  environment: Environment;
  client_id: string;
  url: string;
  modules: Array<{ id: string; prefix: string; requiresProviderSecret: boolean }>;
}

/** Build the `curl` commands for one environment, with shell variables in place of secrets. */
export function curlExamples(env: ExampleEnvironment): Array<{ title: string; command: string }> {
  const examples = [
    {
      title: 'Get an access token',
      command: `curl -s -u "${env.client_id}:$CLIENT_SECRET" -d grant_type=client_credentials \\\n  ${env.url}/v1/auth/token`,
    },
  ];
  for (const module of env.modules) {
    const provider = module.requiresProviderSecret
      ? ' \\\n  -H "X-Provider-Secret: $PROVIDER_SECRET"'
      : '';
    examples.push({
      title: `Call ${module.id} with the client id and secret`,
      command: `curl -s '${env.url}${module.prefix}/' \\\n  -H "X-Client-Id: ${env.client_id}" -H "X-Client-Secret: $CLIENT_SECRET" \\\n  -H "X-Module-Secret: $MODULE_SECRET"${provider}`,
    });
  }
  return examples;
}

export function examplesPage(session: Session, environments: ExampleEnvironment[]): SafeHtml {
  let counter = 0;
  const sections = environments.map((env) => {
    const blocks = curlExamples(env).map((example) => {
      counter += 1;
      const id = `example-${counter}`;
      return html`<h3>${example.title}</h3><pre id="${id}">${example.command}</pre><button type="button" class="secondary" data-copy="${id}" aria-label="Copy example: ${example.title}">Copy</button>`;
    });
    return html`<section class="card" aria-labelledby="ex-${env.environment}"><h2 id="ex-${env.environment}">${env.environment}</h2>${blocks}</section>`;
  });
  return page({
    title: 'Examples',
    session,
    body: html`<p>Set <code>CLIENT_SECRET</code>, <code>MODULE_SECRET</code> and, where a module needs one, <code>PROVIDER_SECRET</code> in your shell first, from where you stored them when they were issued. The dashboard never shows a secret again.</p>
${sections.length > 0 ? sections : html`<p>Your platform has no credentials yet.</p>`}`,
  });
}

export function usagePage(session: Session, series: UsageSeries): SafeHtml {
  return page({
    title: 'Usage',
    session,
    body: html`<p>Gateway calls of your platform per module and hour, over the last ${series.buckets.length} hours, both environments together.</p>${usageCharts(series, 'module')}`,
  });
}
