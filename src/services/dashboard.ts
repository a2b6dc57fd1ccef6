/**
 * What the dashboard shows and changes, with the checks that keep a platform user inside their
 * own platform and role. Every method that takes an id of a client or a request-log row throws
 * `not_found` for another platform's id, exactly as for an id that does not exist. Roles: every
 * user reads; owners alone rotate; viewers never see a secret, not even its hint.
 */
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import type { Store } from '../store/index.js';
import type { CredentialRevealService, PendingReveal } from './credential-reveals.js';
import type { CredentialService, RotateResult } from './credentials.js';
import type { GoLiveService } from './go-live.js';
import type { ModuleRegistry } from './modules.js';
import type { PlatformDetails, PlatformService } from './platforms.js';
import type { Role } from './users.js';

/** The signed-in platform user a call is made for. */
export interface PlatformViewer {
  userId: string;
  email: string;
  platformId: string;
  role: Role;
}

export interface UsageSeries {
  /** Start of each bucket, epoch milliseconds. */
  buckets: number[];
  rows: Array<{ label: string; calls: number[]; errors: number[] }>;
}

export interface RequestFilter {
  moduleId?: string | undefined;
  environment?: Environment | undefined;
  status?: number | undefined;
  failedOnly?: boolean | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

const MAX_SEARCH = 200;

export class DashboardService {
  constructor(
    private readonly store: Store,
    private readonly platforms: PlatformService,
    private readonly credentials: CredentialService,
    private readonly goLive: GoLiveService,
    private readonly modules: ModuleRegistry,
    private readonly reveals: CredentialRevealService,
    private readonly now: () => number = Date.now,
  ) {}

  /** The viewer's platform with its environments; viewers get no secret hints. */
  async overview(viewer: PlatformViewer): Promise<PlatformDetails> {
    const details = await this.platforms.show(viewer.platformId);
    if (viewer.role !== 'viewer') return details;
    return {
      ...details,
      environments: details.environments.map((env) => ({
        ...env,
        secrets: env.secrets.map((secret) => ({ ...secret, hint: '' })),
      })),
    };
  }

  /** One environment of the viewer's platform, by client id. */
  async client(viewer: PlatformViewer, clientId: string) {
    const client = await this.store.platforms.findClient(clientId);
    if (!client || client.platform_id !== viewer.platformId) {
      throw new ApiError('not_found', 'No client of your platform has this id.');
    }
    const details = await this.overview(viewer);
    const environment = details.environments.find((env) => env.client_id === clientId);
    if (!environment) throw new ApiError('not_found', 'No client of your platform has this id.');
    return { platform: details.platform, environment };
  }

  /** Throw unless the viewer may rotate this client's secret: it is theirs and they own it. */
  async authorizeRotation(viewer: PlatformViewer, clientId: string) {
    const found = await this.client(viewer, clientId);
    if (viewer.role !== 'owner') {
      throw new ApiError('forbidden', 'Only owners of the platform rotate its credentials.');
    }
    return found;
  }

  /** Rotate the client secret of one of the viewer's clients. Owners only. */
  async rotateClientSecret(
    viewer: PlatformViewer,
    clientId: string,
    overlapSeconds: number,
    actor: Actor,
  ): Promise<RotateResult> {
    const { environment } = await this.authorizeRotation(viewer, clientId);
    return this.credentials.rotate(
      {
        platformId: viewer.platformId,
        environment: environment.environment,
        kind: 'client',
        overlapSeconds,
      },
      actor,
    );
  }

  /**
   * Return the sealed credentials of the viewer's platform that wait for an owner, and those
   * that expired unrevealed since the last read, each with its client id. Every role gets them.
   */
  async pendingReveals(viewer: PlatformViewer): Promise<{
    ready: Array<PendingReveal & { client_id: string }>;
    expired: Array<PendingReveal & { client_id: string }>;
  }> {
    const { ready, expired } = await this.reveals.pending(viewer.platformId);
    const clients = await this.store.platforms.clientsOf(viewer.platformId);
    const withClient = (reveal: PendingReveal) => ({
      ...reveal,
      client_id: clients.find((c) => c.environment === reveal.environment)?.client_id ?? '',
    });
    return { ready: ready.map(withClient), expired: expired.map(withClient) };
  }

