/** The two environments a platform is boarded on. Credentials never cross them. */
export const ENVIRONMENTS = ['staging', 'production'] as const;

export type Environment = (typeof ENVIRONMENTS)[number];

/** Short markers carried by every secret and client id, readable by people and secret scanners. */
const MARKERS: Record<Environment, string> = { staging: 'test', production: 'live' };

export function environmentMarker(environment: Environment): string {
  return MARKERS[environment];
}

export function environmentFromMarker(marker: string): Environment | undefined {
  if (marker === 'test') return 'staging';
  if (marker === 'live') return 'production';
  return undefined;
}

export function isEnvironment(value: unknown): value is Environment {
  return value === 'staging' || value === 'production';
}
