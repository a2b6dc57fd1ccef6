/** Scopes are module ids. A token's scope is the set of modules it may call. */

export type ScopeResult = { ok: true; modules: string[] } | { ok: false; unknown: string[] };

/**
 * Narrow the platform's enabled modules to a requested scope. An absent or empty request means
 * every enabled module; asking for a module the platform does not have fails with its name.
 */
export function resolveScope(
  requested: string | undefined,
  enabled: readonly string[],
): ScopeResult {
  if (requested === undefined || requested.trim() === '')
    return { ok: true, modules: [...enabled].sort() };
  const asked = [...new Set(requested.split(' ').filter((part) => part !== ''))];
  const unknown = asked.filter((module) => !enabled.includes(module));
  if (unknown.length > 0) return { ok: false, unknown };
  return { ok: true, modules: asked.sort() };
}

/** Narrow an earlier grant on refresh: the new scope may only drop modules, never add them. */
export function narrowScope(
  requested: string | undefined,
  granted: readonly string[],
): ScopeResult {
  return resolveScope(requested, granted);
}

export function formatScope(modules: readonly string[]): string {
  return modules.join(' ');
}