  /** Throw unless the viewer may reveal this client's sealed credentials: it is theirs and they own it. */
  async authorizeReveal(viewer: PlatformViewer, clientId: string) {
    const found = await this.client(viewer, clientId);
    if (viewer.role !== 'owner') {
      throw new ApiError(
        'forbidden',
        'Only owners of the platform reveal its production credentials. Ask an owner to reveal them.',
      );
    }
    return found;
  }

  /** Open and delete the sealed credentials of one of the viewer's clients, once. Owners only. */
  async revealCredentials(viewer: PlatformViewer, clientId: string, actor: Actor) {
    const { environment } = await this.authorizeReveal(viewer, clientId);
    return this.reveals.reveal(viewer.platformId, environment.environment, clientId, actor);
  }

  goLiveView(viewer: PlatformViewer) {
    return this.goLive.view(viewer.platformId);
  }

  comment(viewer: PlatformViewer, body: string, actor: Actor) {
    return this.goLive.comment(viewer.platformId, body, { ...actor, name: viewer.email });
  }

  requests(viewer: PlatformViewer, filter: RequestFilter) {
    return this.store.requestLog.list({ ...filter, platformId: viewer.platformId, limit: 200 });
  }

  async request(viewer: PlatformViewer, id: number) {
    const row = Number.isSafeInteger(id)
      ? await this.store.requestLog.findFor(viewer.platformId, id)
      : undefined;
    if (!row) throw new ApiError('not_found', 'No request of your platform has this id.');
    return row;
  }

  /** Client ids and module prefixes for the `curl` examples; no secret. */
  async examples(viewer: PlatformViewer) {
    const details = await this.platforms.show(viewer.platformId);
    return details.environments.map((env) => ({
      environment: env.environment,
      client_id: env.client_id,
      modules: env.modules.map((id) => {
        const module = this.modules.get(id);
        return {
          id,
          prefix: module?.prefix ?? `/${id}`,
          requiresProviderSecret: module?.requiresProviderSecret ?? false,
        };
      }),
    }));
  }

  /**
   * Check that a user belongs to a platform, for operator routes that name both. A user of
   * another platform is `not_found`, so a URL cannot act on one platform under another's name.
   */
  async userOfPlatform(platformId: string, userId: string): Promise<void> {
    const user = await this.store.users.find(userId);
    if (!user || user.platform_id !== platformId) {
      throw new ApiError(
        'not_found',
        `Platform ${platformId} has no user with the id "${userId}".`,
      );
    }
  }

  /** Check that a secret belongs to a platform, like `userOfPlatform`. */
  async secretOfPlatform(platformId: string, secretId: string): Promise<void> {
    const secret = await this.store.secrets.find(secretId);
    if (!secret || secret.platform_id !== platformId) {
      throw new ApiError(
        'not_found',
        `Platform ${platformId} has no secret with the id "${secretId}".`,
      );
    }
  }

  /** Platforms whose name or id contains `query`, without case; every platform when empty. */
  async searchPlatforms(query: string) {
    const all = await this.platforms.list();
    const needle = query.trim().toLowerCase().slice(0, MAX_SEARCH);
    if (needle === '') return all;
    return all.filter(
      (p) => p.name.toLowerCase().includes(needle) || p.id.toLowerCase().includes(needle),
    );
  }

  /**
   * Calls and failed calls over the last `hours`, in hourly buckets, one row per module (for a
   * platform) or per platform and module (for every platform).
   */
  async usage(options: { platformId?: string; hours: number }): Promise<UsageSeries> {
    const bucketMs = 3_600_000;
    const end = Math.floor(this.now() / bucketMs);
    const first = end - options.hours + 1;
    const rows = await this.store.requestLog.usage({
      since: first * bucketMs,
      bucketMs,
      platformId: options.platformId,
    });
    const series = new Map<string, { calls: number[]; errors: number[] }>();
    for (const row of rows) {
      const label = options.platformId ? row.module_id : `${row.platform_id} / ${row.module_id}`;
      let entry = series.get(label);
      if (!entry) {
        entry = {
          calls: new Array(options.hours).fill(0),
          errors: new Array(options.hours).fill(0),
        };
        series.set(label, entry);
      }
      const index = row.bucket - first;
      if (index < 0 || index >= options.hours) continue;
      entry.calls[index] = (entry.calls[index] ?? 0) + row.calls;
      entry.errors[index] = (entry.errors[index] ?? 0) + row.errors;
    }
    return {
      buckets: Array.from({ length: options.hours }, (_, i) => (first + i) * bucketMs),
      rows: [...series.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([label, values]) => ({ label, ...values })),
    };
  }
}
