/** The sign-in pages of platform users and operators, and the error page. */
import { html, type SafeHtml } from '../html.js';
import { BASE, type PageOptions, page } from '../layout.js';

export interface SignInForm {
  kind: 'user' | 'operator';
  /** The pre-session CSRF token. */
  token: string;
  email?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
}

export function signInPage(form: SignInForm): SafeHtml {
  const action = form.kind === 'user' ? `${BASE}/sign-in` : `${BASE}/operator/sign-in`;
  const other =
    form.kind === 'user'
      ? html`<p>Provider staff: <a href="${BASE}/operator/sign-in">operator sign-in</a>.</p>`
      : html`<p>Partner platforms: <a href="${BASE}/sign-in">platform user sign-in</a>.</p>`;
  const options: PageOptions = {
    title: form.kind === 'user' ? 'Sign in' : 'Operator sign-in',
    notice: form.notice,
    body: html`<div class="card">
${form.error ? html`<div class="error" role="alert">${form.error}</div>` : ''}
<form method="post" action="${action}">
<input type="hidden" name="_csrf" value="${form.token}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${form.email ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
${other}
</div>`,
  };
  return page(options);
}

export function errorPage(
  title: string,
  message: string,
  session: PageOptions['session'],
): SafeHtml {
  return page({
    title,
    session,
    body: html`<div class="error" role="alert">${message}</div><p><a href="${BASE}">Back to the dashboard</a></p>`,
  });
}
