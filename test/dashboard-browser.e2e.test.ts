/**
 * Walks the dashboard in Debian's Chromium against a real `gatepass start` (the built command,
 * on its embedded database, with the demo module and its built-in upstream). An operator
 * boards a platform and adds an owner and a viewer. The owner rotates the staging client
 * secret, runs the page's `curl` examples and finds the call in the request log, and the
 * viewer sees no secret hints. The operator checks the go-live checklist and approves without
 * seeing a secret, the owner reveals the production credentials once and then rotates the
 * production client secret. Reloads of pages that show secrets
 * must repeat nothing, and signing out is checked with the back button, a reload and the old
 * cookie. Every page visited is checked by `PageChecker` (helpers/browser.ts): screenshots,
 * axe-core and phone width. Needs `npm run build` first.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import {
  launchBrowser,
  PageChecker,
  type PageGlobals,
  type TestBrowser,
} from './helpers/browser.js';
import {
  COMMAND,
  cleanEnvironment,
  exited,
  freePorts,
  ROOT,
  runCli,
  waitForExit,
  waitForReady,
} from './helpers/command.js';

const execFileAsync = promisify(execFile);

const OPERATOR_EMAIL = 'operator@provider.test';
const OPERATOR_PASSWORD = 'operator passphrase for the browser test';
const OWNER_EMAIL = 'owner@browser-retail.test';
const OWNER_PASSWORD = 'owner passphrase for the browser test';
const VIEWER_EMAIL = 'viewer@browser-retail.test';
const VIEWER_PASSWORD = 'viewer passphrase for the browser test';
const PLATFORM_NAME = 'Browser Retail';
const OWNER_QUESTION = 'Our staging calls pass. What is still needed before production?';
const OPERATOR_ANSWER = 'The signed agreement; we check the other items today.';
/** Upper bound on the poll for a request-log row, which Gatepass writes in batches every 0.5 s. */
const POLL_DEADLINE_MS = 10_000;

const CLIENT_ID = (environment: 'test' | 'live') =>
  new RegExp(`gpc_${environment}_[0-9A-Za-z]{24}`, 'g');
const SECRET = (environment: 'test' | 'live', kind: 'cs' | 'ms' | 'ps') =>
  new RegExp(`gp_${environment}_${kind}_[0-9A-Za-z]{49}`, 'g');

/** Return the visible text and the form field values of `page`, where secrets may appear. */
async function pageText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageGlobals;
    const fields = [...document.querySelectorAll('input:not([type=hidden]), textarea')];
    // biome-ignore lint/performance/useDomNodeTextContent: the text as shown, line breaks included
    return [document.body.innerText, ...fields.map((field) => field.value ?? '')].join('\n');
  });
}

/** Return whether the element of `locator` has the keyboard focus. */
function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((element) => element === element.ownerDocument.activeElement);
}

