/** Schema migrations, kept in code so they run the same under tsx and from `dist/`. */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

function migrations(dialect: Dialect): Record<string, Migration> {
  // An auto-incrementing key is the one column type the two databases spell differently.
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';

  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('platforms')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('sessions_revoked_at', 'bigint')
          .addColumn('access_token_ttl', 'integer')
          .addColumn('rate_limit_per_minute', 'integer')
          .execute();

        await db.schema
          .createTable('modules')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('prefix', 'text', (c) => c.notNull().unique())
          .addColumn('staging_upstream', 'text', (c) => c.notNull())
          .addColumn('production_upstream', 'text', (c) => c.notNull())
          .addColumn('requires_provider_secret', 'integer', (c) => c.notNull())
          .addColumn('timeout_ms', 'integer', (c) => c.notNull())
          .addColumn('retired_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('platform_modules')
          .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('module_id', 'text', (c) => c.notNull().references('modules.id'))
          .addColumn('enabled_at', 'bigint', (c) => c.notNull())
          .addColumn('disabled_at', 'bigint')
          .addColumn('first_success_at', 'bigint')
          .addPrimaryKeyConstraint('platform_modules_pk', [
            'platform_id',
            'environment',
            'module_id',
          ])
          .execute();

        await db.schema
          .createTable('clients')
          .addColumn('client_id', 'text', (c) => c.primaryKey())
          .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('clients_platform_environment', ['platform_id', 'environment'])
          .execute();

        await db.schema
          .createTable('secrets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
          .addColumn('client_id', 'text', (c) => c.notNull().references('clients.client_id'))
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('module_id', 'text')
          .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
          .addColumn('hint', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .addColumn('revoked_at', 'bigint')
          .addColumn('last_used_at', 'bigint')
          .execute();
        await db.schema
          .createIndex('secrets_client')
          .on('secrets')
          .columns(['client_id', 'kind'])
          .execute();

        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('password_changed_at', 'bigint', (c) => c.notNull())
          .addColumn('sessions_revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('users_platform').on('users').column('platform_id').execute();

        await db.schema
          .createTable('refresh_chains')
          .addColumn('chain_id', 'text', (c) => c.primaryKey())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('platform_id', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text')
          .addColumn('next_generation', 'integer', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .addColumn('revoked_reason', 'text')
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('algorithm', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('private_key', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('activates_at', 'bigint', (c) => c.notNull())
          .addColumn('retired_at', 'bigint')
          .addColumn('expires_at', 'bigint')
          .execute();

        await db.schema
          .createTable('audit_events')
          .addColumn('id', sql.raw(serial), (c) => c.primaryKey())
          .addColumn('seq', 'bigint', (c) => c.notNull().unique())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('actor_kind', 'text', (c) => c.notNull())
          .addColumn('actor_id', 'text', (c) => c.notNull())
          .addColumn('address', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('platform_id', 'text')
          .addColumn('environment', 'text')
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
        // One row: the head of the audit hash chain. Appending updates it first, which takes
        // the write lock on both databases, so concurrent appenders queue instead of forking.
        await db.schema
          .createTable('audit_head')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
        await sql`insert into audit_head (id, seq, hash) values (1, 0, '')`.execute(db);

        await db.schema
          .createTable('operators')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('disabled_at', 'bigint')
          .execute();

        await db.schema
          .createTable('operator_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('operator_id', 'text', (c) => c.notNull().references('operators.id'))
          .addColumn('key_hash', 'text', (c) => c.notNull().unique())
          .addColumn('hint', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .addColumn('last_used_at', 'bigint')
          .execute();

        await db.schema
          .createTable('checklist_items')
          .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
          .addColumn('item_id', 'text', (c) => c.notNull())
          .addColumn('checked_at', 'bigint', (c) => c.notNull())
          .addColumn('checked_by', 'text', (c) => c.notNull())
          .addColumn('comment', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('checklist_items_pk', ['platform_id', 'item_id'])
          .execute();

        await db.schema
          .createTable('checklist_comments')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
          .addColumn('author_kind', 'text', (c) => c.notNull())
          .addColumn('author_id', 'text', (c) => c.notNull())
          .addColumn('author_name', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('checklist_comments_platform')
          .on('checklist_comments')
          .columns(['platform_id', 'created_at'])
          .execute();

        await db.schema
          .createTable('approvals')
          .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
          .addColumn('operator_id', 'text', (c) => c.notNull())
          .addColumn('approved_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('approvals_pk', ['platform_id', 'operator_id'])
          .execute();

        await db.schema
          .createTable('allowlists')
          .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('entries', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('allowlists_pk', ['platform_id', 'environment'])
          .execute();

        await db.schema
          .createIndex('audit_platform_at')
          .on('audit_events')
          .columns(['platform_id', 'at'])
          .execute();

        await db.schema
          .createTable('request_log')
          .addColumn('id', sql.raw(serial), (c) => c.primaryKey())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('platform_id', 'text', (c) => c.notNull())
          .addColumn('module_id', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('path', 'text', (c) => c.notNull())
          .addColumn('status', 'integer', (c) => c.notNull())
          .addColumn('latency_ms', 'double precision', (c) => c.notNull())
          .addColumn('auth_method', 'text', (c) => c.notNull())
          .addColumn('request_id', 'text', (c) => c.notNull())
          .addColumn('client_address', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text')
          .addColumn('error_code', 'text')
          .execute();
        await db.schema
          .createIndex('request_log_platform_at')
          .on('request_log')
          .columns(['platform_id', 'at'])
          .execute();
        await db.schema.createIndex('request_log_at').on('request_log').column('at').execute();
      },
    },
    '0002_dashboard': {
      async up(db: Kysely<unknown>) {
        // Sign-in for operators on the dashboard: one email and password per operator.
        await db.schema
          .createTable('operator_accounts')
          .addColumn('operator_id', 'text', (c) => c.primaryKey().references('operators.id'))
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('password_changed_at', 'bigint', (c) => c.notNull())
          .execute();

        // Dashboard sessions, keyed by the SHA-256 of the session id, which only the cookie holds.
        await db.schema
          .createTable('dashboard_sessions')
          .addColumn('id_hash', 'text', (c) => c.primaryKey())
          .addColumn('subject_kind', 'text', (c) => c.notNull())
          .addColumn('subject_id', 'text', (c) => c.notNull())
          .addColumn('platform_id', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        // One-time tokens of forms that reveal secrets, so that a reload, which submits the form
        // again, cannot rotate or issue a second time.
        await db.schema
          .createTable('dashboard_form_uses')
          .addColumn('session_hash', 'text', (c) => c.notNull())
          .addColumn('token', 'text', (c) => c.notNull())
          .addColumn('used_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('dashboard_form_uses_pk', ['session_hash', 'token'])
          .execute();
        await db.schema
          .createIndex('dashboard_sessions_subject')
          .on('dashboard_sessions')
          .columns(['subject_kind', 'subject_id'])
          .execute();
      },
    },
    '0003_credential_reveals': {
      async up(db: Kysely<unknown>) {
        // Production credentials issued by a dashboard approval, sealed until an owner of the
        // platform reveals them once. The row is deleted at the reveal or after it expires.
        await db.schema
          .createTable('credential_reveals')
          .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id'))
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('sealed', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('credential_reveals_pk', ['platform_id', 'environment'])
          .execute();
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
