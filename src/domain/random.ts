/**
 * Random bytes and identifiers for the hot paths. Each `randomBytes` call is a system call, which
 * cost several microseconds a time under load, and a token request needs four random values.
 * So bytes come from a pool that one `randomFillSync` call refills 4 KiB at a time, as Node.js
 * does for `randomUUID`. Every byte is handed out once and is as unpredictable as the CSPRNG's.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** Return `length` bytes from the CSPRNG, in a new buffer that the caller owns. */
export function randomBytesPooled(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  if (length > POOL_SIZE / 4) return randomFillSync(out);
  if (offset + length > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  pool.copy(out, 0, offset, offset + length);
  // Zero what was handed out, so the pool keeps no copy of a value in use.
  pool.fill(0, offset, offset + length);
  offset += length;
  return out;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 248 is the largest multiple of 62 below 256: bytes from 248 up are skipped to keep it uniform. */
const UNBIASED_LIMIT = 248;

/** Return a uniformly random base62 string of `length` characters (5.95 bits each). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // About 3% of bytes are skipped, so ask for a few more than needed.
    const bytes = randomBytesPooled(length - out.length + 4);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const byte = bytes[i] as number;
      if (byte < UNBIASED_LIMIT) out += BASE62[byte % 62];
    }
  }
  return out;
}
