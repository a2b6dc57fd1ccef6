/**
 * The go-live checklist and approval. Operators check items with a comment; the item
 * `staging-tests` is checked by Gatepass once every enabled module has answered a successful
 * staging call. Approval needs every item and enough approvals by distinct operators, then
 * issues the production credentials and sets the platform live in one transaction.
 */
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import { randomId } from '../domain/secrets.js';
import type { Store } from '../store/index.js';
import type { CredentialRevealService } from './credential-reveals.js';
import { lockPlatform } from './credentials.js';
import type { EventBus } from './events.js';
import type { IssuedCredentials, PlatformService } from './platforms.js';

export const STAGING_TESTS_ITEM = 'staging-tests';
/**
 * Secrets, operator keys and refresh tokens (whose base64url body has "-" too), and JWTs such as
 * access tokens. Checked after removing invisible format characters such as U+200B.
 */
const SECRET_IN_TEXT =
  /gp_(test|live|admin)_[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\./;
const FORMAT_CHARACTERS = /\p{Cf}/gu;
const MAX_TEXT = 4000;

export interface ChecklistItemState {
  id: string;
  title: string;
  checked: boolean;
  automatic: boolean;
  checked_at: number | null;
  checked_by: string | null;
  comment: string | null;
}

export interface ChecklistView {
  platform_id: string;
  status: string;
  items: ChecklistItemState[];
  /** Modules enabled on staging that have not yet answered a successful call. */
  untested_modules: string[];
  approvals: Array<{ operator_id: string; approved_at: number }>;
  approvals_required: number;
  comments: Array<{
    id: string;
    author_kind: string;
    author_name: string;
    body: string;
    created_at: number;
  }>;
}

export type ApproveResult =
  | { status: 'awaiting_approvals'; approvals: number; approvals_required: number }
  | { status: 'live'; production: IssuedCredentials };

/** The result of an approval whose production secrets were sealed for the platform's owners. */
export type SealedApproveResult =
  | { status: 'awaiting_approvals'; approvals: number; approvals_required: number }
  | {
      status: 'live';
      client_id: string;
      /** When the sealed credentials expire unrevealed, epoch milliseconds. */
      reveal_expires_at: number;
      /** Active owners of the platform, who may reveal them. */
      active_owners: number;
    };

function checkText(text: string, what: string): string {
  const trimmed = text.trim();
  if (trimmed === '') throw new ApiError('invalid_request', `The ${what} must not be empty.`);
  if (trimmed.length > MAX_TEXT)
    throw new ApiError('invalid_request', `The ${what} must be at most ${MAX_TEXT} characters.`);
  // Comments are kept and audited; a pasted credential would live on in both.
  if (SECRET_IN_TEXT.test(trimmed.replace(FORMAT_CHARACTERS, ''))) {
    throw new ApiError(
      'invalid_request',
      `The ${what} contains what looks like a Gatepass secret; remove it. Never share secrets in comments.`,
    );
  }
  return trimmed;
}

export class GoLiveService {
  constructor(
    private readonly store: Store,
    private readonly platforms: PlatformService,
    private readonly events: EventBus,
    private readonly settings: {
      checklist: Array<{ id: string; title: string }>;
      approvalsRequired: number;
    },
    private readonly reveals: CredentialRevealService,
    private readonly now: () => number = Date.now,
  ) {}

  private async platform(platformId: string) {
    const platform = await this.store.platforms.find(platformId);
    if (!platform) throw new ApiError('not_found', `No platform has the id "${platformId}".`);
    return platform;
  }

  private async untestedModules(platformId: string): Promise<string[]> {
    const states = await this.store.platforms.moduleStates(platformId, 'staging');
    return states.filter((s) => s.first_success_at === null).map((s) => s.module_id);
  }

  async view(platformId: string): Promise<ChecklistView> {
    const platform = await this.platform(platformId);
    const [checked, untested, approvals, comments] = await Promise.all([
      this.store.checklist.items(platformId),
      this.untestedModules(platformId),
      this.store.checklist.approvals(platformId),
      this.store.checklist.comments(platformId),
    ]);
    const items = this.settings.checklist.map((item): ChecklistItemState => {
      if (item.id === STAGING_TESTS_ITEM) {
        return {
          ...item,
          checked: untested.length === 0,
          automatic: true,
          checked_at: null,
          checked_by: 'gatepass',
          comment: null,
        };
      }
      const row = checked.find((c) => c.item_id === item.id);
      return {
        ...item,
        checked: Boolean(row),
        automatic: false,
        checked_at: row?.checked_at ?? null,
        checked_by: row?.checked_by ?? null,
        comment: row?.comment ?? null,
      };
    });
    return {
      platform_id: platformId,
      status: platform.status,
      items,
      untested_modules: untested,
      approvals: approvals.map((a) => ({ operator_id: a.operator_id, approved_at: a.approved_at })),
      approvals_required: this.settings.approvalsRequired,
      comments: comments.map((c) => ({
        id: c.id,
        author_kind: c.author_kind,
        author_name: c.author_name,
        body: c.body,
        created_at: c.created_at,
      })),
    };
  }

  private item(itemId: string) {
    const item = this.settings.checklist.find((i) => i.id === itemId);
    if (!item) {
      throw new ApiError(
        'not_found',
        `No checklist item "${itemId}". Items: ${this.settings.checklist.map((i) => i.id).join(', ')}.`,
      );
    }
    if (item.id === STAGING_TESTS_ITEM) {
      throw new ApiError(
        'conflict',
        `"${itemId}" is checked by Gatepass once every enabled module has answered a successful staging call.`,
      );
    }
    return item;
  }

  async check(
    platformId: string,
    itemId: string,
    comment: string,
    actor: Actor,
  ): Promise<ChecklistView> {
    this.item(itemId);
    const text = checkText(comment, 'comment');
    await this.platform(platformId);
    const at = this.now();
    await this.store.checklist.check({
      platform_id: platformId,
      item_id: itemId,
      checked_at: at,
      checked_by: actor.id,
      comment: text,
    });
    this.events.emit({ type: 'checklist.checked', at, actor, platformId, itemId, comment: text });
    return this.view(platformId);
  }

  async uncheck(platformId: string, itemId: string, actor: Actor): Promise<ChecklistView> {
    this.item(itemId);
    await this.platform(platformId);
    await this.store.checklist.uncheck(platformId, itemId);
    this.events.emit({
      type: 'checklist.unchecked',
      at: this.now(),
      actor,
      platformId,
      itemId,
      comment: '',
    });
    return this.view(platformId);
  }

  /** Add to the comment thread shared by the platform's users and the operators. */
  async comment(platformId: string, body: string, author: Actor & { name: string }) {
    const text = checkText(body, 'comment');
    await this.platform(platformId);
    const at = this.now();
    const id = `cmt_${randomId(16)}`;
    const kind = author.kind === 'user' ? 'user' : 'operator';
    await this.store.checklist.addComment({
      id,
      platform_id: platformId,
      author_kind: kind,
      author_id: author.id,
      author_name: author.name,
      body: text,
      created_at: at,
    });
    this.events.emit({ type: 'checklist.commented', at, actor: author, platformId, commentId: id });
    return { id, author_kind: kind, author_name: author.name, body: text, created_at: at };
  }

  private refuse(platformId: string, actor: Actor, reason: string, error: ApiError): never {
    this.events.emit({ type: 'golive.refused', at: this.now(), actor, platformId, reason });
    throw error;
  }

  /** Record an operator's approval; the last one needed issues the production credentials. */
  approve(platformId: string, actor: Actor): Promise<ApproveResult> {
    return this.decide(platformId, actor, false);
  }

  /**
   * Record an operator's approval like `approve`, but seal the production secrets for the
   * platform's owners, who reveal them once in the dashboard, instead of returning them.
   */
  async approveSealed(platformId: string, actor: Actor): Promise<SealedApproveResult> {
    const result = await this.decide(platformId, actor, true);
    if (result.status !== 'live') return result;
    const users = await this.store.users.listFor(platformId);
    return {
      status: 'live',
      client_id: result.production.client_id,
      // Set whenever `decide` sealed the credentials, which it did because it was asked to.
      reveal_expires_at: result.revealExpiresAt ?? 0,
      active_owners: users.filter((u) => u.role === 'owner' && u.status === 'active').length,
    };
  }

  private async decide(
    platformId: string,
    actor: Actor,
    sealForOwners: boolean,
  ): Promise<ApproveResult & { revealExpiresAt?: number }> {
    const view = await this.view(platformId);
    if (view.status === 'live')
      return this.refuse(
        platformId,
        actor,
        'already_live',
        new ApiError('conflict', `Platform ${platformId} is already live.`),
      );
    if (view.status === 'suspended') {
      return this.refuse(
        platformId,
        actor,
        'suspended',
        new ApiError(
          'conflict',
          `Platform ${platformId} is suspended; resume it before approving go-live.`,
        ),
      );
    }
    const open = view.items.filter((item) => !item.checked);
    if (open.length > 0) {
      // The id is what `checklist check` takes, so the message names it beside the title.
      const names = open.map((item) =>
        item.id === STAGING_TESTS_ITEM
          ? `${item.id} ("${item.title}", untested modules: ${view.untested_modules.join(', ')})`
          : `${item.id} ("${item.title}")`,
      );
      return this.refuse(
        platformId,
        actor,
        'unchecked_items',
        new ApiError(
          'conflict',
          `Go-live needs every checklist item; not yet checked: ${names.join(', ')}.`,
        ),
      );
    }

    const at = this.now();
    const added = await this.store.checklist.addApproval(platformId, actor.id, at);
    const approvals = (await this.store.checklist.approvals(platformId)).length;
    const required = this.settings.approvalsRequired;
    // Once the approvals are complete, a repeated approval is a retry. The platform is not live
    // yet, so issuing the production credentials failed or is still running in another request.
    if (!added && approvals < required) {
      return this.refuse(
        platformId,
        actor,
        'duplicate_approval',
        new ApiError(
          'conflict',
          `You already approved platform ${platformId}; ${Math.max(required - approvals, 0)} more approval(s) by other operators are needed.`,
        ),
      );
    }
    if (added)
      this.events.emit({ type: 'golive.approved', at, actor, platformId, approvals, required });
    if (approvals < required)
      return { status: 'awaiting_approvals', approvals, approvals_required: required };

    const modules = await this.store.platforms.enabledModules(platformId, 'staging');
    let production: IssuedCredentials;
    let revealExpiresAt: number | undefined;
    try {
      production = await this.store
        .transaction(async (store) => {
          // A suspension or another approval may have committed since the checks above.
          await lockPlatform(store, platformId);
          const current = await store.platforms.find(platformId);
          if (current?.status !== 'staging') {
            throw new ApiError(
              'conflict',
              `Platform ${platformId} is ${current?.status ?? 'gone'}; go-live needs a platform in staging.`,
            );
          }
          const issued = await this.platforms.issueEnvironment(
            store,
            platformId,
            'production',
            modules,
          );
          await store.platforms.setStatus(platformId, 'live', at, false);
          if (sealForOwners) {
            revealExpiresAt = await this.reveals.seal(store, platformId, issued.credentials);
          }
          return issued;
        })
        .then((issued) => {
          this.platforms.announceIssued(platformId, 'production', issued.secretIds, actor, at);
          return issued.credentials;
        });
    } catch (error) {
      if (error instanceof ApiError) return this.refuse(platformId, actor, 'status_changed', error);
      // A concurrent final approval issued them first: the client id is unique per environment.
      if ((await this.store.platforms.findClientFor(platformId, 'production')) !== undefined) {
        throw new ApiError(
          'conflict',
          `Platform ${platformId} went live through another approval at the same time.`,
        );
      }
      throw error;
    }
    this.events.emit({ type: 'platform.live', at, actor, platformId });
    if (revealExpiresAt === undefined) return { status: 'live', production };
    this.events.emit({
      type: 'credential.sealed',
      at,
      actor,
      platformId,
      environment: 'production',
      clientId: production.client_id,
      expiresAt: revealExpiresAt,
    });
    return { status: 'live', production, revealExpiresAt };
  }
}
