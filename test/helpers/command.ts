/**
 * Runs the built `gatepass` command (dist/cli/main.js) in child processes: `start` as a
 * long-running server on free loopback ports, and other commands to completion.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const COMMAND = join(ROOT, 'dist', 'cli', 'main.js');
/** Upper bound on the wait for `/readyz`, after which the test fails rather than hangs. */
const READY_DEADLINE_MS = 30_000;

/** Return a port that was free a moment ago, found by binding port 0 on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Copy the test's environment without settings that point a child at another database or key. */
export function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('GATEPASS_') && name !== 'DATABASE_URL',
    ),
  );
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built command to completion, with `input` on its standard input. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [COMMAND, ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function waitForExit(
  child: ChildProcess,
): Promise<{ code: number | null; signal: string | null }> {
  if (exited(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Poll `url` until it returns 200, and fail if the child exits or the deadline passes first. */
export async function waitForReady(
  url: string,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`gatepass start exited early:\n${output().slice(-4000)}`);
    try {
      const response = await fetch(url);
      if (response.status === 200) return;
    } catch {
      // The listener is not bound yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${url} did not return 200 within ${READY_DEADLINE_MS} ms. Last output:\n${output().slice(-4000)}`,
  );
}
