/**
 * The process logger: JSON lines through pino. Request logging never serializes headers or
 * bodies (see http/server.ts); the redaction list is a second fence for any object that
 * reaches a log line with a credential field in it.
 */
import pino, { type Logger } from 'pino';

export const REDACTED_PATHS = [
  'authorization',
  'password',
  'client_secret',
  'module_secret',
  'provider_secret',
  'refresh_token',
  'access_token',
  'token',
  '*.authorization',
  '*.password',
  '*.client_secret',
  '*.module_secret',
  '*.provider_secret',
  '*.refresh_token',
  '*.access_token',
  '*.token',
  'headers.*',
  'req.headers',
  'request.headers',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'gatepass' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Maximum time a log line waits in the buffer of `createServerLogger`, in milliseconds. */
const FLUSH_INTERVAL_MS = 250;

/**
 * Create the logger of `gatepass start`: JSON lines to standard output, buffered up to 4 KiB and
 * written at least every 250 ms, so that a busy server makes one write per batch of lines rather
 * than a system call per access-log line. The buffer is written out when the process exits.
 * NOTE: a process killed with SIGKILL loses the lines of its last 250 ms.
 */
export function createServerLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, minLength: 4096, sync: false });
  const timer = setInterval(() => destination.flush(), FLUSH_INTERVAL_MS);
  timer.unref();
  process.on('exit', () => {
    clearInterval(timer);
    try {
      destination.flushSync();
    } catch {
      // The stream was not open yet, or standard output is closed: nothing can be written.
    }
  });
  return createLogger(level, destination);
}
