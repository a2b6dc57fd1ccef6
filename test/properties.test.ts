/**
 * Property-based tests of the token API body and of the gateway's credential headers and paths,
 * sent by fast-check to a real Gatepass. For each input, an oracle computes the status and error
 * code that the documented rules (docs/decisions.md, docs/security.md) require. Every property
 * also requires that no response is a 5xx and that no secret of the test's platforms comes back
 * in a response body or header.
 *
 * Runs are bounded in count and in time: a property interrupted by its time limit passes with
 * the runs it made. Set FAST_CHECK_SEED to replay a reported failure.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { generateSecret } from '../src/domain/secrets.js';
import type { BoardingResult, IssuedCredentials } from '../src/services/platforms.js';
import { basic, startTestGatepass, type TestGatepass } from './helpers/gatepass.js';
import { b64, clientCredentials, postFormText, TWO_MODULES } from './helpers/token-api.js';

const PASSWORD = 'correct horse battery staple';
const USER_EMAIL = 'dev@acme.test';
const DISABLED_EMAIL = 'gone@acme.test';
const GRANTS = ['client_credentials', 'refresh_token', 'user_credentials', 'password'];
const MAX_PARAMETER_LENGTH = 4096;
/** Well-formed client ids that no platform has. */
const UNKNOWN_STAGING_ID = 'gpc_test_000000000000000000000000';
const UNKNOWN_PRODUCTION_ID = 'gpc_live_000000000000000000000000';

/** Return the run limits of a property. The time limits keep the file near 30 s on two cores. */
function runLimits<T>(numRuns: number, timeLimitMs: number): fc.Parameters<T> {
  const seed = process.env.FAST_CHECK_SEED;
  return {
    numRuns,
    includeErrorInReport: true,
    plugins: [fc.interruptAfterTimeLimit(timeLimitMs)],
    ...(seed ? { seed: Number(seed) } : {}),
  };
}

interface Client {
  id: string;
  secret: string;
  platformId: string;
  modules: string[];
}

/** Everything the properties call with, created once against one Gatepass. */
interface Fixture {
  gp: TestGatepass;
  acme: BoardingResult;
  globex: BoardingResult;
  production: IssuedCredentials;
  /** Client id and secret pairs that authenticate on the staging listener. */
  clients: Client[];
  /** Every secret the platforms hold, and the user's password, by label. */
  secrets: Record<string, string>;
  accessTokens: Record<'acme' | 'acmePayouts' | 'globex' | 'production', string>;
}

async function createFixture(): Promise<Fixture> {
  const gp = await startTestGatepass({
    settings: {
      ...TWO_MODULES,
      // Thousands of requests come from one address within seconds, so the limits are raised.
      // The limits and the sign-in lockout have tests of their own (limits.test.ts).
      'rateLimits.tokenPerClientPerMinute': 1_000_000,
      'rateLimits.tokenPerAddressPerMinute': 1_000_000,
      'rateLimits.gatewayPerMinute': 1_000_000,
      'rateLimits.signInFailuresBeforeLockout': 1_000_000,
    },
  });
  const { context } = gp.running;
  const acme = await gp.board('Acme Retail', ['demo', 'payouts']);
  const globex = await gp.board('Globex', ['demo']);
  const { credentials: production } = await context.platforms.issueEnvironment(
    context.store,
    acme.platform.id,
    'production',
    ['demo', 'payouts'],
  );
  await gp.addUser(acme.platform.id, USER_EMAIL, PASSWORD);
  const disabledUser = await gp.addUser(acme.platform.id, DISABLED_EMAIL, PASSWORD);
  await context.users.disable(disabledUser.id, { kind: 'operator', id: 'test-operator' });

  const secrets: Record<string, string> = { password: PASSWORD };
  const collect = (label: string, credentials: IssuedCredentials) => {
    secrets[`${label} client`] = credentials.client_secret;
    for (const [module, entry] of Object.entries(credentials.modules)) {
      secrets[`${label} ${module} module`] = entry.module_secret;
      if (entry.provider_secret) secrets[`${label} ${module} provider`] = entry.provider_secret;
    }
  };
  collect('acme', acme);
  collect('globex', globex);
  collect('production', production);

  const accessToken = async (base: string, credentials: IssuedCredentials, scope?: string) => {
    const reply = await postFormText(
      `${base}/v1/auth/token`,
      { grant_type: 'client_credentials', ...(scope ? { scope } : {}) },
      { authorization: basic(credentials.client_id, credentials.client_secret) },
    );
    assert.equal(reply.status, 200, reply.text);
    return String(reply.body.access_token);
  };
  return {
    gp,
    acme,
    globex,
    production,
    clients: [
      {
        id: acme.client_id,
        secret: acme.client_secret,
        platformId: acme.platform.id,
        modules: ['demo', 'payouts'],
      },
      {
        id: globex.client_id,
        secret: globex.client_secret,
        platformId: globex.platform.id,
        modules: ['demo'],
      },
    ],
    secrets,
    accessTokens: {
      acme: await accessToken(gp.staging, acme),
      acmePayouts: await accessToken(gp.staging, acme, 'payouts'),
      globex: await accessToken(gp.staging, globex),
      production: await accessToken(gp.production, production),
    },
  };
}

/** Return the labels of the secrets in `needles` that occur in a response's text or headers. */
function leaks(text: string, headers: Headers, needles: Record<string, string>): string[] {
  const haystack = [text, ...[...headers.entries()].map(([name, value]) => `${name}: ${value}`)];
  return Object.entries(needles)
    .filter(([, needle]) => needle !== '' && haystack.some((part) => part.includes(needle)))
    .map(([label]) => label);
}

