/**
 * The peer of the token API benchmark: node-oidc-provider 8.8 with one client and the
 * `client_credentials` grant, issuing JWT access tokens signed with EdDSA (Ed25519). 8.8 is the
 * last line that supports Node.js 20, because 9.x warns at import that it needs Node.js 22.
 *
 *   node bench/peer-oidc.mjs PORT CLIENT_ID CLIENT_SECRET
 *
 * oidc-provider issues JWT access tokens only for a resource server, so a resource indicator
 * is configured and used by default. Without one it issues opaque tokens and stores each.
 * JWT access tokens are not stored (oidc-provider writes only opaque ones to its adapter), so
 * like Gatepass's `client_credentials` the grant writes nothing per request. It uses
 * oidc-provider's in-memory adapter, which it warns is meant for development; this grant
 * never calls it.
 */
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const RESOURCE = 'urn:gatepass-bench:echo';

const [portText, clientId, clientSecret] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !clientId || !clientSecret) {
  console.error('usage: node bench/peer-oidc.mjs PORT CLIENT_ID CLIENT_SECRET (PORT 1 to 65535)');
  process.exit(2);
}

const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
const signingKey = {
  ...(await exportJWK(privateKey)),
  kid: 'bench-ed25519',
  alg: 'EdDSA',
  use: 'sig',
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      // The keystore contains one Ed25519 key, and client metadata defaults to RS256.
      id_token_signed_response_alg: 'EdDSA',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['bench-peer-cookie-key-0123456789abcdef'] },
  scopes: ['echo'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'echo',
        audience: RESOURCE,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'EdDSA' } },
      }),
    },
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on 127.0.0.1:${port}`);
});
server.keepAliveTimeout = 65_000;

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}
