/** Input fields shared by several operations. */
import { z } from 'zod';
import { ENVIRONMENTS } from '../../domain/environment.js';

export const platformId = z.string().min(1).max(64);
export const environment = z.enum(ENVIRONMENTS);
export const secretKind = z.enum(['client', 'module', 'provider']);
/** Epoch milliseconds or an ISO 8601 time, such as 2026-12-04T10:00:00Z. */
export const time = z.union([
  z.coerce.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
]);
export const limit = z.coerce.number().int().min(1).max(1000).default(100);