/** Percent-encode every character of an ASCII string, which form-decoding gives back unchanged. */
function percentEncodeAll(text: string): string {
  return [...text]
    .map((char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)
    .join('');
}

/**
 * Change the character ten from the end, which breaks a secret's checksum and a JWT's signature.
 * The last base64url character of a signature may carry only unused bits, so it is left alone.
 */
function mistype(value: string): string {
  const index = value.length - 10;
  const replacement = value.charAt(index) === 'A' ? 'B' : 'A';
  return `${value.slice(0, index)}${replacement}${value.slice(index + 1)}`;
}

/** Remove the spaces and tabs that HTTP strips from both ends of a header value. */
function headerView(value: string | undefined): string | undefined {
  return value?.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** Header values that fetch can send: visible Latin-1 characters and spaces. */
const headerText = fc.string({
  unit: fc
    .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }))
    .map((code) => String.fromCharCode(code)),
  maxLength: 40,
});

/** `arbitrary` in one draw out of `outOf`, else undefined. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, outOf: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { weight: outOf - 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary },
  );
}

// ---------------------------------------------------------------------------------------------
// Token API oracle
// ---------------------------------------------------------------------------------------------

type JsonValue = string | number | boolean | null | JsonValue[] | { [name: string]: JsonValue };

/** A refresh token made for the run: unused, already used, or an access token in its place. */
type TokenRef = { ref: 'fresh' | 'used' | 'access' };
/** A parameter value: a string, a token made at run time, or a JSON value of another type. */
type ParamValue = string | TokenRef | { json: JsonValue };

interface TokenInput {
  encoding: 'form' | 'json';
  /** A JSON body that is not an object, in place of the parameters. */
  topLevel?: 'array' | 'string' | 'null';
  params: Array<[string, ParamValue]>;
  authorization?: string;
}

interface Outcome {
  status: number;
  error?: string;
  /** The scope a 200 must report. */
  scope?: string;
}

const INVALID_REQUEST: Outcome = { status: 400, error: 'invalid_request' };
const INVALID_CLIENT: Outcome = { status: 401, error: 'invalid_client' };
const INVALID_GRANT: Outcome = { status: 400, error: 'invalid_grant' };
const INVALID_SCOPE: Outcome = { status: 400, error: 'invalid_scope' };

type BasicView =
  | { kind: 'none' }
  | { kind: 'malformed' }
  | { kind: 'credentials'; id: string; secret: string };

function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/**
 * Read an Authorization header as the token API must: the Basic scheme in any case, then the
 * standard base64 of `id:secret`, split on the first colon, each half form-decoded (RFC 7617,
 * RFC 6749 section 2.3.1). Any other scheme is no client authentication at all.
 */
function basicView(header: string | undefined): BasicView {
  if (header === undefined) return { kind: 'none' };
  const match = /^basic(?: +(.*))?$/i.exec(header.trim());
  if (!match) return { kind: 'none' };
  const payload = (match[1] ?? '').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(payload)) return { kind: 'malformed' };
  const decoded = Buffer.from(payload, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return { kind: 'malformed' };
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (!id || !secret) return { kind: 'malformed' };
  return { kind: 'credentials', id, secret };
}

/** Narrow `enabled` to a space-separated scope, where an absent or blank scope means all. */
function resolveScope(requested: string | undefined, enabled: string[]): string[] | undefined {
  if (requested === undefined || requested.trim() === '') return [...enabled].sort();
  const modules = [...new Set(requested.split(' ').filter((part) => part !== ''))];
  return modules.every((module) => enabled.includes(module)) ? modules.sort() : undefined;
}

function scopeOutcome(requested: string | undefined, enabled: string[]): Outcome {
  const scope = resolveScope(requested, enabled);
  return scope ? { status: 200, scope: scope.join(' ') } : INVALID_SCOPE;
}

/** What the server reads from a token request: its parameters in order, or a body error. */
type ServerParams = { bodyError: true } | { bodyError: false; entries: Array<[string, unknown]> };

/**
 * Compute every outcome the documented rules allow for a token request. Where one request breaks
 * several rules, any of their errors is allowed, since the rules do not order them.
 */
function expectToken(
  fixture: Fixture,
  server: ServerParams,
  authorization: string | undefined,
  refreshKind: TokenRef['ref'] | undefined,
): Outcome[] {
  if (server.bodyError) return [INVALID_REQUEST];
  const names = server.entries.map(([name]) => name);
  const malformedParams = server.entries.some(
    ([name, value], index) =>
      names.indexOf(name) !== index ||
      typeof value !== 'string' ||
      value.length > MAX_PARAMETER_LENGTH,
  );
  if (malformedParams) return [INVALID_REQUEST];
  const params = new Map(server.entries as Array<[string, string]>);
  const get = (name: string) => params.get(name);

  const basicHeader = basicView(authorization);
  const grant = get('grant_type');
  const requestErrors: Outcome[] = [];
  const authErrors: Outcome[] = [];
  if (basicHeader.kind === 'credentials') {
    const bodyId = get('client_id');
    if (get('client_secret') !== undefined || (bodyId !== undefined && bodyId !== basicHeader.id))
      requestErrors.push(INVALID_REQUEST);
  } else if (get('client_secret') !== undefined && !get('client_id')) {
    requestErrors.push(INVALID_REQUEST);
  }
  if (!grant) requestErrors.push(INVALID_REQUEST);
  else if (!GRANTS.includes(grant))
    requestErrors.push({ status: 400, error: 'unsupported_grant_type' });
  const missing = (name: string) => !get(name);
  if (grant === 'refresh_token' && missing('refresh_token')) requestErrors.push(INVALID_REQUEST);
  if (grant === 'user_credentials' && (missing('email') || missing('password')))
    requestErrors.push(INVALID_REQUEST);
  if (grant === 'password') {
    if (missing('username') || missing('password')) requestErrors.push(INVALID_REQUEST);
    if (get('email') !== undefined && get('username') !== undefined)
      requestErrors.push(INVALID_REQUEST);
  }

  const presented =
    basicHeader.kind === 'credentials'
      ? { id: basicHeader.id, secret: basicHeader.secret }
      : get('client_secret') !== undefined && get('client_id')
        ? { id: get('client_id') as string, secret: get('client_secret') as string }
        : undefined;
  const client = presented
    ? fixture.clients.find((c) => c.id === presented.id && c.secret === presented.secret)
    : undefined;
  if (basicHeader.kind === 'malformed') authErrors.push(INVALID_CLIENT);
  if (grant && GRANTS.includes(grant)) {
    if (presented && !client) authErrors.push(INVALID_CLIENT);
    if (grant === 'client_credentials' && !presented) authErrors.push(INVALID_CLIENT);
  }
  if (requestErrors.length > 0 || authErrors.length > 0) return [...requestErrors, ...authErrors];

  const acme = fixture.clients[0] as Client;
  const scope = get('scope');
  if (grant === 'client_credentials') return [scopeOutcome(scope, (client as Client).modules)];
  if (grant === 'refresh_token') {
    // Only a fresh token of Acme's, issued for both of its modules, can be refreshed.
    if (refreshKind !== 'fresh') {
      const scopeError = refreshKind === 'used' && !resolveScope(scope, acme.modules);
      return scopeError ? [INVALID_GRANT, INVALID_SCOPE] : [INVALID_GRANT];
    }
    if (client && client.id !== acme.id) return [INVALID_GRANT];
    return [scopeOutcome(scope, acme.modules)];
  }
  const email = (grant === 'password' ? get('username') : get('email')) as string;
  const signsIn = email.trim().toLowerCase() === USER_EMAIL && get('password') === PASSWORD;
  if (!signsIn) return [INVALID_GRANT];
  const outcomes: Outcome[] = [];
  if (client && client.id !== acme.id) outcomes.push({ status: 400, error: 'unauthorized_client' });
  const result = scopeOutcome(scope, acme.modules);
  if (outcomes.length > 0 && result.status === 200) return outcomes;
  return [...outcomes, result];
}

