/** Start the listeners of one Gatepass process: admin, staging and production, as configured. */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { adminApi } from '../admin-api/plugin.js';
import type { Config } from '../config/schema.js';
import { createDemoUpstream } from '../demo/upstream.js';
import { ENVIRONMENTS, type Environment } from '../domain/environment.js';
import { gatewayApi } from '../gateway/plugin.js';
import { createServer } from '../http/server.js';
import { tokenApi } from '../token-api/plugin.js';
import { type Context, createContext, defaultUrl } from './context.js';

export type ListenerName = 'admin' | Environment;

export interface RunningGatepass {
  context: Context;
  /** Base URL of each listener this process serves. */
  addresses: Partial<Record<ListenerName, string>>;
  close(): Promise<void>;
}

function usesDemo(config: Config): boolean {
  return config.modules.some(
    (m) => m.upstreams.staging === 'builtin:demo' || m.upstreams.production === 'builtin:demo',
  );
}

async function listen(
  app: FastifyInstance,
  host: string,
  port: number,
  name: string,
): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new Error(
        `The ${name} listener cannot bind ${host}:${port}: the port is in use. Stop the other process or choose another port.`,
      );
    }
    throw error;
  }
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : port;
}

async function environmentListener(
  context: Context,
  environment: Environment,
): Promise<FastifyInstance> {
  const { config } = context;
  const app = createServer({
    name: environment,
    logger: context.log,
    metrics: context.metrics,
    requestTimeoutMs: config.requestTimeoutMs,
    trustProxy: config.trustProxy,
  });
  await tokenApi(app, {
    environment,
    issuer: () => context.urls.issuer[environment],
    tokens: context.tokens,
    keyring: context.keyrings[environment],
    moduleIds: () => context.modules.ids(),
    rateLimits: {
      perClientPerMinute: config.rateLimits.tokenPerClientPerMinute,
      perAddressPerMinute: config.rateLimits.tokenPerAddressPerMinute,
    },
    redis: context.redis?.publisher,
  });
  await gatewayApi(app, {
    environment,
    modules: context.modules,
    gateway: context.gateway,
    requestLog: context.requestLog,
    headers: config.gateway.headers,
    bodyLimit: config.gateway.bodyLimit,
    rateLimitPerMinute: config.rateLimits.gatewayPerMinute,
    redis: context.redis?.publisher,
    metrics: context.metrics,
  });
  return app;
}

/** Start every enabled listener (or only `only`), and the demo upstream when a module uses it. */
export async function startGatepass(
  config: Config,
  log: Logger,
  only?: ListenerName,
): Promise<RunningGatepass> {
  const enabled = (name: ListenerName) => (only ? only === name : config.listeners[name].enabled);
  const servesGateway = ENVIRONMENTS.some(enabled);

  let demo: FastifyInstance | undefined;
  let demoUrl: string | undefined;
  if (servesGateway && usesDemo(config)) {
    demo = createDemoUpstream();
    demoUrl = `http://127.0.0.1:${await listen(demo, '127.0.0.1', 0, 'demo upstream')}`;
  }

  let context: Context;
  try {
    context = await createContext(config, log, demoUrl ? { demoUrl } : {});
  } catch (error) {
    // The demo upstream would otherwise keep the process alive after a failed start.
    await demo?.close();
    throw error;
  }
  const servers: FastifyInstance[] = [];
  const addresses: Partial<Record<ListenerName, string>> = {};
  const close = async () => {
    await Promise.all(servers.map((server) => server.close()));
    await demo?.close();
    await context.close();
  };

  try {
    for (const environment of ENVIRONMENTS) {
      if (!enabled(environment)) continue;
      const app = await environmentListener(context, environment);
      servers.push(app);
      const port = await listen(app, config.host, config.listeners[environment].port, environment);
      addresses[environment] = defaultUrl(config, port);
      // A listener on port 0 learns its port only now; tokens name it as their issuer.
      if (!config.environments[environment].publicUrl)
        context.urls.issuer[environment] = addresses[environment];
      if (!config.environments[environment].audience)
        context.urls.audience[environment] = context.urls.issuer[environment];
    }
    if (enabled('admin')) {
      const app = createServer({ name: 'admin', logger: log, metrics: context.metrics });
      await adminApi(app, { context });
      servers.push(app);
      const port = await listen(app, config.host, config.listeners.admin.port, 'admin');
      addresses.admin = defaultUrl(config, port);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { context, addresses, close };
}
