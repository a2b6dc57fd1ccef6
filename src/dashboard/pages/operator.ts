/** Pages of operators: platforms, boarding, one platform, audit log, traffic. */
import type { UsageSeries } from '../../services/dashboard.js';
import type { ChecklistView, SealedApproveResult } from '../../services/go-live.js';
import type { PlatformDetails } from '../../services/platforms.js';
import type { PlatformRow } from '../../store/platforms.js';
import { usageCharts } from '../charts.js';
import { html, type SafeHtml } from '../html.js';
import {
  BASE,
  csrfField,
  formatTime,
  onceField,
  type PageOptions,
  page,
  statusBadge,
} from '../layout.js';
import {
  checklistProgress,
  checklistTable,
  commentsSection,
  environmentSelect,
  secretsTable,
} from './platform.js';

type Session = NonNullable<PageOptions['session']>;

export function platformPath(platformId: string): string {
  return `${BASE}/operator/platforms/${encodeURIComponent(platformId)}`;
}

export function platformsPage(
  session: Session,
  platforms: PlatformRow[],
  query: string,
  notice?: string,
): SafeHtml {
  const rows = platforms.map(
    (p) =>
      html`<tr><th scope="row"><a href="${platformPath(p.id)}">${p.name}</a></th><td><code>${p.id}</code></td><td>${statusBadge(p.status)}</td><td>${formatTime(p.created_at)}</td></tr>`,
  );
  return page({
    title: 'Platforms',
    session,
    notice,
    body: html`<form method="get" action="${BASE}/operator" class="card" role="search">
<label for="q">Search</label>
<input id="q" name="q" type="search" value="${query}" placeholder="Name or id">
<button type="submit">Search</button>
</form>
<p><a class="button" href="${BASE}/operator/platforms/new">Board a new platform</a></p>
${
  rows.length === 0
    ? html`<p>No platforms match.</p>`
    : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Platforms"><table><caption class="muted">${platforms.length} platform(s)</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Status</th><th scope="col">Boarded</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}`,
  });
}

export function boardPage(
  session: Session,
  modules: Array<{ id: string; name: string }>,
): SafeHtml {
  return page({
    title: 'Board a platform',
    session,
    body: html`<form method="post" action="${BASE}/operator/platforms" class="card">${csrfField(session.csrfToken)}${onceField()}
<label for="name">Platform name</label>
<input id="name" name="name" type="text" required maxlength="200">
<fieldset><legend>Modules</legend>
${modules.map((m, index) => html`<div class="inline-check"><input id="module-${index}" name="modules" type="checkbox" value="${m.id}"><label for="module-${index}">${m.name} (${m.id})</label></div>`)}
</fieldset>
<button type="submit">Board platform</button>
</form>`,
  });
}

/** Render the response page of the approval that took a platform live, with no secret. */
export function approvedPage(
  session: Session,
  platformId: string,
  result: Extract<SealedApproveResult, { status: 'live' }>,
): SafeHtml {
  const owners =
    result.active_owners > 0
      ? html`<p>The platform has ${result.active_owners} active owner(s).</p>`
      : html`<p class="notice" role="status">The platform has no active owner yet. Add one before ${formatTime(result.reveal_expires_at)}, or the credentials expire unrevealed and an owner must rotate them.</p>`;
  return revealPage(
    session,
    'Platform is live',
    platformId,
    html`<section class="card" aria-labelledby="issued-heading"><h2 id="issued-heading">Production credentials issued</h2>
<dl class="facts"><dt>Client id</dt><dd><code>${result.client_id}</code></dd></dl>
<p>The production secrets are sealed for the platform's owners, who reveal them once in their dashboard until ${formatTime(result.reveal_expires_at)}. They are not shown here: credentials belong to the platform and are not passed on.</p>
${owners}</section>`,
  );
}

export function revealPage(
  session: Session,
  title: string,
  platformId: string,
  content: SafeHtml,
): SafeHtml {
  return page({
    title,
    session,
    body: html`${content}<p><a href="${platformPath(platformId)}">Continue to the platform</a></p>`,
  });
}

