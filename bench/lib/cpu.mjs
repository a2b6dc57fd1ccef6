/**
 * CPU accounting from /proc (Linux only), to tell whether other work shared the cores during a
 * measurement. Times are in clock ticks of USER_HZ, which Linux fixes at 100 per second for
 * /proc on every common architecture.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** Busy and total ticks of all cores since boot, from the `cpu` line of /proc/stat. */
export function systemTicks() {
  const fields = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // Fields: user nice system idle iowait irq softirq steal guest guest_nice; guest time is
  // already counted in user, so the sum stops at steal.
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3] - fields[4], total };
}

/**
 * User plus system ticks used by process `pid` and all its threads, or undefined once it has
 * exited. Fields 14 and 15 of /proc/PID/stat, counted after the command name, which may hold
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

/** Ticks this process has used, from process.cpuUsage (microseconds). */
export function ownTicks() {
  const { user, system } = process.cpuUsage();
  return ((user + system) / 1e6) * TICKS_PER_SECOND;
}

export function secondsToTicks(seconds) {
  return seconds * TICKS_PER_SECOND;
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
