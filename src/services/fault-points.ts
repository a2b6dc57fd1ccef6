/**
 * Fault points for crash-consistency tests. A fault point marks a place inside an operation that
 * writes, where a crash must leave the database either before or after the whole operation.
 * When the environment variable GATEPASS_FAULT_POINT names a point, the process kills itself
 * with SIGKILL on reaching it, so no `finally`, shutdown hook or pending write runs. A test then
 * inspects the database and starts Gatepass again on it. The variable is read once, at load, and
 * is not part of the configuration schema. It must never be set in production.
 */

/** Every fault point, named `<operation>.<place>`. */
export const FAULT_POINTS = [
  // Refresh: the compare-and-set committed, the response not yet built.
  'refresh.after-consume',
  // Reuse detection: chain revoked inside the transaction, its audit row not yet written.
  'refresh.reuse.before-commit',
  // Reuse detection: revocation and audit row committed, the refusal not yet sent.
  'refresh.reuse.after-commit',
  // Rotation: new secret and audit row written inside the transaction, not yet committed.
  'rotate.before-commit',
  // Rotation: transaction committed, the event and the response not yet sent.
  'rotate.after-commit',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

const armed = process.env.GATEPASS_FAULT_POINT || undefined;

if (armed !== undefined) {
  const known = (FAULT_POINTS as readonly string[]).includes(armed);
  process.emitWarning(
    known
      ? `GATEPASS_FAULT_POINT is set to "${armed}": this process kills itself with SIGKILL when it reaches that point. It is a testing aid, so unset it outside tests.`
      : `GATEPASS_FAULT_POINT is set to "${armed}", which names no fault point, so it has no effect. Known points: ${FAULT_POINTS.join(', ')}.`,
  );
}

/**
 * Kill this process with SIGKILL if GATEPASS_FAULT_POINT names `point`, and otherwise do
 * nothing.
 */
export function reachFaultPoint(point: FaultPoint): void {
  if (armed === point) process.kill(process.pid, 'SIGKILL');
}