function rotateForm(
  path: string,
  environment: string,
  modules: string[],
  csrf: SafeHtml,
): SafeHtml {
  const id = `rotate-${environment}`;
  return html`<form method="post" action="${path}/credentials/rotate" class="card">${csrf}${onceField()}
<input type="hidden" name="environment" value="${environment}">
<h4>Rotate a ${environment} secret</h4>
<label for="${id}-kind">Kind</label><select id="${id}-kind" name="kind"><option value="client">client secret</option><option value="module">module secret</option><option value="provider">provider secret</option></select>
<label for="${id}-module">Module (for module and provider secrets)</label><select id="${id}-module" name="module"><option value="">none</option>${modules.map((m) => html`<option value="${m}">${m}</option>`)}</select>
<label for="${id}-overlap">Overlap (seconds)</label><input id="${id}-overlap" name="overlap_seconds" type="number" min="0" step="1" value="86400" required>
<button type="submit" aria-label="Rotate secret of ${environment}">Rotate secret</button></form>`;
}

function allowlistForm(
  path: string,
  environment: string,
  entries: string[],
  csrf: SafeHtml,
): SafeHtml {
  const id = `allowlist-${environment}`;
  return html`<form method="post" action="${path}/allowlist/${environment}" class="card">${csrf}
<label for="${id}">Allowed addresses on ${environment}, one per line (empty allows every address)</label>
<textarea id="${id}" name="entries">${entries.join('\n')}</textarea>
<button type="submit" aria-label="Save allowlist of ${environment}">Save allowlist</button></form>`;
}

export function platformPage(
  session: Session,
  details: PlatformDetails,
  checklist: ChecklistView,
  modules: Array<{ id: string; name: string }>,
  allowlists: Record<string, string[]>,
  notice?: string,
): SafeHtml {
  const { platform } = details;
  const path = platformPath(platform.id);
  const csrf = csrfField(session.csrfToken);
  const enabled = new Set(details.environments.flatMap((env) => env.modules));
  const available = modules.filter((m) => !enabled.has(m.id));
  const statusForm =
    platform.status === 'suspended'
      ? html`<form method="post" action="${path}/resume">${csrf}<button type="submit">Resume platform</button></form>`
      : html`<form method="post" action="${path}/suspend">${csrf}<button type="submit" class="danger">Suspend platform</button></form>`;

  const revoke = (secret: PlatformDetails['environments'][number]['secrets'][number]) =>
    secret.revoked_at === null
      ? html`<form method="post" action="${path}/credentials/${encodeURIComponent(secret.id)}/revoke">${csrf}<button type="submit" class="secondary" aria-label="Revoke secret ${secret.hint}">Revoke secret</button></form>`
      : '';
  const environments = details.environments.map(
    (env) =>
      html`<h3>${env.environment}</h3><dl class="facts"><dt>Client id</dt><dd><code>${env.client_id}</code></dd></dl>${secretsTable(env, true, revoke)}${rotateForm(path, env.environment, [...enabled].sort(), csrf)}${allowlistForm(path, env.environment, allowlists[env.environment] ?? [], csrf)}`,
  );
  const moduleRows = [...enabled]
    .sort()
    .map(
      (id) =>
        html`<tr><th scope="row">${id}</th><td><form method="post" action="${path}/modules/${encodeURIComponent(id)}/disable">${csrf}<button type="submit" class="secondary" aria-label="Disable module ${id}">Disable module</button></form></td></tr>`,
    );
  const users = details.users.map((u) => {
    const userPath = `${path}/users/${encodeURIComponent(u.id)}`;
    const toggle =
      u.status === 'active'
        ? html`<form method="post" action="${userPath}/disable">${csrf}<button type="submit" class="secondary" aria-label="Disable user ${u.email}">Disable user</button></form>`
        : html`<form method="post" action="${userPath}/enable">${csrf}<button type="submit" class="secondary" aria-label="Enable user ${u.email}">Enable user</button></form>`;
    return html`<tr><th scope="row">${u.email}</th><td>${u.role}</td><td>${u.status}</td><td>${toggle}<form method="post" action="${userPath}/password">${csrf}<label for="password-${u.id}">New password for ${u.email}</label><input id="password-${u.id}" name="password" type="password" required minlength="12" autocomplete="new-password"><button type="submit" class="secondary" aria-label="Reset password of ${u.email}">Reset password</button></form></td></tr>`;
  });
  const checks = checklist.items
    .filter((item) => !item.automatic && !item.checked)
    .map(
      (
        item,
      ) => html`<form method="post" action="${path}/checklist/${encodeURIComponent(item.id)}" class="card">${csrf}
<label for="check-${item.id}">Comment on “${item.title}”</label>
<textarea id="check-${item.id}" name="comment" required maxlength="4000"></textarea>
<button type="submit" aria-label="Check item ${item.title}">Check item</button></form>`,
    );

  return page({
    title: platform.name,
    session,
    notice,
    body: html`<p><code>${platform.id}</code> · Status: ${statusBadge(platform.status)}</p>
${statusForm}
<section aria-labelledby="cred-heading"><h2 id="cred-heading">Credentials</h2>${environments}</section>
<section aria-labelledby="mod-heading"><h2 id="mod-heading">Modules</h2>
${moduleRows.length > 0 ? html`<div class="table-wrap" tabindex="0" role="region" aria-label="Enabled modules"><table><thead><tr><th scope="col">Module</th><th scope="col">Action</th></tr></thead><tbody>${moduleRows}</tbody></table></div>` : html`<p>No modules enabled.</p>`}
${available.length > 0 ? html`<form method="post" action="${path}/modules" class="card">${csrf}${onceField()}<label for="enable-module">Module</label><select id="enable-module" name="module">${available.map((m) => html`<option value="${m.id}">${m.name} (${m.id})</option>`)}</select><button type="submit">Enable module</button></form>` : ''}
</section>
<section aria-labelledby="users-heading"><h2 id="users-heading">Users</h2>
${users.length > 0 ? html`<div class="table-wrap" tabindex="0" role="region" aria-label="Users"><table><thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead><tbody>${users}</tbody></table></div>` : html`<p>No users yet.</p>`}
<form method="post" action="${path}/users" class="card">${csrf}
<label for="user-email">Email</label><input id="user-email" name="email" type="email" required autocomplete="off">
<label for="user-role">Role</label><select id="user-role" name="role"><option value="owner">owner</option><option value="developer" selected>developer</option><option value="viewer">viewer</option></select>
<label for="user-password">Password</label><input id="user-password" name="password" type="password" required minlength="12" autocomplete="new-password">
<button type="submit">Add user</button></form>
</section>
<section aria-labelledby="checklist-heading"><h2 id="checklist-heading">Go-live</h2>
${checklistProgress(checklist)}
${checklistTable(checklist)}
${checks}
${platform.status === 'staging' ? html`<form method="post" action="${path}/approve">${csrf}${onceField()}<button type="submit">Approve go-live</button></form>` : ''}
</section>
${commentsSection(checklist, session.csrfToken, `${path}/comments`)}`,
  });
}

