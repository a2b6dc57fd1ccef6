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
  /** Access-token lifetime for this platform, in seconds; null uses the configured default. */
  access_token_ttl: number | null;
  /** Gateway calls per minute per module and environment; null uses the configured default. */
  rate_limit_per_minute: number | null;
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
  /** First time the module answered a successful call for this platform here. */
  first_success_at: number | null;
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
  /** Position in the hash chain, from 1 without gaps. */
  seq: number;
  prev_hash: string;
  /** SHA-256 of `prev_hash` and this row's fields; see services/audit-chain.ts. */
  hash: string;
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

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface OperatorTable {
  id: string;
  name: string;
  created_at: number;
  disabled_at: number | null;
}

export interface OperatorKeyTable {
  id: string;
  operator_id: string;
  key_hash: string;
  hint: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface ChecklistItemTable {
  platform_id: string;
  item_id: string;
  checked_at: number;
  checked_by: string;
  comment: string;
}

export interface ChecklistCommentTable {
  id: string;
  platform_id: string;
  author_kind: 'operator' | 'user';
  author_id: string;
  author_name: string;
  body: string;
  created_at: number;
}

export interface ApprovalTable {
  platform_id: string;
  operator_id: string;
  approved_at: number;
}

export interface AllowlistTable {
  platform_id: string;
  environment: string;
  /** JSON array of addresses and CIDR ranges. */
  entries: string;
  updated_at: number;
}

export interface OperatorAccountTable {
  operator_id: string;
  /** Trimmed and lower-cased, like platform users' emails. */
  email: string;
  /** argon2id hash of the operator's dashboard password. */
  password_hash: string;
  created_at: number;
  updated_at: number;
  password_changed_at: number;
}

export interface DashboardSessionTable {
  /** SHA-256 of the session id, hex; the id itself is only in the browser's cookie. */
  id_hash: string;
  subject_kind: 'user' | 'operator';
  /** User id or operator id. */
  subject_id: string;
  /** The user's platform; null for operators. */
  platform_id: string | null;
  created_at: number;
  /** Last request made with the session, for the idle timeout. */
  last_seen_at: number;
  /** Absolute end of the session. */
  expires_at: number;
}

export interface DashboardFormUseTable {
  /** SHA-256 of the session id the form was submitted with. */
  session_hash: string;
  /** The form's one-time token. */
  token: string;
  used_at: number;
}

export interface CredentialRevealTable {
  platform_id: string;
  environment: string;
  /**
   * The credentials issued at go-live, sealed with AES-256-GCM under a key derived from the master
   * key: base64url of the 12-byte IV, the ciphertext and the 16-byte tag.
   */
  sealed: string;
  created_at: number;
  /** When the row stops opening and is deleted, epoch milliseconds. */
  expires_at: number;
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
  audit_head: AuditHeadTable;
  request_log: RequestLogTable;
  operators: OperatorTable;
  operator_keys: OperatorKeyTable;
  checklist_items: ChecklistItemTable;
  checklist_comments: ChecklistCommentTable;
  approvals: ApprovalTable;
  allowlists: AllowlistTable;
  operator_accounts: OperatorAccountTable;
  dashboard_sessions: DashboardSessionTable;
  dashboard_form_uses: DashboardFormUseTable;
  credential_reveals: CredentialRevealTable;
}
