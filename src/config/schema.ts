/**
 * Every setting of Gatepass, with its default and unit. `docs/configuration.md` lists the same
 * settings with the environment variable that overrides each one.
 */
import { z } from 'zod';

const port = z
  .number()
  .int()
  .min(0)
  .max(65535, 'must be a TCP port from 0 to 65535, where 0 picks a free port');
const url = z.url({ protocol: /^https?$/ });
const seconds = z.number().int().positive();

const listener = z.strictObject({
  /** Whether this process serves the listener. `gatepass start --only` turns the others off. */
  enabled: z.boolean().default(true),
  port,
});

const environmentSettings = z.strictObject({
  /**
   * Public base URL of the environment's listener. It is the `iss` of its tokens and the base of
   * the endpoints in its RFC 8414 metadata. Defaults to the listener's address.
   */
  publicUrl: url.optional(),
  /** `aud` of access tokens. Defaults to the public URL. */
  audience: z.string().min(1).optional(),
});

const upstreamUrl = z.union([url, z.literal('builtin:demo')]);

export const moduleSettings = z.strictObject({
  /** Lower-case slug; also the scope name of the module. */
  id: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a lower-case slug such as "payouts"'),
  name: z.string().min(1).max(100),
  /** Route prefix on each environment's listener, such as `/payouts`. */
  prefix: z
    .string()
    .regex(/^\/[a-z0-9][a-z0-9/_-]*$/, 'must start with "/" and use a-z, 0-9, "-", "_", "/"'),
  upstreams: z.strictObject({ staging: upstreamUrl, production: upstreamUrl }),
  requiresProviderSecret: z.boolean().default(false),
  /** Time allowed for the upstream to send its response headers, in milliseconds. */
  timeoutMs: z.number().int().positive().max(600_000).default(30_000),
});