export interface AuditFilterForm {
  platform?: string | undefined;
  environment?: string | undefined;
  action?: string | undefined;
  from?: string | undefined;
  until?: string | undefined;
}

export function auditPage(
  session: Session,
  rows: Array<{
    seq: number;
    at: number;
    actor_kind: string;
    actor_id: string;
    address: string | null;
    action: string;
    outcome: string;
    platform_id: string | null;
    environment: string | null;
    data: unknown;
  }>,
  filter: AuditFilterForm,
): SafeHtml {
  const body = rows.map(
    (r) =>
      html`<tr><td>${r.seq}</td><td>${formatTime(r.at)}</td><td>${r.actor_kind}: ${r.actor_id}</td><td>${r.action}</td><td>${r.outcome}</td><td>${r.platform_id ?? '—'}</td><td>${r.environment ?? '—'}</td><td><code>${JSON.stringify(r.data)}</code></td></tr>`,
  );
  return page({
    title: 'Audit log',
    session,
    body: html`<form method="get" action="${BASE}/operator/audit" class="card"><div class="filters">
<div><label for="f-platform">Platform</label><input id="f-platform" name="platform" type="text" value="${filter.platform ?? ''}" placeholder="plt_…"></div>
<div>${environmentSelect(filter.environment)}</div>
<div><label for="f-action">Action</label><input id="f-action" name="action" type="text" value="${filter.action ?? ''}" placeholder="credential.rotated"></div>
<div><label for="f-from">From (UTC)</label><input id="f-from" name="from" type="datetime-local" value="${filter.from ?? ''}"></div>
<div><label for="f-until">Until (UTC)</label><input id="f-until" name="until" type="datetime-local" value="${filter.until ?? ''}"></div>
</div><button type="submit">Filter</button></form>
${
  rows.length === 0
    ? html`<p>No audit events match.</p>`
    : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Audit events"><table><caption class="muted">Newest first, at most 200</caption>
<thead><tr><th scope="col">Seq</th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">Platform</th><th scope="col">Environment</th><th scope="col">Data</th></tr></thead>
<tbody>${body}</tbody></table></div>`
}`,
  });
}

export function trafficPage(session: Session, series: UsageSeries): SafeHtml {
  return page({
    title: 'Traffic',
    session,
    body: html`<p>Gateway calls and errors per platform and module, per hour, over the last ${series.buckets.length} hours.</p>${usageCharts(series, 'platform and module')}`,
  });
}
