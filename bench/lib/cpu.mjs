/**
 * CPU accounting from /proc (Linux only), to tell whether other work shared the cores during a
 * measurement. Times are in clock ticks, and only differences and ratios of them are used, so
 * the length of a tick does not matter.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Busy and total ticks of all cores since boot, from the `cpu` line of /proc/stat. */
export function systemTicks() {
  const fields = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // Fields: user nice system idle iowait irq softirq steal guest guest_nice. Guest time is
  // already counted in user, so the sum stops at steal.
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3] - fields[4], total };
}

/**
 * User plus system ticks used by process `pid` and all its threads, or undefined once it has
 * exited. Fields 14 and 15 of /proc/PID/stat, counted after the command name, which may contain
 * spaces and parentheses.
 */
export function processTicks(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Ticks used by this process and by its children that have exited and been waited for:
 * utime, stime, cutime and cstime, fields 14 to 17 of /proc/self/stat.
 */
export function ownAndReapedTicks() {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields.slice(11, 15).reduce((sum, value) => sum + Number(value), 0);
}

/** Share of all cores' time spent busy over `ms` milliseconds, in percent. */
export async function busyPercent(ms = 2_000) {
  const before = systemTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = systemTicks();
  const total = after.total - before.total;
  return total > 0 ? (100 * (after.busy - before.busy)) / total : 0;
}

/**
 * Wait until the cores are less than `thresholdPercent` busy over 2 s, checking for at most
 * `maxWaitSeconds`. Returns the last reading; the caller decides what a busy machine means.
 */
export async function waitForQuiet({ thresholdPercent = 10, maxWaitSeconds = 120 } = {}) {
  const deadline = Date.now() + maxWaitSeconds * 1000;
  for (;;) {
    const busy = await busyPercent();
    if (busy < thresholdPercent || Date.now() >= deadline) return busy;
  }
}

/**
 * Milliseconds one core takes to hash 64 MiB with SHA-256, median of three: a speed reading to
 * compare runs of the benchmarks, since a virtual machine's cores can be slower at one time
 * than at another. Native code, so the reading does not depend on how V8 compiles a loop.
 */
export function coreSpeedProbeMs() {
  const data = Buffer.alloc(64 * 2 ** 20, 1);
  const times = [];
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    createHash('sha256').update(data).digest();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[1];
}
