/**
 * Drives Debian's Chromium with playwright-core for browser tests of the dashboard. It saves
 * screenshots of every page checked and runs axe-core's WCAG 2 A and AA rules on it, at desktop
 * and at phone width, where the page must not scroll sideways. The browser may load only
 * 127.0.0.1 and the `about:`, `data:` and `blob:` schemes. Any other request is aborted, and it
 * fails the check of the page that made it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { ROOT } from './command.js';

export const CHROMIUM = '/usr/bin/chromium';
/**
 * Chromium flags for a container without a display or outside network. Without the
 * background-networking, component-update and sync flags Chromium keeps trying to reach
 * Google's hosts.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/**
 * Upper bound on each wait for an element or a navigation, in place of playwright-core's 30 s,
 * so that a missing button fails its step quickly instead of using up the file's time.
 */
const ACTION_TIMEOUT_MS = 10_000;
export const DESKTOP_VIEWPORT = { width: 1280, height: 800 };
/** The CSS viewport of a common phone (iPhone 12 to 14) held upright. */
export const PHONE_VIEWPORT = { width: 390, height: 844 };
/** axe-core rule tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
/** Impacts that fail a test. Violations of `minor` and `moderate` impact go only to the report. */
const FAILING_IMPACTS = new Set(['serious', 'critical']);
export const OUTPUT_DIR = join(ROOT, 'test-output');

const require = createRequire(import.meta.url);

/**
 * The browser globals that functions evaluated in a page use. The project compiles without the
 * DOM library, so those functions reach them through `globalThis` with this type.
 */
export interface PageGlobals {
  axe?: { run(context: unknown, options: unknown): Promise<{ violations: AxeResult[] }> };
  innerWidth: number;
  document: {
    documentElement: { scrollWidth: number };
    body: { innerText: string };
    querySelectorAll(selectors: string): Iterable<{ value?: string }>;
  };
  navigator: { clipboard: { readText(): Promise<string> } };
}

/** The fields of an axe-core violation that the report keeps. */
interface AxeResult {
  id: string;
  impact?: string | null;
  help: string;
  helpUrl: string;
  nodes: Array<{ target: unknown[] }>;
}

export interface TestBrowser {
  browser: Browser;
  /** The context of the persistent profile that the browser was launched with. */
  context: BrowserContext;
  /** Open a context that shares no cookies or storage with any other, like a second person. */
  newContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Return whether the browser may load `url`: loopback on 127.0.0.1, or an in-browser scheme. */
function isAllowedUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'about:' || protocol === 'data:' || protocol === 'blob:') return true;
  return (protocol === 'http:' || protocol === 'https:') && hostname === '127.0.0.1';
}

/**
 * Record console errors, uncaught exceptions, failed subresources and off-host requests of
 * every page of `context`.
 */
async function watchContext(context: BrowserContext, problems: string[]): Promise<void> {
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (isAllowedUrl(url)) return route.continue();
    problems.push(`request to a host other than 127.0.0.1 was blocked: ${url}`);
    return route.abort('blockedbyclient');
  });
  const watchPage = (page: Page) => {
    page.on('console', (message) => {
      // Chromium logs every response with status 400 or more this way, error pages included, so
      // failed subresources are recorded from their responses below instead.
      if (message.type() !== 'error' || message.text().startsWith('Failed to load resource'))
        return;
      problems.push(`console error on ${page.url()}: ${message.text()}`);
    });
    page.on('response', (response) => {
      if (response.status() < 400 || response.request().resourceType() === 'document') return;
      problems.push(`${response.url()} returned ${response.status()} on ${page.url()}`);
    });
    page.on('pageerror', (error) => {
      problems.push(`uncaught exception on ${page.url()}: ${error.message}`);
    });
  };
  for (const page of context.pages()) watchPage(page);
  context.on('page', watchPage);
}

const contextProblems = new WeakMap<BrowserContext, string[]>();

/**
 * Launch Chromium on a fresh temporary profile. One browser serves a whole test file, and each
 * person in a test gets a context of their own from `newContext`.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium was not found at ${CHROMIUM}. Install Debian's package: apt-get install -y chromium`,
    );
  }
  const profileDir = mkdtempSync(join(tmpdir(), 'gatepass-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: DESKTOP_VIEWPORT,
  });
  const browser = context.browser();
  assert.ok(browser, 'playwright-core returned a persistent context without its browser');
  const contexts: BrowserContext[] = [context];

  const watch = async (target: BrowserContext) => {
    const problems: string[] = [];
    contextProblems.set(target, problems);
    target.setDefaultTimeout(ACTION_TIMEOUT_MS);
    await watchContext(target, problems);
    return target;
  };
  await watch(context);

  return {
    browser,
    context,
    async newContext() {
      const created = await browser.newContext({ viewport: DESKTOP_VIEWPORT });
      contexts.push(created);
      return watch(created);
    },
    async close() {
      for (const opened of contexts.reverse()) await opened.close().catch(() => undefined);
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** Convert a name to lower-case letters, digits and dashes, for file and folder names. */
function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export interface AxeViolation {
  id: string;
  /** The viewport the page had when axe-core found the violation. */
  viewport: 'desktop' | 'phone';
  impact: string | null;
  help: string;
  helpUrl: string;
  targets: string[];
}

