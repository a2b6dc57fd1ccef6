/**
 * Signing keys of one environment: creation, publication (JWKS), signing and verification.
 * A key is published before it signs and stays published until every token it signed has
 * expired. Keys are reloaded from the store periodically, so a rotation made by another node
 * is picked up without a restart.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { Logger } from 'pino';
import type { Environment } from '../domain/environment.js';
import { newKeyId } from '../domain/identifiers.js';
import type { SigningKeyRow, SigningKeyStore } from '../store/signing-keys.js';

export type SigningAlgorithm = 'EdDSA' | 'ES256' | 'RS256';

interface LoadedKey {
  kid: string;
  algorithm: SigningAlgorithm;
  publicJwk: JWK;
  activatesAt: number;
  privateKey?: KeyObject;
  sealedPrivateKey: string;
  /** Encoded protected headers by `typ`, so that signing serializes only the claims. */
  encodedHeaders: Map<string, string>;
}

/**
 * Sign `input` as JWS requires for `algorithm` (RFC 7518 section 3, RFC 8037 section 3.1).
 * node:crypto signs synchronously at about twice the rate of jose's WebCrypto path, which
 * allocates a promise and a job per signature; jose still verifies every token.
 */
function signJws(algorithm: SigningAlgorithm, input: string, key: KeyObject): Buffer {
  switch (algorithm) {
    case 'EdDSA':
      return sign(null, Buffer.from(input), key);
    case 'ES256':
      return sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return sign('sha256', Buffer.from(input), key);
  }
}

function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

