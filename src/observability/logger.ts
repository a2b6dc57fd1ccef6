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
