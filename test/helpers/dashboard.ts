/**
 * A minimal browser for dashboard tests: keeps cookies, sends forms with the page's CSRF token
 * and the listener's own `Origin`, and never follows redirects on its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestGatepass } from './gatepass.js';

export interface PageResponse {
  status: number;
  headers: Headers;
  text: string;
  /** `Set-Cookie` lines of the response. */
  setCookies: string[];
}

export class DashboardClient {
  readonly cookies = new Map<string, string>();
  /** The `_csrf` value of the last page that had one. */
  csrf = '';
  /** The first `_once` form token of the last page that had one; a POST spends it. */
  once = '';

  constructor(readonly base: string) {}

  private cookieHeader(): string {
    return [...this.cookies.entries()].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private async send(path: string, init: RequestInit): Promise<PageResponse> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', this.cookieHeader());
    const response = await fetch(`${this.base}${path}`, { ...init, headers, redirect: 'manual' });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = /max-age=0|expires=thu, 01 jan 1970/i.test(line);
      if (value === '' || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (token) this.csrf = token;
    const once = /name="_once" value="([^"]+)"/.exec(text)?.[1];
    if (once) this.once = once;
    return { status: response.status, headers: response.headers, text, setCookies };
  }

  get(path: string, headers: Record<string, string> = {}): Promise<PageResponse> {
    return this.send(path, { method: 'GET', headers });
  }

  /**
   * POST a form. By default it carries the last page's CSRF token and form token and this
   * listener's origin; `csrf: null` leaves the CSRF token out and `origin: null` the header.
   */
  post(
    path: string,
    form: Record<string, string | string[]> = {},
    options: {
      csrf?: string | null;
      origin?: string | null;
      headers?: Record<string, string>;
    } = {},
  ): Promise<PageResponse> {
    const body = new URLSearchParams();
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    if (csrf !== null) body.append('_csrf', csrf);
    if (this.once !== '' && !('_once' in form)) body.append('_once', this.once);
    this.once = '';
    for (const [name, value] of Object.entries(form)) {
      for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
    }
    const origin = options.origin === undefined ? this.base : options.origin;
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      ...options.headers,
    };
    if (origin !== null) headers.origin = origin;
    return this.send(path, { method: 'POST', headers, body: body.toString() });
  }

  /** Open the sign-in page and submit it. Returns the response to the form. */
  async signIn(email: string, password: string, kind: 'user' | 'operator' = 'user') {
    const path = kind === 'user' ? '/dashboard/sign-in' : '/dashboard/operator/sign-in';
    await this.get(path);
    return this.post(path, { email, password });
  }
}

/** The text of a page without tags, with runs of white space collapsed. */
export function visibleText(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Wait for the batched audit writer of `gp` to store an event that `match` accepts. */
export async function auditEvent(
  gp: TestGatepass,
  match: (row: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown> | undefined> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const rows = (await gp.running.context.auditLog.list({ limit: 1000 })) as Array<
      Record<string, unknown>
    >;
    const found = rows.find(match);
    if (found) return found;
    await sleep(100);
  }
  return undefined;
}
