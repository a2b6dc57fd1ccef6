/**
 * The composition root of the services: everything Gatepass does, built from configuration,
 * without any listener. The CLI uses it directly; `start.ts` adds the listeners.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ENVIRONMENTS, type Environment } from '../domain/environment.js';
import { Metrics } from '../observability/metrics.js';
import { AccessPolicyService } from '../services/access-policy.js';
import { AccessTokens } from '../services/access-tokens.js';
import { AuditRecorder } from '../services/audit.js';
import { AuditLogService } from '../services/audit-log.js';
import { ClientAuthenticator } from '../services/client-auth.js';
import { CredentialRevealService } from '../services/credential-reveals.js';
import { CredentialService } from '../services/credentials.js';
import { DashboardService } from '../services/dashboard.js';
import { Directory } from '../services/directory.js';
import { EventBus } from '../services/events.js';
import { GatewayService } from '../services/gateway.js';
import { GoLiveService } from '../services/go-live.js';
import { Keyring } from '../services/keyring.js';
import { deriveKeys, loadMasterKey } from '../services/master-key.js';
import { ModuleRegistry, ModuleService, saveConfiguredModules } from '../services/modules.js';
import { NoticeBus } from '../services/notices.js';
import { OperatorAccountService } from '../services/operator-accounts.js';
import { OperatorService } from '../services/operators.js';
import { PasswordHasher } from '../services/passwords.js';
import { PlatformService } from '../services/platforms.js';
import { RequestLogWriter } from '../services/request-log.js';
import { SessionService } from '../services/sessions.js';
import { SignInGuard } from '../services/sign-in-guard.js';
import { SigningKeyService } from '../services/signing-keys.js';
import { TokenService } from '../services/tokens.js';
import { UsageRecorder } from '../services/usage.js';
import { UserService } from '../services/users.js';
import { openDatabase } from '../store/database.js';
import { Store } from '../store/index.js';
import { connectRedis, type RedisConnections } from './redis.js';

export interface EnvironmentUrls {
  issuer: Record<Environment, string>;
  audience: Record<Environment, string>;
}

export interface Context {
  config: Config;
  log: Logger;
  store: Store;
  databaseLocation: string;
  events: EventBus;
  modules: ModuleRegistry;
  metrics: Metrics;
  /** Redis connections, when `redisUrl` is set. */
  redis: RedisConnections | undefined;
  moduleAdmin: ModuleService;
  keyrings: Record<Environment, Keyring>;
  urls: EnvironmentUrls;
  platforms: PlatformService;
  users: UserService;
  credentials: CredentialService;
  accessPolicy: AccessPolicyService;
  goLive: GoLiveService;
  operators: OperatorService;
  /** Operators' dashboard sign-in accounts. */
  operatorAccounts: OperatorAccountService;
  /** Dashboard sign-in and sessions. */
  sessions: SessionService;
  /** Platform-scoped reads and changes of the dashboard. */
  dashboard: DashboardService;
  auditLog: AuditLogService;
  signingKeys: SigningKeyService;
  tokens: TokenService;
  gateway: GatewayService;
  requestLog: RequestLogWriter;
  /** Flush pending writes and close the database. */
  close(): Promise<void>;
}

/** URL of a listener on `port`, derived from the bind address; a wildcard address reads as loopback. */
export function defaultUrl(config: Config, port: number): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const shown = host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

function environmentUrls(config: Config): EnvironmentUrls {
  const urls: EnvironmentUrls = {
    issuer: { staging: '', production: '' },
    audience: { staging: '', production: '' },
  };
  for (const environment of ENVIRONMENTS) {
    const settings = config.environments[environment];
    urls.issuer[environment] =
      settings.publicUrl ?? defaultUrl(config, config.listeners[environment].port);
    urls.audience[environment] = settings.audience ?? urls.issuer[environment];
  }
  return urls;
}

