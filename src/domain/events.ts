/**
 * Domain events: outcomes that the audit log, metrics and cache invalidation listen to.
 * Services emit them; no handler writes audit rows or metrics itself.
 */
import type { Environment } from './environment.js';

/** Who did something, and from where. */
export interface Actor {
  kind: 'operator' | 'user' | 'client' | 'system' | 'anonymous';
  id: string;
  address?: string;
}

interface Base {
  actor: Actor;
  at: number;
}

export type DomainEvent =
  | (Base & { type: 'platform.boarded'; platformId: string; name: string; modules: string[] })
  | (Base & { type: 'platform.suspended' | 'platform.resumed'; platformId: string })
  | (Base & {
      type: 'credential.issued' | 'credential.revoked';
      platformId: string;
      environment: Environment;
      secretId: string;
      kind: string;
      moduleId?: string;
    })
  | (Base & {
      type: 'credential.sealed';
      platformId: string;
      environment: Environment;
      clientId: string;
      expiresAt: number;
    })
  | (Base & {
      type: 'credential.revealed';
      platformId: string;
      environment: Environment;
      clientId: string;
    })
  | (Base & { type: 'user.added'; platformId: string; userId: string; email: string; role: string })
  | (Base & { type: 'user.disabled' | 'user.password_changed'; platformId: string; userId: string })
  | (Base & {
      type: 'token.issued';
      environment: Environment;
      grantType: string;
      platformId: string;
      clientId: string;
      userId?: string;
    })
  | (Base & {
      type: 'grant.refused';
      environment: Environment;
      grantType: string;
      error: string;
      reason: string;
      clientId?: string;
      platformId?: string;
      email?: string;
    })
  | (Base & {
      type: 'refresh.reuse_detected' | 'refresh.revoked';
      environment: Environment;
      platformId: string;
      chainId: string;
    })
  | (Base & {
      type: 'signing_key.created' | 'signing_key.rotated';
      environment: Environment;
      kid: string;
    })
  | (Base & {
      type: 'credential.rotated';
      platformId: string;
      environment: Environment;
      secretId: string;
      replacedSecretId: string;
      kind: string;
      moduleId?: string;
      overlapSeconds: number;
    })
  | (Base & {
      type: 'module.enabled' | 'module.disabled';
      platformId: string;
      environment: Environment;
      moduleId: string;
    })
  | (Base & { type: 'module.created' | 'module.updated' | 'module.retired'; moduleId: string })
  | (Base & { type: 'user.enabled'; platformId: string; userId: string })
  | (Base & {
      type: 'allowlist.updated';
      platformId: string;
      environment: Environment;
      entries: string[];
    })
  | (Base & {
      type: 'limits.updated';
      platformId: string;
      accessTokenTtl: number | null;
      rateLimitPerMinute: number | null;
    })
  | (Base & {
      type: 'checklist.checked' | 'checklist.unchecked';
      platformId: string;
      itemId: string;
      comment: string;
    })
  | (Base & { type: 'checklist.commented'; platformId: string; commentId: string })
  | (Base & { type: 'golive.approved'; platformId: string; approvals: number; required: number })
  | (Base & { type: 'golive.refused'; platformId: string; reason: string })
  | (Base & { type: 'platform.live'; platformId: string })
  | (Base & {
      type: 'operator.key_created' | 'operator.key_revoked';
      operatorId: string;
      keyId: string;
      name: string;
    })
  | (Base & { type: 'request_log.purged'; rows: number; before: number })
  | (Base & { type: 'operator.account_created'; operatorId: string; email: string })
  | (Base & {
      type: 'session.started' | 'session.ended';
      subjectKind: 'user' | 'operator';
      subjectId: string;
      platformId?: string;
    })
  | (Base & {
      type: 'session.refused';
      subjectKind: 'user' | 'operator';
      reason: string;
      email?: string;
    });

export type DomainEventType = DomainEvent['type'];

/** The event whose `type` is `T`, including members that share one shape across several types. */
export type EventOf<T extends DomainEventType> = DomainEvent extends infer E
  ? E extends { type: infer U }
    ? T extends U
      ? E & { type: T }
      : never
    : never
  : never;