/** Return every distinct match of `pattern` in `text`, in order of appearance. */
function matches(text: string, pattern: RegExp): string[] {
  return [...new Set(text.match(pattern) ?? [])];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('dashboard in the browser', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatepass-dashboard-browser-'));
  const pages = new PageChecker('dashboard-browser');
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess;
  let serverOutput = '';
  let admin = '';
  let staging = '';
  let production = '';
  let browser: TestBrowser;
  let operatorContext: BrowserContext;
  let operator: Page;
  let ownerContext: BrowserContext;
  let owner: Page;

  let platformUrl = '';
  let stagingClientId = '';
  let clientSecret = '';
  let moduleSecret = '';
  let providerSecret = '';
  let requestId = '';
  let liveClientId = '';
  let liveModuleSecret = '';
  let liveProviderSecret = '';

  before(async () => {
    const [adminPort, stagingPort, productionPort] = await freePorts(3);
    admin = `http://127.0.0.1:${adminPort}`;
    staging = `http://127.0.0.1:${stagingPort}`;
    production = `http://127.0.0.1:${productionPort}`;
    env = {
      ...cleanEnvironment(),
      GATEPASS_DATA_DIR: dataDir,
      GATEPASS_ADMIN_PORT: String(adminPort),
      GATEPASS_STAGING_PORT: String(stagingPort),
      GATEPASS_PRODUCTION_PORT: String(productionPort),
      GATEPASS_LOG_LEVEL: 'warn',
    };
    server = spawn(process.execPath, [COMMAND, 'start'], { cwd: ROOT, env });
    server.stdout?.on('data', (chunk) => {
      serverOutput += chunk;
    });
    server.stderr?.on('data', (chunk) => {
      serverOutput += chunk;
    });
    const [launched, ready] = await Promise.allSettled([
      launchBrowser(),
      waitForReady(`${admin}/readyz`, server, () => serverOutput),
    ]);
    // Assigned before any rethrow, so that `after` closes a browser that did start.
    if (launched.status === 'fulfilled') browser = launched.value;
    if (launched.status === 'rejected') throw launched.reason;
    if (ready.status === 'rejected') throw ready.reason;
    operatorContext = browser.context;
    operator = await operatorContext.newPage();
    ownerContext = await browser.newContext();
    await ownerContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: admin });
    owner = await ownerContext.newPage();
  });

  after(async () => {
    await browser?.close();
    if (server && !exited(server)) {
      server.kill('SIGTERM');
      await waitForExit(server);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * The name of the first step that failed. Later steps build on the state of earlier ones, so
   * they are skipped rather than reported as failures of their own.
   */
  let failedStep = '';
  function step(name: string, body: () => Promise<void>): void {
    test(name, async (t) => {
      if (failedStep) {
        t.skip(`skipped because an earlier step failed: ${failedStep}`);
        return;
      }
      try {
        await body();
      } catch (error) {
        failedStep = name;
        throw error;
      }
    });
  }

  step('operator account from the command line', async () => {
    const result = await runCli(
      ['operators', 'add', '--email', OPERATOR_EMAIL, '--password-stdin'],
      env,
      OPERATOR_PASSWORD,
    );
    assert.equal(result.code, 0, `gatepass operators add failed: ${result.stderr}`);
  });

  step('operator signs in', async () => {
    await operator.goto(`${admin}/dashboard`);
    await operator.waitForURL(`${admin}/dashboard/sign-in`);
    await operator.getByRole('link', { name: 'operator sign-in' }).click();
    await operator.waitForURL(`${admin}/dashboard/operator/sign-in`);
    await pages.check(operator, 'operator sign-in');

    // The first Tab reaches the skip link, and following it puts focus on the main content.
    await operator.keyboard.press('Tab');
    const skipLink = operator.getByRole('link', { name: 'Skip to main content' });
    assert.ok(await isFocused(skipLink), 'the first Tab focuses the skip link');
    await operator.keyboard.press('Enter');
    assert.ok(await isFocused(operator.getByRole('main')), 'the skip link focuses the content');

    await operator.getByLabel('Email').fill(OPERATOR_EMAIL);
    await operator.getByLabel('Password').fill(OPERATOR_PASSWORD);
    await operator.getByRole('button', { name: 'Sign in' }).click();
    await operator.waitForURL(`${admin}/dashboard/operator`);
    await pages.check(operator, 'operator platforms');
  });

  step('operator boards a platform', async () => {
    await operator.getByRole('link', { name: 'Board a new platform' }).click();
    await operator.waitForURL(`${admin}/dashboard/operator/platforms/new`);
    await pages.check(operator, 'operator board form');

    await operator.getByLabel('Platform name').fill(PLATFORM_NAME);
    await operator.getByRole('checkbox', { name: '(demo)' }).check();
    await operator.getByRole('button', { name: 'Board platform' }).click();
    await operator.waitForURL(`${admin}/dashboard/operator/platforms`);
    await pages.check(operator, 'operator boarded');

    const text = await pageText(operator);
    const clientIds = matches(text, CLIENT_ID('test'));
    const clientSecrets = matches(text, SECRET('test', 'cs'));
    const moduleSecrets = matches(text, SECRET('test', 'ms'));
    const providerSecrets = matches(text, SECRET('test', 'ps'));
    assert.equal(clientIds.length, 1, 'one staging client id is shown');
    assert.equal(clientSecrets.length, 1, 'one staging client secret is shown');
    assert.equal(moduleSecrets.length, 1, 'one demo module secret is shown');
    assert.equal(providerSecrets.length, 1, 'one demo provider secret is shown');
    stagingClientId = clientIds[0] ?? '';
    clientSecret = clientSecrets[0] ?? '';
    moduleSecret = moduleSecrets[0] ?? '';
    providerSecret = providerSecrets[0] ?? '';
    const href = await operator
      .getByRole('link', { name: 'Continue to the platform' })
      .getAttribute('href');
    platformUrl = new URL(href ?? '', admin).href;
  });

  step('reload after boarding boards nothing', async () => {
    await operator.reload();
    await pages.check(operator, 'operator boarding reloaded');
    const text = await pageText(operator);
    assert.deepEqual(matches(text, SECRET('test', 'cs')), [], 'the reload shows no new secret');
    const alert = (await operator.getByRole('alert').textContent()) ?? '';
    assert.match(alert, /already submitted/, 'the reload says the form was already sent');

    await operator.goto(`${admin}/dashboard/operator`);
    const listed = operator.getByRole('link', { name: PLATFORM_NAME, exact: true });
    assert.equal(await listed.count(), 1, 'one platform was boarded');
  });

  step('operator opens the platform', async () => {
    await operator.goto(platformUrl);
    const platformText = await pageText(operator);
    assert.ok(platformText.includes(stagingClientId), 'the platform page shows the client id');
    assert.deepEqual(matches(platformText, /gp_test_[a-z]{2}_[0-9A-Za-z]{49}/g), [], 'no secret');
    await pages.check(operator, 'operator platform');
  });

  /** Fill and send the operator's Add user form, then check that the user is listed. */
  async function addUser(email: string, role: string, password: string): Promise<void> {
    const form = operator.locator('form', {
      has: operator.getByRole('button', { name: 'Add user' }),
    });
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Role').selectOption(role);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Add user' }).click();
    await operator.waitForURL(`${platformUrl}?notice=user-added`);

    const row = operator.getByRole('row', { name: email });
    const roleCell = row.getByRole('cell', { name: role, exact: true });
    assert.equal(await roleCell.count(), 1, `${email} is listed as ${role}`);
  }

  step('operator adds an owner and a viewer', async () => {
    await addUser(OWNER_EMAIL, 'owner', OWNER_PASSWORD);
    await pages.check(operator, 'operator user added');
    await addUser(VIEWER_EMAIL, 'viewer', VIEWER_PASSWORD);
  });

  step('owner signs in and sees staging credentials', async () => {
    await owner.goto(`${admin}/dashboard`);
    await owner.waitForURL(`${admin}/dashboard/sign-in`);
    await pages.check(owner, 'user sign-in');

    await owner.getByLabel('Email').fill(OWNER_EMAIL);
    await owner.getByLabel('Password').fill('not the owner password');
    await owner.getByRole('button', { name: 'Sign in' }).click();
    await owner.getByRole('alert').waitFor();
    assert.equal(owner.url(), `${admin}/dashboard/sign-in`, 'a wrong password stays on sign-in');
    await pages.check(owner, 'user sign-in failed');

    // Enter in the password field sends the form, as keyboard users expect.
    await owner.getByLabel('Password').fill(OWNER_PASSWORD);
    await owner.getByLabel('Password').press('Enter');
    await owner.waitForURL(`${admin}/dashboard/platform`);
    await pages.check(owner, 'user overview');

    const text = await pageText(owner);
    assert.ok(text.includes(stagingClientId), 'the overview shows the staging client id');
    assert.ok(text.includes(PLATFORM_NAME), 'the overview names the platform');
    assert.deepEqual(matches(text, SECRET('test', 'cs')), [], 'no client secret in full');
  });

  step('owner rotates the client secret', async () => {
    await owner.getByRole('link', { name: 'Credentials of staging' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/clients/${stagingClientId}`);
    await pages.check(owner, 'user staging credentials');
    assert.deepEqual(matches(await pageText(owner), SECRET('test', 'cs')), [], 'no secret yet');

    await owner.getByLabel('Overlap (seconds)').fill('3600');
    await owner.getByRole('button', { name: 'Rotate client secret' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/clients/${stagingClientId}/rotate`);
    await pages.check(owner, 'user rotated secret');

    const newSecrets = matches(await pageText(owner), SECRET('test', 'cs'));
    assert.equal(newSecrets.length, 1, 'the new client secret is shown');
    assert.notEqual(newSecrets[0], clientSecret, 'the shown secret is a new one');
    clientSecret = newSecrets[0] ?? '';
  });

  step('reload after rotation rotates nothing', async () => {
    await owner.reload();
    await pages.check(owner, 'user rotation reloaded');
    const text = await pageText(owner);
    assert.deepEqual(matches(text, SECRET('test', 'cs')), [], 'the reload shows no new secret');
    const alert = (await owner.getByRole('alert').textContent()) ?? '';
    assert.match(alert, /already submitted/, 'the reload says the form was already sent');
  });

  step('credentials page hides the new secret', async () => {
    await owner.goto(`${admin}/dashboard/platform/clients/${stagingClientId}`);
    await owner.reload();
    const text = await pageText(owner);
    assert.deepEqual(matches(text, SECRET('test', 'cs')), [], 'no client secret in full');
    // Boarding issued one client secret and the rotation one more, so a repeat would show three.
    const secrets = owner.getByRole('table', { name: 'Secrets of staging, by hint' });
    const clientRows = secrets.getByRole('row').filter({
      has: owner.getByRole('cell', { name: 'client', exact: true }),
    });
    assert.equal(await clientRows.count(), 2, 'two client secrets: the new one and the old one');
    await pages.check(owner, 'user staging credentials after rotation');
  });

  step('viewer sees no secret hints', async () => {
    const viewerContext = await browser.newContext();
    const viewer = await viewerContext.newPage();
    await viewer.goto(`${admin}/dashboard/sign-in`);
    await viewer.getByLabel('Email').fill(VIEWER_EMAIL);
    await viewer.getByLabel('Password').fill(VIEWER_PASSWORD);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.waitForURL(`${admin}/dashboard/platform`);

    await viewer.getByRole('link', { name: 'Credentials of staging' }).click();
    await viewer.waitForURL(`${admin}/dashboard/platform/clients/${stagingClientId}`);
    await pages.check(viewer, 'viewer staging credentials');
    const text = await pageText(viewer);
    assert.ok(text.includes(stagingClientId), 'the viewer sees the client id');
    assert.deepEqual(matches(text, /gp_test_[a-z]{2}_\S*/g), [], 'the viewer sees no secret hint');
    const rotate = viewer.getByRole('button', { name: 'Rotate client secret' });
    assert.equal(await rotate.count(), 0, 'the viewer has no rotate button');
    await viewerContext.close();
  });

  /**
   * Click the Copy button of the staging example under the heading `title`, and return what it
   * put on the clipboard after checking that it matches the example shown.
   */
  async function copyExample(page: Page, title: string): Promise<string> {
    const section = page.locator('section', {
      has: page.getByRole('heading', { name: 'staging' }),
    });
    const example = section.locator(
      `xpath=.//h3[starts-with(normalize-space(.), "${title}")]/following-sibling::pre[1]`,
    );
    assert.equal(await example.count(), 1, `the staging examples have one titled "${title}"`);
    const id = await example.getAttribute('id');
    await section.locator(`button[data-copy="${id}"]`).click();
    const copied = await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).navigator.clipboard.readText(),
    );
    assert.equal(copied, await example.textContent(), 'Copy puts the example on the clipboard');
    assert.match(copied, /^curl /, 'the example is a curl command');
    assert.ok(copied.includes(stagingClientId), 'the example contains the client id');
    assert.ok(!copied.includes(clientSecret), 'the example contains no secret');
    const urls = copied.match(/https?:\/\/[^\s'"]+/g) ?? [];
    assert.ok(urls.length > 0, 'the example names a URL');
    for (const url of urls)
      assert.ok(url.startsWith(`${staging}/`), `${url} is on the staging listener`);
    return copied;
  }

  /** Run a copied example as a person would paste it into a shell with the secrets exported. */
  async function runExample(command: string): Promise<string> {
    const { stdout } = await execFileAsync('bash', ['-c', command], {
      env: {
        PATH: process.env.PATH,
        CLIENT_SECRET: clientSecret,
        MODULE_SECRET: moduleSecret,
        PROVIDER_SECRET: providerSecret,
      },
    });
    return stdout;
  }

  step('owner runs the curl example', async () => {
    await owner.getByRole('link', { name: 'Examples' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/examples`);
    await pages.check(owner, 'user curl examples');

    const token = JSON.parse(await runExample(await copyExample(owner, 'Get an access token')));
    assert.equal(token.token_type, 'Bearer', 'the token example returns a token');

    const call = await copyExample(owner, 'Call demo');
    assert.ok(call.includes('$CLIENT_SECRET'), 'the example has a placeholder for the secret');
    assert.ok(call.includes(`'${staging}/demo/`), 'the example calls the demo module');
    const stdout = await runExample(call);
    const echoed = JSON.parse(stdout) as { environment: string; identity: Record<string, string> };
    assert.equal(echoed.environment, 'staging', stdout);
    // The gateway passes its request id on to the upstream, and the demo upstream echoes it.
    requestId = echoed.identity['x-request-id'] ?? '';
    assert.ok(requestId, `the demo upstream echoed no request id: ${stdout}`);
  });

  step('owner finds the call in the request log', async () => {
    await owner.getByRole('link', { name: 'Requests' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/requests`);
    // The request log is written in batches, so the row may appear a moment after the call.
    const deadline = Date.now() + POLL_DEADLINE_MS;
    while (!(await pageText(owner)).includes(requestId) && Date.now() < deadline) {
      await sleep(250);
      await owner.reload();
    }
    await pages.check(owner, 'user request log');

    await owner.getByRole('link', { name: requestId }).click();
    await owner.waitForURL(/\/dashboard\/platform\/requests\/\d+$/);
    await pages.check(owner, 'user request');
    const facts = await pageText(owner);
    assert.ok(facts.includes(requestId), 'the request page shows the request id');
    assert.match(facts, /Status\s+200\b/, 'the request page shows status 200');
    assert.match(facts, /Module\s+demo\b/, 'the request page shows the module');
  });

  step('owner asks in the go-live thread', async () => {
    await owner.getByRole('link', { name: 'Go-live' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/go-live`);
    await pages.check(owner, 'user go-live');

    await owner.getByRole('textbox', { name: 'Comment', exact: true }).fill(OWNER_QUESTION);
    await owner.getByRole('button', { name: 'Add comment' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/go-live?notice=comment-added`);
    await pages.check(owner, 'user go-live commented');
    const comments = owner.getByRole('region', { name: 'Comments' });
    assert.equal(await comments.getByText(OWNER_QUESTION).count(), 1, 'the comment is listed');
  });

  step('owner opens the usage page', async () => {
    await owner.getByRole('link', { name: 'Usage' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/usage`);
    await pages.check(owner, 'user usage');
  });

  step('operator answers in the go-live thread', async () => {
    await operator.goto(platformUrl);
    const comments = operator.getByRole('region', { name: 'Comments' });
    assert.equal(await comments.getByText(OWNER_QUESTION).count(), 1, 'the question is listed');
    await comments.getByRole('textbox', { name: 'Comment', exact: true }).fill(OPERATOR_ANSWER);
    await comments.getByRole('button', { name: 'Add comment' }).click();
    await operator.waitForURL(`${platformUrl}?notice=comment-added`);
    assert.equal(await comments.getByText(OPERATOR_ANSWER).count(), 1, 'the answer is listed');
  });

  step('operator checks the checklist and approves go-live', async () => {
    const checkButtons = operator.getByRole('button', { name: 'Check item' });
    let remaining = await checkButtons.count();
    assert.ok(remaining > 0, 'the platform page offers checklist items to check');
    while (remaining > 0) {
      const form = operator.locator('form', { has: checkButtons }).first();
      await form.getByRole('textbox').fill('Checked in the browser test.');
      await form.getByRole('button', { name: 'Check item' }).click();
      await operator.waitForURL(`${platformUrl}?notice=item-checked`);
      const left = await checkButtons.count();
      assert.equal(left, remaining - 1, 'each Check item click checks one item');
      remaining = left;
    }
    await pages.check(operator, 'operator checklist done');
    const checklist = operator.getByRole('table', { name: 'Go-live checklist' });
    const open = checklist.getByText('open', { exact: true });
    assert.equal(await open.count(), 0, 'no checklist item is open');

    await operator.getByRole('button', { name: 'Approve go-live' }).click();
    await operator.waitForURL(`${platformUrl}/approve`);
    await pages.check(operator, 'operator go-live approved');
    const text = await pageText(operator);
    const liveClientIds = matches(text, CLIENT_ID('live'));
    assert.equal(liveClientIds.length, 1, 'the production client id is shown');
    assert.deepEqual(matches(text, /gp_live_[a-z]{2}_\S*/g), [], 'the operator sees no secret');
    assert.ok(text.includes('Production credentials issued'), 'the page says they were issued');
    liveClientId = liveClientIds[0] ?? '';
  });

  step('reload after approval issues nothing', async () => {
    await operator.reload();
    await operator.getByRole('alert').waitFor();
    const text = await pageText(operator);
    assert.deepEqual(matches(text, /gp_live_[a-z]{2}_[0-9A-Za-z]{49}/g), [], 'no secret is shown');
    assert.deepEqual(matches(text, CLIENT_ID('live')), [], 'no production client id is shown');
    await pages.check(operator, 'operator approval reloaded');
  });

  step('owner reveals production credentials once', async () => {
    await owner.getByRole('link', { name: 'Overview' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform`);
    const ready = owner.getByRole('heading', { name: 'Production credentials are ready' });
    assert.equal(await ready.count(), 1, 'the overview says the credentials are ready');
    await pages.check(owner, 'user production credentials ready');

    await owner.getByRole('button', { name: 'Reveal production credentials' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/clients/${liveClientId}/reveal`);
    await pages.check(owner, 'user production credentials revealed');
    const text = await pageText(owner);
    const liveClientSecrets = matches(text, SECRET('live', 'cs'));
    const liveModuleSecrets = matches(text, SECRET('live', 'ms'));
    const liveProviderSecrets = matches(text, SECRET('live', 'ps'));
    assert.ok(text.includes(liveClientId), 'the production client id is shown');
    assert.equal(liveClientSecrets.length, 1, 'the client secret is shown');
    assert.equal(liveModuleSecrets.length, 1, 'the demo module secret is shown');
    assert.equal(liveProviderSecrets.length, 1, 'the demo provider secret is shown');
    liveModuleSecret = liveModuleSecrets[0] ?? '';
    liveProviderSecret = liveProviderSecrets[0] ?? '';

    const response = await fetch(`${production}/demo/hello`, {
      headers: {
        'x-client-id': liveClientId,
        'x-client-secret': liveClientSecrets[0] ?? '',
        'x-module-secret': liveModuleSecret,
        'x-provider-secret': liveProviderSecret,
      },
    });
    assert.equal(response.status, 200, await response.text());

    await owner.reload();
    await owner.getByRole('alert').waitFor();
    const reloaded = await pageText(owner);
    assert.deepEqual(matches(reloaded, /gp_live_[a-z]{2}_\S*/g), [], 'the reload shows no secret');
    await pages.check(owner, 'user reveal reloaded');
  });

  step('operator platform shows it live', async () => {
    await operator.goto(platformUrl);
    await operator.waitForURL(platformUrl);
    const platformText = await pageText(operator);
    assert.deepEqual(matches(platformText, /gp_live_[a-z]{2}_[0-9A-Za-z]{49}/g), [], 'no secret');
    assert.ok(platformText.includes(liveClientId), 'the platform page shows the client id');
    await pages.check(operator, 'operator platform live');
  });

  step('operator reads the audit log and traffic', async () => {
    await operator.getByRole('link', { name: 'Audit log' }).click();
    await operator.waitForURL(`${admin}/dashboard/operator/audit`);
    await operator.getByLabel('Action', { exact: true }).fill('credential.rotated');
    await operator.getByRole('button', { name: 'Filter' }).click();
    await operator.waitForURL(/\/dashboard\/operator\/audit\?.*action=credential\.rotated/);
    await pages.check(operator, 'operator audit log');
    const rows = operator.getByRole('row').filter({ hasText: 'credential.rotated' });
    assert.ok((await rows.count()) >= 1, "the owner's rotation is in the audit log");

    await operator.getByRole('link', { name: 'Traffic' }).click();
    await operator.waitForURL(`${admin}/dashboard/operator/traffic`);
    await pages.check(operator, 'operator traffic');
  });

  step('owner rotates the production client secret', async () => {
    await owner.getByRole('link', { name: 'Overview' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform`);
    await pages.check(owner, 'user overview live');
    assert.ok((await pageText(owner)).includes(liveClientId), 'the production client id is shown');

    await owner.getByRole('link', { name: 'Credentials of production' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/clients/${liveClientId}`);
    await pages.check(owner, 'user production credentials');
    await owner.getByLabel('Overlap (seconds)').fill('0');
    await owner.getByRole('button', { name: 'Rotate client secret' }).click();
    await owner.waitForURL(`${admin}/dashboard/platform/clients/${liveClientId}/rotate`);
    await pages.check(owner, 'user rotated production secret');
    const newSecrets = matches(await pageText(owner), SECRET('live', 'cs'));
    assert.equal(newSecrets.length, 1, 'the new production client secret is shown');
    const liveSecret = newSecrets[0] ?? '';

    await owner.goto(`${admin}/dashboard/platform/clients/${liveClientId}`);
    assert.ok(!(await pageText(owner)).includes(liveSecret), 'the secret is not shown again');

    const response = await fetch(`${production}/demo/hello`, {
      headers: {
        'x-client-id': liveClientId,
        'x-client-secret': liveSecret,
        'x-module-secret': liveModuleSecret,
        'x-provider-secret': liveProviderSecret,
      },
    });
    const echoed = (await response.json()) as { environment?: string };
    assert.equal(response.status, 200, JSON.stringify(echoed));
    assert.equal(echoed.environment, 'production');
  });

  step('signing out ends the session', async () => {
    await owner.goto(`${admin}/dashboard/platform`);
    const signedIn = await ownerContext.cookies(admin);
    await owner.getByRole('button', { name: 'Sign out' }).click();
    await owner.waitForURL(`${admin}/dashboard/sign-in?notice=signed-out`);
    await pages.check(owner, 'user signed out');

    await owner.goBack();
    await owner.waitForURL(`${admin}/dashboard/sign-in`);
    assert.ok(!(await pageText(owner)).includes(stagingClientId), 'back shows no platform data');
    await owner.reload();
    await owner.waitForURL(`${admin}/dashboard/sign-in`);
    await owner.goto(`${admin}/dashboard/platform/requests`);
    await owner.waitForURL(`${admin}/dashboard/sign-in`);
    assert.ok(!(await pageText(owner)).includes(requestId), 'no request log without a session');

    // A copy of the old session cookie, as a shared computer might keep, no longer works.
    await ownerContext.addCookies(signedIn);
    await owner.goto(`${admin}/dashboard/platform`);
    await owner.waitForURL(`${admin}/dashboard/sign-in`);

    await operator.getByRole('button', { name: 'Sign out' }).click();
    await operator.waitForURL(`${admin}/dashboard/operator/sign-in?notice=signed-out`);
    await pages.check(operator, 'operator signed out');
    await operator.goBack();
    await operator.waitForURL(`${admin}/dashboard/operator/sign-in`);
    assert.ok(!(await pageText(operator)).includes(PLATFORM_NAME), 'back shows no platform');
    await operator.goto(platformUrl);
    await operator.waitForURL(`${admin}/dashboard/operator/sign-in`);
  });
});