/** Parameters as the server decodes the body that `encode` sends. */
function serverParams(
  input: TokenInput,
  resolved: Array<[string, unknown]>,
  body: string,
): ServerParams {
  if (input.encoding === 'form')
    return { bodyError: false, entries: [...new URLSearchParams(body)] };
  if (input.topLevel === 'array' || input.topLevel === 'string') return { bodyError: true };
  if (input.topLevel === 'null') return { bodyError: false, entries: [] };
  return { bodyError: false, entries: resolved };
}

/** Serialize a token request body, keeping repeated JSON names, which JSON.stringify cannot. */
function encode(input: TokenInput, resolved: Array<[string, unknown]>): string {
  if (input.encoding === 'form') {
    return new URLSearchParams(
      resolved.map(([name, value]): [string, string] => [name, String(value)]),
    ).toString();
  }
  if (input.topLevel === 'array') return '["grant_type","client_credentials"]';
  if (input.topLevel === 'string') return '"grant_type=client_credentials"';
  if (input.topLevel === 'null') return 'null';
  const members = resolved.map(
    ([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`,
  );
  return `{${members.join(',')}}`;
}

// ---------------------------------------------------------------------------------------------
// Token API generators
// ---------------------------------------------------------------------------------------------

const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 24 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', '+', '%', '%ZZ', '&', '=', ':', '\u0000', '\t', 'null'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 4090, maxLength: 4100 }) },
);

const nonString: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
);

const KNOWN_NAMES = [
  'grant_type',
  'client_id',
  'client_secret',
  'refresh_token',
  'scope',
  'email',
  'username',
  'password',
];

/**
 * Parameter names. `__proto__` is left out, because forms drop it where JSON keeps it. The todo
 * property at the end of this file checks that case.
 */
const names: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...KNOWN_NAMES) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'constructor',
      'toString',
      'hasOwnProperty',
      'token',
      '',
      'Grant_Type',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).filter((name) => name !== '__proto__') },
);

/** Values for a parameter: mostly the meaningful ones, then anything. No secret goes where errors quote. */
function valuesFor(fixture: Fixture, name: string): fc.Arbitrary<ParamValue> {
  const { acme, globex, production } = fixture;
  switch (name) {
    case 'grant_type':
      return fc.oneof(fc.constantFrom(...GRANTS), fc.mixedCase(fc.constantFrom(...GRANTS)), text);
    case 'client_id':
      return fc.oneof(
        fc.constantFrom(acme.client_id, globex.client_id, production.client_id, UNKNOWN_STAGING_ID),
        text,
      );
    case 'client_secret':
      return fc.oneof(
        fc.constantFrom(
          acme.client_secret,
          globex.client_secret,
          production.client_secret,
          mistype(acme.client_secret),
          `${acme.client_secret} `,
          String(acme.modules.demo?.module_secret),
        ),
        text,
      );
    case 'refresh_token':
      return fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom<TokenRef>(
            { ref: 'fresh' },
            { ref: 'used' },
            { ref: 'access' },
          ),
        },
        { weight: 1, arbitrary: text },
      );
    case 'scope':
      return fc.oneof(
        fc.constantFrom(
          '',
          'demo',
          'payouts',
          'demo payouts',
          ' demo ',
          'demo  payouts',
          'nosuch',
          'demo nosuch',
          'DEMO',
        ),
        text,
      );
    case 'email':
    case 'username':
      return fc.oneof(
        fc.constantFrom(USER_EMAIL, ' Dev@Acme.TEST ', DISABLED_EMAIL, 'nobody@acme.test'),
        text,
      );
    case 'password':
      return fc.oneof(fc.constantFrom(PASSWORD, 'wrong password here'), text);
    default:
      return text;
  }
}

function pairs(fixture: Fixture): fc.Arbitrary<[string, ParamValue]> {
  return names.chain((name) =>
    valuesFor(fixture, name).map((value): [string, ParamValue] => [name, value]),
  );
}

type Mutation =
  | { drop: number }
  | { repeat: number }
  | { replace: number; value: string }
  | { add: [string, ParamValue] }
  | { retype: number; value: JsonValue };

function applyMutations(
  params: Array<[string, ParamValue]>,
  mutations: Mutation[],
  encoding: 'form' | 'json',
): Array<[string, ParamValue]> {
  const result = [...params];
  for (const mutation of mutations) {
    if ('add' in mutation) {
      result.push(mutation.add);
      continue;
    }
    if (result.length === 0) continue;
    if ('drop' in mutation) result.splice(mutation.drop % result.length, 1);
    else if ('repeat' in mutation)
      result.push(result[mutation.repeat % result.length] as [string, ParamValue]);
    else if ('replace' in mutation) {
      const index = mutation.replace % result.length;
      result[index] = [(result[index] as [string, ParamValue])[0], mutation.value];
    } else if (encoding === 'json') {
      const index = mutation.retype % result.length;
      result[index] = [(result[index] as [string, ParamValue])[0], { json: mutation.value }];
    }
  }
  return result;
}

function authorizations(fixture: Fixture): fc.Arbitrary<string> {
  const { acme, globex } = fixture;
  return fc.oneof(
    fc.constantFrom(
      basic(acme.client_id, acme.client_secret),
      `Basic ${b64(`${percentEncodeAll(acme.client_id)}:${percentEncodeAll(acme.client_secret)}`)}`,
      basic(globex.client_id, globex.client_secret),
      basic(acme.client_id, globex.client_secret),
      basic(acme.client_id, mistype(acme.client_secret)),
      'Bearer abc',
      'Basic',
    ),
    fc.string({ maxLength: 30 }).map((pair) => `Basic ${b64(pair)}`),
    headerText.map((payload) => `Basic ${payload}`),
    headerText,
  );
}

function tokenInputs(fixture: Fixture): fc.Arbitrary<TokenInput> {
  const { acme } = fixture;
  const shapes: fc.Arbitrary<{ params: Array<[string, ParamValue]>; basic?: boolean }> = fc.oneof(
    fc.constant({
      params: [
        ['grant_type', 'client_credentials'],
        ['client_id', acme.client_id],
        ['client_secret', acme.client_secret],
      ] as Array<[string, ParamValue]>,
    }),
    fc.constant({
      params: [['grant_type', 'client_credentials']] as Array<[string, ParamValue]>,
      basic: true,
    }),
    fc.constant({
      params: [
        ['grant_type', 'refresh_token'],
        ['refresh_token', { ref: 'fresh' }],
      ] as Array<[string, ParamValue]>,
    }),
    fc.constant({
      params: [
        ['grant_type', 'user_credentials'],
        ['email', USER_EMAIL],
        ['password', PASSWORD],
      ] as Array<[string, ParamValue]>,
    }),
    fc.constant({
      params: [
        ['grant_type', 'password'],
        ['username', USER_EMAIL],
        ['password', PASSWORD],
      ] as Array<[string, ParamValue]>,
    }),
    fc.array(pairs(fixture), { maxLength: 6 }).map((params) => ({ params })),
  );
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.nat().map((drop) => ({ drop })),
    fc.nat().map((repeat) => ({ repeat })),
    fc.record({ replace: fc.nat(), value: text }),
    pairs(fixture).map((add) => ({ add })),
    fc.record({ retype: fc.nat(), value: nonString }),
  );
  return fc
    .record({
      shape: shapes,
      scope: fc.option(valuesFor(fixture, 'scope'), { nil: undefined }),
      mutations: fc.array(mutation, { maxLength: 3 }),
      encoding: fc.constantFrom<'form' | 'json'>('form', 'json'),
      topLevel: sometimes(
        fc.constantFrom<'array' | 'string' | 'null'>('array', 'string', 'null'),
        12,
      ),
      authorization: sometimes(authorizations(fixture), 3),
    })
    .map(({ shape, scope, mutations, encoding, topLevel, authorization }) => {
      const params =
        scope === undefined
          ? shape.params
          : [...shape.params, ['scope', scope] as [string, ParamValue]];
      const header = shape.basic ? basic(acme.client_id, acme.client_secret) : authorization;
      return {
        encoding,
        ...(encoding === 'json' && topLevel ? { topLevel } : {}),
        params: applyMutations(params, mutations, encoding),
        ...(header === undefined ? {} : { authorization: header }),
      };
    });
}

/** Make the tokens an input refers to: a fresh refresh token, a used one, or an access token. */
async function resolveParams(
  fixture: Fixture,
  params: Array<[string, ParamValue]>,
): Promise<{
  resolved: Array<[string, unknown]>;
  presented: string[];
  refreshKind?: TokenRef['ref'];
}> {
  const resolved: Array<[string, unknown]> = [];
  const presented: string[] = [];
  let refreshKind: TokenRef['ref'] | undefined;
  for (const [name, value] of params) {
    if (typeof value === 'string') resolved.push([name, value]);
    else if ('json' in value) resolved.push([name, value.json]);
    else {
      const issued = await clientCredentials(fixture.gp, fixture.acme);
      let token = String(issued.refresh_token);
      if (value.ref === 'access') token = String(issued.access_token);
      if (value.ref === 'used') {
        const used = await postFormText(`${fixture.gp.staging}/v1/auth/token`, {
          grant_type: 'refresh_token',
          refresh_token: token,
        });
        assert.equal(used.status, 200, used.text);
      }
      resolved.push([name, token]);
      presented.push(token);
      if (name === 'refresh_token') refreshKind = value.ref;
    }
  }
  return { resolved, presented, ...(refreshKind ? { refreshKind } : {}) };
}

function describeOutcome(outcome: Outcome): string {
  return outcome.error ? `${outcome.status} ${outcome.error}` : String(outcome.status);
}

// ---------------------------------------------------------------------------------------------
// Gateway oracle
// ---------------------------------------------------------------------------------------------

interface GatewayInput {
  module: 'demo' | 'payouts';
  authorization?: string;
  clientId?: string;
  clientSecret?: string;
  moduleSecret?: string;
  providerSecret?: string;
}

interface GatewayOutcome {
  status: number;
  code?: string;
  /** Platform and method that a forwarded call must name to the upstream. */
  platformId?: string;
  method?: 'jwt' | 'client_secret';
}

const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Well-formed production secrets, by kind, that no platform has. */
const UNKNOWN_PRODUCTION_SECRETS = {
  client: generateSecret('client', 'production'),
  module: generateSecret('module', 'production'),
  provider: generateSecret('provider', 'production'),
};

/** Return every production secret of a kind, which the staging listener rejects as production's. */
function productionSecrets(fixture: Fixture, kind: 'client' | 'module' | 'provider'): string[] {
  const { production } = fixture;
  const issued =
    kind === 'client'
      ? [production.client_secret]
      : Object.values(production.modules).flatMap((m) => {
          const secret = kind === 'module' ? m.module_secret : m.provider_secret;
          return secret ? [secret] : [];
        });
  return [...issued, UNKNOWN_PRODUCTION_SECRETS[kind]];
}

/**
 * Compute the reply the gateway must give. The checks run in the documented order: one
 * credential method, the credential and its environment, the module enabled and in the token's
 * scope, the module secret, then the provider secret where the module needs one.
 */
function expectGateway(fixture: Fixture, input: GatewayInput): GatewayOutcome {
  const { acme, globex, accessTokens } = fixture;
  const authorization = headerView(input.authorization);
  const clientId = headerView(input.clientId);
  const clientSecret = headerView(input.clientSecret);
  if (authorization !== undefined && (clientId !== undefined || clientSecret !== undefined))
    return { status: 400, code: 'multiple_credentials' };

  let platform: BoardingResult;
  let scope: string[] | undefined;
  let method: 'jwt' | 'client_secret';
  if (authorization !== undefined) {
    const token = BEARER.exec(authorization)?.[1];
    const valid = new Map<string, [BoardingResult, string[]]>([
      [accessTokens.acme, [acme, ['demo', 'payouts']]],
      [accessTokens.acmePayouts, [acme, ['payouts']]],
      [accessTokens.globex, [globex, ['demo']]],
    ]);
    const principal = token === undefined ? undefined : valid.get(token);
    if (!principal) return { status: 401, code: 'invalid_token' };
    [platform, scope] = principal;
    method = 'jwt';
  } else {
    if (!clientId || !clientSecret) return { status: 401, code: 'missing_credentials' };
    if (/^gpc_live_[0-9A-Za-z]{24}$/.test(clientId))
      return { status: 403, code: 'wrong_environment' };
    if (!/^gpc_test_[0-9A-Za-z]{24}$/.test(clientId))
      return { status: 401, code: 'invalid_credentials' };
    if (productionSecrets(fixture, 'client').includes(clientSecret))
      return { status: 403, code: 'wrong_environment' };
    const owner = [acme, globex].find(
      (b) => b.client_id === clientId && b.client_secret === clientSecret,
    );
    if (!owner) return { status: 401, code: 'invalid_credentials' };
    platform = owner;
    method = 'client_secret';
  }

  const enabled = platform === acme ? ['demo', 'payouts'] : ['demo'];
  if (!enabled.includes(input.module)) return { status: 403, code: 'module_not_enabled' };
  if (scope && !scope.includes(input.module)) return { status: 403, code: 'module_not_in_scope' };
  const checks: Array<['module' | 'provider', string | undefined]> = [
    ['module', headerView(input.moduleSecret)],
  ];
  if (input.module === 'demo') checks.push(['provider', headerView(input.providerSecret)]);
  for (const [kind, presented] of checks) {
    if (!presented) return { status: 401, code: `missing_${kind}_secret` };
    if (productionSecrets(fixture, kind).includes(presented))
      return { status: 403, code: 'wrong_environment' };
    if (presented !== platform.modules[input.module]?.[`${kind}_secret`])
      return { status: 401, code: `invalid_${kind}_secret` };
  }
  return { status: 200, platformId: platform.platform.id, method };
}

function gatewayInputs(fixture: Fixture): fc.Arbitrary<GatewayInput> {
  const { acme, globex, production, accessTokens } = fixture;
  const secretsOf = (b: IssuedCredentials) =>
    Object.values(b.modules).flatMap((m) => [
      m.module_secret,
      ...(m.provider_secret ? [m.provider_secret] : []),
    ]);
  const everySecret = [
    acme.client_secret,
    globex.client_secret,
    production.client_secret,
    ...secretsOf(acme),
    ...secretsOf(globex),
    ...secretsOf(production),
    ...Object.values(UNKNOWN_PRODUCTION_SECRETS),
    generateSecret('module', 'staging'),
    generateSecret('provider', 'staging'),
  ];
  const secretValues = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...everySecret) },
    { weight: 1, arbitrary: fc.constantFrom(...everySecret).map(mistype) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ') },
    { weight: 1, arbitrary: headerText },
  );
  const tokens = [
    accessTokens.acme,
    accessTokens.acmePayouts,
    accessTokens.globex,
    accessTokens.production,
    mistype(accessTokens.acme),
  ];
  const bearerHeader = fc
    .tuple(
      fc.mixedCase(fc.constant('bearer')),
      fc.constantFrom(' ', '  ', '\t'),
      fc.constantFrom(...tokens),
      fc.constantFrom('', ' ', '\t'),
    )
    .map(([scheme, space, token, end]) => `${scheme}${space}${token}${end}`);
  const authorization = fc.oneof(
    { weight: 4, arbitrary: bearerHeader },
    { weight: 1, arbitrary: fc.constantFrom(...tokens).map((t) => `Bearer ${t.slice(0, -3)}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        basic(acme.client_id, acme.client_secret),
        `Bearer ${acme.client_secret}`,
        'Bearer',
        '',
        'Bearer a.b.c',
      ),
    },
    { weight: 1, arbitrary: headerText.map((payload) => `Bearer ${payload}`) },
    { weight: 1, arbitrary: headerText },
  );
  const clientId = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(acme.client_id, globex.client_id) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        production.client_id,
        UNKNOWN_STAGING_ID,
        UNKNOWN_PRODUCTION_ID,
        '',
      ),
    },
    { weight: 1, arbitrary: headerText },
  );
  const clientSecret = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(acme.client_secret, globex.client_secret) },
    { weight: 2, arbitrary: secretValues },
  );
  return fc
    .record({
      module: fc.constantFrom<'demo' | 'payouts'>('demo', 'payouts'),
      method: fc.oneof(
        { weight: 6, arbitrary: fc.constant('token' as const) },
        { weight: 6, arbitrary: fc.constant('client' as const) },
        { weight: 1, arbitrary: fc.constant('both' as const) },
        { weight: 1, arbitrary: fc.constant('none' as const) },
      ),
      authorization,
      clientId,
      dropId: fc.integer({ min: 0, max: 9 }),
      clientSecret,
      dropSecret: fc.integer({ min: 0, max: 9 }),
      ownSecrets: fc.boolean(),
      moduleSecret: secretValues,
      providerSecret: secretValues,
      dropModuleSecret: fc.integer({ min: 0, max: 9 }),
    })
    .map((drawn) => {
      const input: GatewayInput = { module: drawn.module };
      if (drawn.method === 'token' || drawn.method === 'both')
        input.authorization = drawn.authorization;
      if (drawn.method === 'client' || drawn.method === 'both') {
        // One call in ten lacks the id or the secret header.
        if (drawn.dropId !== 0) input.clientId = drawn.clientId;
        if (drawn.dropSecret !== 0) input.clientSecret = drawn.clientSecret;
      }
      // Half the inputs carry the platform's own module secrets, so that calls get through.
      const platform =
        input.clientId === globex.client_id ||
        (input.authorization ?? '').includes(accessTokens.globex)
          ? globex
          : acme;
      const own = platform.modules[drawn.module];
      const moduleSecret = drawn.ownSecrets ? own?.module_secret : drawn.moduleSecret;
      const providerSecret = drawn.ownSecrets ? own?.provider_secret : drawn.providerSecret;
      if (moduleSecret !== undefined && drawn.dropModuleSecret !== 0)
        input.moduleSecret = moduleSecret;
      if (providerSecret !== undefined && drawn.dropModuleSecret !== 1)
        input.providerSecret = providerSecret;
      return input;
    });
}

