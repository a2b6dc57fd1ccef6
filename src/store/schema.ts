/**
 * Table types shared by SQLite and PostgreSQL. Times are epoch milliseconds in `bigint`
 * columns and flags are 0/1 integers, because SQLite binds neither Date nor boolean.
 */
import type { Generated } from 'kysely';

export interface PlatformTable {
  id: string;
  name: string;
  status: 'staging' | 'live' | 'suspended';
  created_at: number;
  updated_at: number;
  /** Refresh tokens of chains started before this time are dead (suspension and the like). */
  sessions_revoked_at: number | null;
}

export interface ModuleTable {
  id: string;
  name: string;
  prefix: string;
  staging_upstream: string;
  production_upstream: string;
  requires_provider_secret: number;
  timeout_ms: number;
  retired_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface PlatformModuleTable {
  platform_id: string;
  environment: string;
  module_id: string;
  enabled_at: number;
  disabled_at: number | null;
}

export interface ClientTable {
  client_id: string;
  platform_id: string;
  environment: string;
  created_at: number;
}

export interface SecretTable {
  id: string;
  platform_id: string;
  client_id: string;
  environment: string;
  kind: 'client' | 'module' | 'provider';
  module_id: string | null;
  /** HMAC-SHA-256 of the secret under a key kept outside the database. */
  secret_hash: string;
  hint: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface UserTable {
  id: string;
  platform_id: string;
  email: string;
  password_hash: string;
  role: 'owner' | 'developer' | 'viewer';
  status: 'active' | 'disabled';
  created_at: number;
  updated_at: number;
  password_changed_at: number;
  sessions_revoked_at: number | null;
}

export interface RefreshChainTable {
  chain_id: string;
  environment: string;
  platform_id: string;
  user_id: string | null;
  next_generation: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  expires_at: number;
  updated_at: number;
}

export interface SigningKeyTable {
  kid: string;
  environment: string;
  algorithm: string;
  public_jwk: string;
  /** PKCS#8 private key sealed with AES-256-GCM under a key derived from the master key. */
  private_key: string;
  created_at: number;
  /** First time the key may sign; it is published in the JWKS before then. */
  activates_at: number;
  /** Time the key stopped signing, when a newer key replaced it. */
  retired_at: number | null;
  /** Time after which the key is no longer published. */
  expires_at: number | null;
}

export interface AuditEventTable {
  id: Generated<number>;
  at: number;
  actor_kind: string;
  actor_id: string;
  address: string | null;
  action: string;
  outcome: string;
  platform_id: string | null;
  environment: string | null;
  data: string;
}

export interface RequestLogTable {
  id: Generated<number>;
  at: number;
  environment: string;
  platform_id: string;
  module_id: string;
  method: string;
  path: string;
  status: number;
  latency_ms: number;
  auth_method: string;
  request_id: string;
  client_address: string;
  user_id: string | null;
  error_code: string | null;
}

export interface Database {
  platforms: PlatformTable;
  modules: ModuleTable;
  platform_modules: PlatformModuleTable;
  clients: ClientTable;
  secrets: SecretTable;
  users: UserTable;
  refresh_chains: RefreshChainTable;
  signing_keys: SigningKeyTable;
  audit_events: AuditEventTable;
  request_log: RequestLogTable;
}