export const configSchema = z.strictObject({
  /** Folder of the embedded database and the master key file. */
  dataDir: z.string().min(1).default('./data'),
  /** `postgres://…` to use PostgreSQL in place of the embedded SQLite database. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /**
   * `redis://…` to share rate-limit counters between nodes and to tell every node at once about
   * revocations, suspensions, key rotations and module changes.
   */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Connections each process keeps to PostgreSQL. */
  databasePoolSize: z.number().int().min(1).max(500).default(10),
  /**
   * Master key, 32 bytes as base64 or hex. Secret hashes, refresh tokens and stored signing keys
   * depend on it. When unset, the key is read from `<dataDir>/master.key`, created on first start.
   */
  masterKey: z.string().optional(),
  /** Address every listener binds to. */
  host: z.string().min(1).default('127.0.0.1'),
  listeners: z
    .strictObject({
      admin: listener.default({ enabled: true, port: 8080 }),
      staging: listener.default({ enabled: true, port: 8081 }),
      production: listener.default({ enabled: true, port: 8082 }),
    })
    .prefault({}),
  environments: z
    .strictObject({
      staging: environmentSettings.prefault({}),
      production: environmentSettings.prefault({}),
    })
    .prefault({}),
  tokens: z
    .strictObject({
      /** Access-token lifetime, in seconds. */
      accessTokenTtl: seconds.max(86_400).default(900),
      /** Refresh-token lifetime, in seconds, counted from each refresh. */
      refreshTokenTtl: seconds.max(31_536_000).default(2_592_000),
      /** Signing algorithm of new keys. */
      algorithm: z.enum(['EdDSA', 'ES256', 'RS256']).default('EdDSA'),
      /** Clock skew allowed on `exp`, `nbf` and `iat` when verifying, in seconds. */
      clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
      /** Whether `client_credentials` also returns a refresh token. */
      refreshForClientCredentials: z.boolean().default(true),
    })
    .prefault({}),
  gateway: z
    .strictObject({
      /** Names of the credential headers, lower case. Change them to keep an existing API's names. */
      headers: z
        .strictObject({
          clientId: z.string().default('x-client-id'),
          clientSecret: z.string().default('x-client-secret'),
          moduleSecret: z.string().default('x-module-secret'),
          providerSecret: z.string().default('x-provider-secret'),
        })
        .prefault({}),
      /** Lifetime of the signed assertion sent to upstreams, in seconds. */
      assertionTtl: seconds.max(3600).default(120),
      /** Largest request body forwarded to an upstream, in bytes. */
      bodyLimit: z
        .number()
        .int()
        .positive()
        .default(10 * 1024 * 1024),
    })
    .prefault({}),
  /**
   * Time a client has to send a whole request, headers and body, in milliseconds. Raise it if
   * platforms upload large bodies over slow links.
   */
  requestTimeoutMs: z.number().int().min(1_000).max(600_000).default(10_000),
  /**
   * Proxies whose `X-Forwarded-For` is trusted for the client address: `true` for any, or a list
   * of addresses and CIDR ranges. Allowlists and per-address limits use that address.
   */
  trustProxy: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
  /** How long platform, client and secret lookups are cached, in milliseconds. */
  cacheTtlMs: z.number().int().min(0).max(60_000).default(2_000),
  modules: z.array(moduleSettings).default([
    {
      id: 'demo',
      name: 'Demo module',
      prefix: '/demo',
      upstreams: { staging: 'builtin:demo', production: 'builtin:demo' },
      requiresProviderSecret: true,
      timeoutMs: 30_000,
    },
  ]),
  goLive: z
    .strictObject({
      /** Items an operator checks before go-live; `staging-tests` is checked by Gatepass itself. */
      checklist: z
        .array(
          z.strictObject({
            id: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/),
            title: z.string().min(1),
          }),
        )
        .min(1)
        .default([
          { id: 'agreement-signed', title: 'Agreement signed' },
          { id: 'compliance-verified', title: 'Compliance documents verified' },
          { id: 'staging-tests', title: 'Staging tests passed' },
          { id: 'production-addresses', title: 'Production addresses registered' },
        ]),
      /** Approvals by distinct operators needed before production credentials are issued. */
      approvalsRequired: z.number().int().min(1).max(10).default(1),
    })
    .prefault({}),
  rateLimits: z
    .strictObject({
      /** Gateway calls per minute for each platform, module and environment. */
      gatewayPerMinute: z.number().int().positive().default(600),
      /** Token API requests per minute for each client id. */
      tokenPerClientPerMinute: z.number().int().positive().default(300),
      /** Token API requests per minute for each client address. */
      tokenPerAddressPerMinute: z.number().int().positive().default(600),
      /** Failed sign-ins of one email from one address that start a lockout. */
      signInFailuresBeforeLockout: z.number().int().positive().default(5),
      /** First lockout delay, in seconds; it doubles with each further failure, up to 15 minutes. */
      signInLockoutSeconds: z.number().int().positive().default(30),
    })
    .prefault({}),
  requestLog: z
    .strictObject({
      /** Days request-log rows are kept. */
      retentionDays: z.number().int().positive().max(3650).default(30),
    })
    .prefault({}),
  dashboard: z
    .strictObject({
      /**
       * Public base URL of the admin listener, such as `https://gatepass.example.com`. Changes from
       * a dashboard session must come from this origin; when unset, from the origin the request
       * names in its `Host` header.
       */
      publicUrl: url.optional(),
      /**
       * Mark session cookies `Secure` even for plain HTTP requests, for an admin listener behind a
       * TLS-terminating proxy. Requests that Gatepass itself receives over TLS always get it.
       */
      secureCookies: z.boolean().default(false),
      /** A session ends after this many seconds without a request. */
      sessionIdleSeconds: seconds.max(86_400).default(1_800),
      /** A session ends this many seconds after sign-in, however active. */
      sessionAbsoluteSeconds: seconds.max(2_592_000).default(43_200),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ModuleSettings = z.infer<typeof moduleSettings>;