/** Header names and values of a gateway input, with the default header names. */
function gatewayRequestHeaders(input: GatewayInput): Record<string, string> {
  const headers: Record<string, string> = {};
  if (input.authorization !== undefined) headers.authorization = input.authorization;
  if (input.clientId !== undefined) headers['x-client-id'] = input.clientId;
  if (input.clientSecret !== undefined) headers['x-client-secret'] = input.clientSecret;
  if (input.moduleSecret !== undefined) headers['x-module-secret'] = input.moduleSecret;
  if (input.providerSecret !== undefined) headers['x-provider-secret'] = input.providerSecret;
  return headers;
}

// ---------------------------------------------------------------------------------------------
// Gateway paths
// ---------------------------------------------------------------------------------------------

interface RawReply {
  status: number;
  headers: Headers;
  text: string;
}

/** GET `target` exactly as written, because fetch would resolve dot segments before sending. */
function getRaw(base: string, target: string, headers: Record<string, string>): Promise<RawReply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: url.hostname, port: url.port, path: target, method: 'GET', headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => {
          const replyHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined)
              replyHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          resolve({ status: response.statusCode ?? 0, headers: replyHeaders, text: body });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/**
 * Compute the reply a path must get with valid credentials. A path that cannot be
 * percent-decoded gets 400, and so does a percent-encoded module prefix. A path outside every
 * prefix gets 404. Dot segments get 400, also encoded or after a backslash, an encoded slash or
 * a `;` parameter. Anything else gets 200, with the path forwarded.
 */
