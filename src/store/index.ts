/** The store: one object per concern, all over one Kysely instance. */
import type { Kysely } from 'kysely';
import { AllowlistStore } from './allowlists.js';
import { AuditStore } from './audit.js';
import { ChecklistStore } from './checklist.js';
import { CredentialRevealStore } from './credential-reveals.js';
import { DashboardStore } from './dashboard.js';
import { ModuleStore } from './modules.js';
import { OperatorStore } from './operators.js';
import { PlatformStore } from './platforms.js';
import { RefreshChainStore } from './refresh-chains.js';
import { RequestLogStore } from './request-log.js';
import type { Database } from './schema.js';
import { SecretStore } from './secrets.js';
import { SigningKeyStore } from './signing-keys.js';
import { UserStore } from './users.js';

export class Store {
  readonly platforms: PlatformStore;
  readonly modules: ModuleStore;
  readonly secrets: SecretStore;
  readonly users: UserStore;
  readonly refreshChains: RefreshChainStore;
  readonly signingKeys: SigningKeyStore;
  readonly audit: AuditStore;
  readonly requestLog: RequestLogStore;
  readonly checklist: ChecklistStore;
  readonly operators: OperatorStore;
  readonly allowlists: AllowlistStore;
  readonly dashboard: DashboardStore;
  readonly credentialReveals: CredentialRevealStore;

  /** `auditChainKey` keys the audit log's hash chain; it must come from outside the database. */
  constructor(
    readonly db: Kysely<Database>,
    private readonly auditChainKey: Uint8Array,
  ) {
    this.platforms = new PlatformStore(db);
    this.modules = new ModuleStore(db);
    this.secrets = new SecretStore(db);
    this.users = new UserStore(db);
    this.refreshChains = new RefreshChainStore(db);
    this.signingKeys = new SigningKeyStore(db);
    this.audit = new AuditStore(db, auditChainKey);
    this.requestLog = new RequestLogStore(db);
    this.checklist = new ChecklistStore(db);
    this.operators = new OperatorStore(db);
    this.allowlists = new AllowlistStore(db);
    this.dashboard = new DashboardStore(db);
    this.credentialReveals = new CredentialRevealStore(db);
  }

  /** Run `work` in one transaction, with a store bound to it. */
  transaction<T>(work: (store: Store) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new Store(trx, this.auditChainKey)));
  }
}
