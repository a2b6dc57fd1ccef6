/**
 * IP allowlists: single IPv4 or IPv6 addresses and CIDR ranges. An empty list allows every
 * address. IPv4 addresses that reach a dual-stack socket as `::ffff:a.b.c.d` match IPv4 entries.
 */
import { BlockList, isIP } from 'node:net';

export type AllowlistParse = { ok: true; entries: string[] } | { ok: false; invalid: string[] };

function parseEntry(
  entry: string,
): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = entry.split('/');
  if (extra !== undefined) return undefined;
  // Node's isIP accepts an IPv6 zone such as fe80::1%eth0, but BlockList never matches one.
  if (address.includes('%')) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, family };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family };
}

/** Check and normalize entries, naming every invalid one. */
export function parseAllowlist(entries: string[]): AllowlistParse {
  const trimmed = [...new Set(entries.map((e) => e.trim()).filter((e) => e !== ''))];
  const invalid = trimmed.filter((entry) => !parseEntry(entry));
  return invalid.length > 0 ? { ok: false, invalid } : { ok: true, entries: trimmed };
}

export function unmapIpv4(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Compile entries into a matcher; returns undefined for an empty list, which allows everyone. */
export function compileAllowlist(entries: string[]): ((address: string) => boolean) | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if (!parsed) continue;
    if (parsed.prefix === undefined) list.addAddress(parsed.address, parsed.family);
    else list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return (address: string) => {
    const plain = unmapIpv4(address);
    const version = isIP(plain);
    if (version === 0) return false;
    return list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  };
}