function expectPath(target: string): { status: number; code?: string; forwarded?: string } {
  const queryAt = target.indexOf('?');
  const pathPart = queryAt === -1 ? target : target.slice(0, queryAt);
  if (!decodes(pathPart)) return { status: 400, code: 'invalid_request' };
  const matches = (url: string) =>
    url.startsWith('/demo') && ['', '/', '?'].includes(url.charAt('/demo'.length));
  if (!matches(target)) {
    return matches(decodeURIComponent(pathPart))
      ? { status: 400, code: 'invalid_request' }
      : { status: 404, code: 'not_found' };
  }
  const rest = target.slice('/demo'.length);
  const path = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
  const forwardedPath = path.split('?')[0] as string;
  const climbs = forwardedPath.split('/').some((segment) =>
    decodeURIComponent(segment)
      .split(/[\\/]/)
      .some((part) => ['.', '..'].includes(part.split(';')[0] as string)),
  );
  if (climbs) return { status: 400, code: 'invalid_request' };
  return { status: 200, forwarded: forwardedPath };
}

const pathSegments = fc.oneof(
  { weight: 3, arbitrary: fc.webSegment() },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '.',
      '..',
      '%2e',
      '%2E%2e',
      '.%2e',
      '..;x=1',
      '%2f',
      '%5c',
      '..%2f',
      'a%2f..',
      '%ZZ',
      '%00',
      '%',
      'resource',
      '',
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .string({ unit: 'grapheme-ascii', maxLength: 8 })
      .map((s) => s.replace(/[ #]/g, '')),
  },
);

const targets: fc.Arbitrary<string> = fc
  .record({
    prefix: fc.constantFrom(
      '/demo',
      '/demo',
      '/demo',
      '/d%65mo',
      '/%64emo',
      '/demox',
      '/payout',
      '/',
      '//demo',
      '/DEMO',
    ),
    segments: fc.array(pathSegments, { maxLength: 5 }),
    query: fc.option(
      fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map((q) => q.replace(/[ #]/g, '')),
      {
        nil: undefined,
      },
    ),
  })
  .map(({ prefix, segments, query }) => {
    const path = segments.length === 0 ? prefix : `${prefix}/${segments.join('/')}`;
    return query === undefined ? path : `${path}?${query}`;
  });

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

let fixture: Fixture;

before(async () => {
  fixture = await createFixture();
});
after(() => fixture.gp.close());

describe('token API properties', () => {
  test('token bodies get their documented status', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(tokenInputs(fixture), async (input) => {
        const { resolved, presented, refreshKind } = await resolveParams(fixture, input.params);
        const body = encode(input, resolved);
        const headers: Record<string, string> = {
          'content-type':
            input.encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
        };
        if (input.authorization !== undefined) headers.authorization = input.authorization;
        const response = await fetch(`${fixture.gp.staging}/v1/auth/token`, {
          method: 'POST',
          headers,
          body,
        });
        const responseText = await response.text();
        const reply = JSON.parse(responseText) as Record<string, unknown>;
        const actual: Outcome =
          response.status === 200
            ? { status: 200, scope: String(reply.scope) }
            : { status: response.status, error: String(reply.error) };
        const server = serverParams(input, resolved, body);
        const allowed = expectToken(fixture, server, headerView(input.authorization), refreshKind);
        seen.add(describeOutcome(actual));

        assert.ok(response.status < 500, `${response.status}: ${responseText}`);
        assert.ok(
          allowed.some((o) => o.status === actual.status && o.error === actual.error),
          `got ${describeOutcome(actual)}, allowed ${allowed.map(describeOutcome).join(' or ')}: ${responseText}`,
        );
        assert.equal(response.headers.get('cache-control'), 'no-store');
        assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
        if (response.status === 200) {
          const expected = allowed.find((o) => o.status === 200);
          assert.equal(reply.scope, expected?.scope);
          assert.equal(reply.token_type, 'Bearer');
          assert.equal(reply.expires_in, 900);
          assert.equal(typeof reply.access_token, 'string');
          assert.match(String(reply.refresh_token), /^gp_test_rt_/);
        } else {
          assert.equal(typeof reply.error_description, 'string');
          assert.equal(reply.access_token, undefined);
        }
        if (response.status === 401) {
          assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm="[^"]+"/);
        }
        const needles = {
          ...fixture.secrets,
          ...Object.fromEntries(presented.map((t, i) => [`presented token ${i}`, t])),
        };
        assert.deepEqual(leaks(responseText, response.headers, needles), []);
      }),
      runLimits(250, 9_000),
    );
    for (const outcome of [
      '200',
      '400 invalid_request',
      '401 invalid_client',
      '400 unsupported_grant_type',
      '400 invalid_grant',
    ]) {
      assert.ok(seen.has(outcome), `no run got ${outcome}; runs got ${[...seen].join(', ')}`);
    }
  });

  test('Basic headers get 200 or invalid_client', async () => {
    const { acme, globex } = fixture;
    const encodings = fc.constantFrom<(value: string) => string>(
      (value) => value,
      encodeURIComponent,
      percentEncodeAll,
    );
    const pairsToSend = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          [acme.client_id, acme.client_secret],
          [globex.client_id, globex.client_secret],
        ),
      },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          [acme.client_id, globex.client_secret],
          [acme.client_id, mistype(acme.client_secret)],
          [acme.client_id, `${acme.client_secret}:`],
          [`${acme.client_id}:`, acme.client_secret],
          [acme.client_id, ''],
          ['', acme.client_secret],
        ),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 })),
      },
    );
    const headers = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .record({
            pair: pairsToSend,
            encodeId: encodings,
            encodeSecret: encodings,
            scheme: fc.mixedCase(fc.constant('basic')),
            space: fc.constantFrom(' ', '  ', '\t', ''),
            unpadded: fc.boolean(),
            around: fc.constantFrom('', ' ', '\t'),
          })
          .map(
            ({ pair: [id, secret], encodeId, encodeSecret, scheme, space, unpadded, around }) => {
              let payload = b64(`${encodeId(id as string)}:${encodeSecret(secret as string)}`);
              if (unpadded) payload = payload.replace(/=+$/, '');
              return `${around}${scheme}${space}${payload}${around}`;
            },
          ),
      },
      { weight: 1, arbitrary: headerText },
      { weight: 1, arbitrary: headerText.map((payload) => `Basic ${payload}`) },
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(headers, async (authorization) => {
        const response = await fetch(`${fixture.gp.staging}/v1/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
          body: 'grant_type=client_credentials',
        });
        const responseText = await response.text();
        const reply = JSON.parse(responseText) as Record<string, unknown>;
        const view = basicView(headerView(authorization));
        const valid =
          view.kind === 'credentials' &&
          fixture.clients.some((c) => c.id === view.id && c.secret === view.secret);
        if (response.status === 200) accepted++;

        assert.equal(response.status, valid ? 200 : 401, responseText);
        if (!valid) {
          assert.equal(reply.error, 'invalid_client');
          assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm="[^"]+"/);
        }
        assert.deepEqual(leaks(responseText, response.headers, fixture.secrets), []);
      }),
      runLimits(300, 5_000),
    );
    assert.ok(accepted > 0, 'no generated Basic header authenticated');
  });

  test('form and JSON bodies agree', async () => {
    const stringPairs = pairs(fixture).filter(
      (pair): pair is [string, string] => typeof pair[1] === 'string',
    );
    const inputs = fc.record({
      params: fc.array(stringPairs, { maxLength: 6 }),
      authorization: sometimes(authorizations(fixture), 3),
    });
    await fc.assert(
      fc.asyncProperty(inputs, async ({ params, authorization }) => {
        const outcomes: string[] = [];
        for (const encoding of ['form', 'json'] as const) {
          const body = encode({ encoding, params }, params);
          const headers: Record<string, string> = {
            'content-type':
              encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
          };
          if (authorization !== undefined) headers.authorization = authorization;
          const response = await fetch(`${fixture.gp.staging}/v1/auth/token`, {
            method: 'POST',
            headers,
            body,
          });
          const reply = (await response.json()) as Record<string, unknown>;
          assert.ok(response.status < 500, JSON.stringify(reply));
          outcomes.push(`${response.status} ${reply.error ?? reply.scope}`);
        }
        assert.equal(outcomes[1], outcomes[0], `form got ${outcomes[0]}, JSON got ${outcomes[1]}`);
      }),
      runLimits(150, 5_000),
    );
  });
});

describe('gateway properties', () => {
  test('credential headers get their documented status', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(gatewayInputs(fixture), async (input) => {
        const response = await fetch(`${fixture.gp.staging}/${input.module}/resource`, {
          headers: gatewayRequestHeaders(input),
        });
        const responseText = await response.text();
        const body = JSON.parse(responseText) as Record<string, unknown>;
        const expected = expectGateway(fixture, input);
        seen.add(`${response.status}`);

        assert.ok(response.status < 500, `${response.status}: ${responseText}`);
        assert.equal(response.status, expected.status, responseText);
        assert.ok(response.headers.get('x-request-id'), 'every reply carries X-Request-Id');
        if (expected.status === 200) {
          const identity = body.identity as Record<string, string>;
          assert.equal(body.path, '/resource');
          assert.equal(identity['x-gatepass-platform'], expected.platformId);
          assert.equal(identity['x-gatepass-auth-method'], expected.method);
          const received = body.received_headers as string[];
          for (const name of [
            'authorization',
            'x-client-id',
            'x-client-secret',
            'x-module-secret',
            'x-provider-secret',
          ]) {
            assert.ok(!received.includes(name), `${name} reached the upstream`);
          }
        } else {
          assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'request_id']);
          assert.equal(body.code, expected.code);
          assert.equal(body.request_id, response.headers.get('x-request-id'));
        }
        if (response.status === 401) {
          const challenge = response.headers.get('www-authenticate') ?? '';
          assert.match(challenge, /^Bearer realm="[^"]+"/);
          assert.equal(
            /error="invalid_token"/.test(challenge),
            body.code === 'invalid_token',
            challenge,
          );
        }
        const needles = { ...fixture.secrets, ...fixture.accessTokens };
        assert.deepEqual(leaks(responseText, response.headers, needles), []);
      }),
      runLimits(300, 6_000),
    );
    for (const status of ['200', '400', '401', '403']) {
      assert.ok(seen.has(status), `no run got ${status}; runs got ${[...seen].join(', ')}`);
    }
  });

  test('paths get their documented status', async () => {
    const headers: Record<string, string> = {
      'x-client-id': fixture.acme.client_id,
      'x-client-secret': fixture.acme.client_secret,
      'x-module-secret': String(fixture.acme.modules.demo?.module_secret),
      'x-provider-secret': String(fixture.acme.modules.demo?.provider_secret),
    };
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(targets, async (target) => {
        const reply = await getRaw(fixture.gp.staging, target, headers);
        const body = JSON.parse(reply.text) as Record<string, unknown>;
        const expected = expectPath(target);
        seen.add(reply.status);

        assert.ok(reply.status < 500, `${reply.status}: ${reply.text}`);
        assert.equal(reply.status, expected.status, reply.text);
        assert.ok(reply.headers.get('x-request-id'), 'every reply carries X-Request-Id');
        if (expected.status === 200) assert.equal(body.path, expected.forwarded);
        else assert.equal(body.code, expected.code);
        assert.deepEqual(leaks(reply.text, reply.headers, fixture.secrets), []);
      }),
      runLimits(300, 5_000),
    );
    for (const status of [200, 400, 404]) assert.ok(seen.has(status), `no run got ${status}`);
  });
});

describe('properties of known faults', () => {
  test('misplaced secrets are never echoed', async () => {
    const placements = fc.record({
      secret: fc.constantFrom(...Object.values(fixture.secrets)),
      place: fc.constantFrom('grant_type', 'scope', 'repeated name', 'JSON name', 'gateway path'),
    });
    await fc.assert(
      fc.asyncProperty(placements, async ({ secret, place }) => {
        const { acme } = fixture;
        const auth = { authorization: basic(acme.client_id, acme.client_secret) };
        const url = `${fixture.gp.staging}/v1/auth/token`;
        let response: Response;
        if (place === 'gateway path') response = await fetch(`${fixture.gp.staging}/${secret}`);
        else if (place === 'JSON name') {
          response = await fetch(url, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ grant_type: 'client_credentials', [secret]: 1 }),
          });
        } else {
          const form =
            place === 'grant_type'
              ? `grant_type=${secret}`
              : place === 'scope'
                ? `grant_type=client_credentials&scope=${secret}`
                : `grant_type=client_credentials&${secret}=1&${secret}=2`;
          response = await fetch(url, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
            body: form,
          });
        }
        const responseText = await response.text();
        assert.ok(response.status >= 400, responseText);
        assert.ok(response.status < 500, responseText);
        assert.deepEqual(leaks(responseText, response.headers, fixture.secrets), [], place);
      }),
      { ...runLimits(40, 3_000), endOnFailure: true },
    );
  });

  test('form and JSON agree on prototype names', async () => {
    const { acme } = fixture;
    const inputs = fc.record({
      repeats: fc.integer({ min: 1, max: 3 }),
      value: fc.string({ maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(inputs, async ({ repeats, value }) => {
        const params: Array<[string, string]> = [
          ['grant_type', 'client_credentials'],
          ...Array.from({ length: repeats }, (): [string, string] => ['__proto__', value]),
        ];
        const statuses: number[] = [];
        for (const encoding of ['form', 'json'] as const) {
          const response = await fetch(`${fixture.gp.staging}/v1/auth/token`, {
            method: 'POST',
            headers: {
              authorization: basic(acme.client_id, acme.client_secret),
              'content-type':
                encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
            },
            body: encode({ encoding, params }, params),
          });
          await response.text();
          statuses.push(response.status);
        }
        assert.equal(statuses[0], statuses[1], `form got ${statuses[0]}, JSON got ${statuses[1]}`);
        assert.equal(statuses[0], repeats > 1 ? 400 : 200);
      }),
      { ...runLimits(30, 3_000), endOnFailure: true },
    );
  });
});