export interface PageReport {
  name: string;
  url: string;
  screenshots: string[];
  violations: AxeViolation[];
}

/** Run axe-core in `page`, injecting its source first if the page does not have it yet. */
export async function runAxe(
  page: Page,
  viewport: AxeViolation['viewport'],
): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => 'axe' in globalThis);
  if (!loaded) {
    // Evaluated over the DevTools protocol, which the page's Content-Security-Policy does not
    // govern, so the dashboard needs no exception for tests. `addScriptTag` would be blocked.
    const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(source);
  }
  const violations = await page.evaluate(async (tags) => {
    const { axe, document } = globalThis as unknown as PageGlobals;
    if (!axe) throw new Error('axe-core did not load in the page');
    const results = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? null,
      help: violation.help,
      helpUrl: violation.helpUrl,
      targets: violation.nodes.map((node) => node.target.map(String).join(' ')),
    }));
  }, AXE_TAGS);
  return violations.map((violation) => ({ ...violation, viewport }));
}

/** Format violations one per line, with the elements each one was found on. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map(
      (v) =>
        `  ${v.id} (${v.impact}, ${v.viewport}): ${v.help}\n    on ${v.targets.join('\n    on ')}`,
    )
    .join('\n');
}

/**
 * Checks the pages a test visits. Each check saves full-page screenshots to
 * `test-output/screenshots/<test>/<NN-name>.png` and `<NN-name>-phone.png`, and writes every
 * axe-core finding, whatever its impact, to `test-output/axe/<test>.json`.
 */
export class PageChecker {
  readonly screenshotDir: string;
  readonly reportFile: string;
  readonly reports: PageReport[] = [];
  private count = 0;

  constructor(testName: string) {
    const name = slug(testName);
    this.screenshotDir = join(OUTPUT_DIR, 'screenshots', name);
    this.reportFile = join(OUTPUT_DIR, 'axe', `${name}.json`);
    // Screenshots of an earlier run would otherwise mix with this run's numbering.
    rmSync(this.screenshotDir, { recursive: true, force: true });
    mkdirSync(this.screenshotDir, { recursive: true });
    mkdirSync(join(OUTPUT_DIR, 'axe'), { recursive: true });
  }

  /** Save a full-page screenshot named `<NN-name>.png`, numbered in the order taken. */
  async screenshot(page: Page, name: string): Promise<string> {
    this.count += 1;
    const file = join(
      this.screenshotDir,
      `${String(this.count).padStart(2, '0')}-${slug(name)}.png`,
    );
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /**
   * Check the page as it is now, at desktop and then at phone width: a screenshot and
   * axe-core's WCAG 2 A and AA rules at each, failing on serious and critical violations, and
   * no horizontal scrolling at phone width. Also fails on console errors, uncaught exceptions,
   * failed subresources and blocked requests that the page's context recorded before the check.
   */
  async check(page: Page, name: string): Promise<PageReport> {
    const problems = contextProblems.get(page.context())?.splice(0) ?? [];
    const report: PageReport = { name, url: page.url(), screenshots: [], violations: [] };
    this.reports.push(report);

    report.screenshots.push(await this.screenshot(page, name));
    report.violations.push(...(await runAxe(page, 'desktop')));
    const viewport = page.viewportSize() ?? DESKTOP_VIEWPORT;
    await page.setViewportSize(PHONE_VIEWPORT);
    let widths: { scrollWidth: number; innerWidth: number };
    try {
      widths = await page.evaluate(() => {
        const { document, innerWidth } = globalThis as unknown as PageGlobals;
        return { scrollWidth: document.documentElement.scrollWidth, innerWidth };
      });
      report.screenshots.push(await this.screenshot(page, `${name}-phone`));
      report.violations.push(...(await runAxe(page, 'phone')));
    } finally {
      await page.setViewportSize(viewport);
      this.save();
    }

    const failing = report.violations.filter((v) => FAILING_IMPACTS.has(v.impact ?? ''));
    assert.deepEqual(
      failing.map((v) => `${v.id} (${v.viewport})`),
      [],
      `axe-core found serious or critical WCAG violations on ${name} (${report.url}):\n${describeViolations(failing)}`,
    );
    assert.ok(
      widths.scrollWidth <= widths.innerWidth,
      `${name} (${report.url}) scrolls sideways at phone width: the document is ${widths.scrollWidth} px wide in a ${widths.innerWidth} px viewport`,
    );
    assert.deepEqual(problems, [], `${name} (${report.url}) reported problems in the browser`);
    return report;
  }

  private save(): void {
    writeFileSync(this.reportFile, `${JSON.stringify(this.reports, null, 2)}\n`);
  }
}