function unseal(key: Buffer, sealed: string, kid: string): string {
  const bytes = Buffer.from(sealed, 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([
      decipher.update(bytes.subarray(12, bytes.length - 16)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new Error(
      `Signing key ${kid} cannot be opened with this master key. Start Gatepass with the master key ` +
        'that created the database (GATEPASS_MASTER_KEY or <dataDir>/master.key).',
    );
  }
}

export interface KeyringOptions {
  environment: Environment;
  algorithm: SigningAlgorithm;
  store: SigningKeyStore;
  sealKey: Buffer;
  /** Longest lifetime of a token signed by a key, in seconds; bounds how long a retired key stays published. */
  maxTokenLifetime: number;
  /** How often keys are reloaded from the store, in milliseconds. */
  reloadIntervalMs?: number;
  log?: Logger;
  now?: () => number;
}

export class Keyring {
  private keys: LoadedKey[] = [];
  private jwks: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });
  private loadedAt = 0;
  private lastUnknownKidReload = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: KeyringOptions) {
    this.now = options.now ?? Date.now;
  }

  get environment(): Environment {
    return this.options.environment;
  }

  /** Load the published keys, creating the environment's first key if it has none. */
  async load(): Promise<void> {
    let rows = await this.options.store.published(this.options.environment, this.now());
    if (rows.length === 0) {
      await this.createKey(this.now());
      rows = await this.retireRacingFirstKeys(
        await this.options.store.published(this.options.environment, this.now()),
      );
    }
    await this.adopt(rows);
  }

  /**
   * Retire all but the newest key after nodes that started at once on an empty database each
   * created a first key, because a rotation retires only the signing key and the extras would
   * stay published for good. A node signs with its own key until its next reload, so retired
   * keys stay published until those tokens have expired, as after a rotation.
   */
  private async retireRacingFirstKeys(rows: SigningKeyRow[]): Promise<SigningKeyRow[]> {
    const racing = rows.slice(1).filter((row) => row.retired_at === null);
    if (racing.length === 0) return rows;
    const now = this.now();
    const expiresAt = now + (this.options.maxTokenLifetime + 60) * 1000;
    for (const row of racing) await this.options.store.retire(row.kid, now, expiresAt);
    this.options.log?.info(
      { environment: this.environment, retired: racing.map((row) => row.kid) },
      'retired signing keys created by nodes that started at the same time',
    );
    return this.options.store.published(this.options.environment, this.now());
  }

  /** Create a key that starts signing at `activatesAt` and is published from now on. */
  async createKey(activatesAt: number): Promise<string> {
    const { algorithm, environment, sealKey } = this.options;
    const pair = await generateKeyPair(algorithm, { extractable: true });
    const kid = newKeyId(environment);
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: algorithm, use: 'sig' };
    const row: SigningKeyRow = {
      kid,
      environment,
      algorithm,
      public_jwk: JSON.stringify(publicJwk),
      private_key: seal(sealKey, await exportPKCS8(pair.privateKey)),
      created_at: this.now(),
      activates_at: activatesAt,
      retired_at: null,
      expires_at: null,
    };
    await this.options.store.insert(row);
    return kid;
  }

  private async adopt(rows: SigningKeyRow[]): Promise<void> {
    const previous = new Map(this.keys.map((key) => [key.kid, key]));
    const keys: LoadedKey[] = [];
    for (const row of rows) {
      const known = previous.get(row.kid);
      const key: LoadedKey = known ?? {
        kid: row.kid,
        algorithm: row.algorithm as SigningAlgorithm,
        publicJwk: JSON.parse(row.public_jwk) as JWK,
        activatesAt: row.activates_at,
        sealedPrivateKey: row.private_key,
        encodedHeaders: new Map(),
      };
      key.activatesAt = row.activates_at;
      // Opening every key at load makes a wrong master key fail at start, not at first use.
      key.privateKey ??= createPrivateKey(unseal(this.options.sealKey, row.private_key, row.kid));
      keys.push(key);
    }
    this.keys = keys;
    this.jwks = createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) });
    this.loadedAt = this.now();
  }

  /** Reload the published keys from the store now. */
  async reload(): Promise<void> {
    await this.adopt(await this.options.store.published(this.options.environment, this.now()));
  }

  /**
   * Reload keys when the reload interval has passed. Cheap to call on every request. A failed
   * reload keeps the keys already loaded, so signing and verifying go on while the database
   * is away.
   */
  async refreshIfStale(): Promise<void> {
    if (this.now() - this.loadedAt < (this.options.reloadIntervalMs ?? 30_000)) return;
    try {
      await this.reload();
    } catch (error) {
      this.loadedAt = this.now();
      this.options.log?.warn(
        { err: error, environment: this.environment },
        'reloading signing keys failed; keeping the loaded keys',
      );
    }
  }

  /** Reload keys every reload interval until `stop`. */
  startReloading(): void {
    this.timer = setInterval(
      () => void this.refreshIfStale(),
      this.options.reloadIntervalMs ?? 30_000,
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Public keys for `/.well-known/jwks.json`. */
  publicJwks(): { keys: JWK[] } {
    return { keys: this.keys.map((key) => key.publicJwk) };
  }

  algorithms(): SigningAlgorithm[] {
    return [...new Set(this.keys.map((key) => key.algorithm))];
  }

  private signingKey(): LoadedKey {
    const now = this.now();
    const key = this.keys.find((k) => k.activatesAt <= now && k.privateKey);
    if (!key)
      throw new Error(`No active signing key for the ${this.options.environment} environment`);
    return key;
  }

  /** Sign `claims` as a compact JWS with the active key, naming it by `kid` and `typ`. */
  async sign(claims: JWTPayload, type: string): Promise<string> {
    const key = this.signingKey();
    let header = key.encodedHeaders.get(type);
    if (header === undefined) {
      header = Buffer.from(
        JSON.stringify({ alg: key.algorithm, kid: key.kid, typ: type }),
      ).toString('base64url');
      key.encodedHeaders.set(type, header);
    }
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${input}.${signJws(key.algorithm, input, key.privateKey as KeyObject).toString('base64url')}`;
  }

  /**
   * Verify a JWT against this environment's published keys. An unknown `kid` reloads the keys
   * at most once per five seconds, so random kids cannot force a reload per request.
   */
  async verify(token: string, options: Parameters<typeof jwtVerify>[2]): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        ...options,
        algorithms: this.algorithms(),
      });
      return payload;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'ERR_JWKS_NO_MATCHING_KEY' || this.now() - this.lastUnknownKidReload < 5_000)
        throw error;
      this.lastUnknownKidReload = this.now();
      // Marking the keys as old makes refreshIfStale reload them now; it never throws.
      this.loadedAt = 0;
      await this.refreshIfStale();
      const { payload } = await jwtVerify(token, this.jwks, {
        ...options,
        algorithms: this.algorithms(),
      });
      return payload;
    }
  }

  /**
   * Publish a new key now and make it sign after `publishDelayMs`; retire the current one at
   * the same moment and keep it published until its last token has expired.
   */
  async rotate(publishDelayMs: number): Promise<{ kid: string; activatesAt: number }> {
    const activatesAt = this.now() + publishDelayMs;
    const current = this.signingKey();
    const kid = await this.createKey(activatesAt);
    const expiresAt = activatesAt + (this.options.maxTokenLifetime + 60) * 1000;
    await this.options.store.retire(current.kid, activatesAt, expiresAt);
    await this.adopt(await this.options.store.published(this.options.environment, this.now()));
    return { kid, activatesAt };
  }
}