export async function createContext(
  config: Config,
  log: Logger,
  options: { demoUrl?: string } = {},
): Promise<Context> {
  const keys = deriveKeys(loadMasterKey(config));
  const database = await openDatabase({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    poolSize: config.databasePoolSize,
    log,
  });
  const store = new Store(database.db, keys.auditChain);
  const events = new EventBus(log);
  const modules = new ModuleRegistry(new Set(config.modules.map((m) => m.id)), options.demoUrl);

  // Loading the keyrings opens every stored signing key, so a wrong master key fails here,
  // before the module rows are written.
  const keyrings = {} as Record<Environment, Keyring>;
  try {
    for (const environment of ENVIRONMENTS) {
      keyrings[environment] = new Keyring({
        environment,
        algorithm: config.tokens.algorithm,
        store: store.signingKeys,
        sealKey: keys.signingKeySeal,
        // A platform may have its own token lifetime of up to one day, so retired keys stay
        // published that long.
        maxTokenLifetime: Math.max(
          86_400,
          config.tokens.accessTokenTtl,
          config.gateway.assertionTtl,
        ),
        log,
      });
      await keyrings[environment].load();
    }
    await saveConfiguredModules(store, config.modules, Date.now());
    await modules.load(store);
  } catch (error) {
    await store.db.destroy();
    throw error;
  }

  const urls = environmentUrls(config);
  const directory = new Directory(store, { ttlMs: config.cacheTtlMs });
  directory.listen(events);
  const usage = new UsageRecorder(store.secrets, log);
  const clients = new ClientAuthenticator(directory, usage, keys.secretHash);
  const passwords = new PasswordHasher();
  const accessTokens = new AccessTokens(keyrings, directory, {
    issuer: urls.issuer,
    audience: urls.audience,
    ttlSeconds: config.tokens.accessTokenTtl,
    clockToleranceSeconds: config.tokens.clockToleranceSeconds,
  });
  const audit = new AuditRecorder(store.audit, log);
  audit.listen(events);
  const requestLog = new RequestLogWriter(store, log, {
    intervalMs: 500,
    maxPending: 50_000,
    retentionDays: config.requestLog.retentionDays,
  });
  for (const worker of [usage, audit, requestLog]) worker.start();
  modules.startReloading(store, log);
  const metrics = new Metrics({
    requestLogDropped: () => requestLog.dropped,
    auditDropped: () => audit.droppedTotal,
    passwordChecksAbandoned: () => passwords.abandoned,
  });
  metrics.listen(events);
  for (const keyring of Object.values(keyrings)) keyring.startReloading();
  let redis: RedisConnections | undefined;
  try {
    redis = config.redisUrl ? await connectRedis(config.redisUrl, log) : undefined;
  } catch (error) {
    modules.stop();
    for (const keyring of Object.values(keyrings)) keyring.stop();
    await Promise.all([usage.stop(), audit.stop(), requestLog.stop()]);
    await store.db.destroy();
    throw error;
  }
  if (redis) {
    const notices = new NoticeBus(redis.publisher, redis.subscriber, log);
    notices.listen(events);
    await notices.subscribe({
      platform: (platformId) => directory.forgetPlatform(platformId),
      user: (userId) => directory.forgetUser(userId),
      keys: async () => {
        await Promise.all(Object.values(keyrings).map((keyring) => keyring.reload()));
      },
      modules: () => modules.load(store),
    });
  }

  const platforms = new PlatformService(store, modules, events, keys.secretHash);
  const credentials = new CredentialService(store, modules, events, keys.secretHash);
  const reveals = new CredentialRevealService(store, keys.credentialReveal, events);
  reveals.startSweeping(log);
  const goLive = new GoLiveService(store, platforms, events, config.goLive, reveals);
  // One guard serves the token API and the dashboard, so failures on either count together.
  const signInGuard = new SignInGuard({
    threshold: config.rateLimits.signInFailuresBeforeLockout,
    baseSeconds: config.rateLimits.signInLockoutSeconds,
  });
  const csrfKey = createHmac('sha256', keys.secretHash).update('gatepass dashboard csrf').digest();

  return {
    config,
    log,
    store,
    databaseLocation: database.location,
    events,
    modules,
    metrics,
    redis,
    moduleAdmin: new ModuleService(store, modules, events),
    keyrings,
    urls,
    platforms,
    users: new UserService(store, passwords, events),
    credentials,
    accessPolicy: new AccessPolicyService(store, events),
    goLive,
    operators: new OperatorService(store, events, keys.secretHash),
    operatorAccounts: new OperatorAccountService(store, passwords, events),
    sessions: new SessionService(store, passwords, signInGuard, events, csrfKey, {
      idleSeconds: config.dashboard.sessionIdleSeconds,
      absoluteSeconds: config.dashboard.sessionAbsoluteSeconds,
    }),
    dashboard: new DashboardService(store, platforms, credentials, goLive, modules, reveals),
    auditLog: new AuditLogService(store, keys.auditChain),
    signingKeys: new SigningKeyService(store, keyrings, events),
    tokens: new TokenService({
      store,
      directory,
      clients,
      accessTokens,
      passwords,
      events,
      refreshKeys: keys.refreshToken,
      refreshTtlSeconds: config.tokens.refreshTokenTtl,
      refreshForClientCredentials: config.tokens.refreshForClientCredentials,
      signInGuard,
    }),
    gateway: new GatewayService(clients, accessTokens, directory, keyrings, {
      issuer: urls.issuer,
      assertionTtlSeconds: config.gateway.assertionTtl,
      secretHeaders: {
        module: config.gateway.headers.moduleSecret,
        provider: config.gateway.headers.providerSecret,
      },
    }),
    requestLog,
    async close() {
      modules.stop();
      await reveals.stop();
      for (const keyring of Object.values(keyrings)) keyring.stop();
      await redis?.close();
      await Promise.all([usage.stop(), audit.stop(), requestLog.stop()]);
      await store.db.destroy();
    },
  };
}
