/** The store: one object per concern, all over one Kysely instance. */
import type { Kysely } from 'kysely';
import { AuditStore } from './audit.js';
import { ModuleStore } from './modules.js';
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

  constructor(readonly db: Kysely<Database>) {
    this.platforms = new PlatformStore(db);
    this.modules = new ModuleStore(db);
    this.secrets = new SecretStore(db);
    this.users = new UserStore(db);
    this.refreshChains = new RefreshChainStore(db);
    this.signingKeys = new SigningKeyStore(db);
    this.audit = new AuditStore(db);
    this.requestLog = new RequestLogStore(db);
  }

  /** Run `work` in one transaction, with a store bound to it. */
  transaction<T>(work: (store: Store) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new Store(trx)));
  }
}
