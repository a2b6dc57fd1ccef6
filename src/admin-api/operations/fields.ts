/** Input fields shared by several operations. */
import { z } from 'zod';
import { ENVIRONMENTS } from '../../domain/environment.js';

/**
 * A whole number, as a JSON number or as decimal digits (the CLI and query strings send text).
 * Unlike `z.coerce.number()`, it rejects null, "", [], true and false instead of reading them as
 * 0 or 1, so that a mistyped overlap cannot revoke a secret at once.
 */
export const integer = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^-?\d+$/, 'expected a whole number')
      .transform(Number),
  ])
  .pipe(z.number().int());

export const platformId = z.string().min(1).max(64);
export const environment = z.enum(ENVIRONMENTS);
export const secretKind = z.enum(['client', 'module', 'provider']);
/** Epoch milliseconds or an ISO 8601 time, such as 2026-12-04T10:00:00Z. */
export const time = z.union([
  integer.pipe(z.number().nonnegative()),
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
]);
export const limit = integer.pipe(z.number().min(1).max(1000)).default(100);
