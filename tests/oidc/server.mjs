// A real authorization server for the OAuth tests: oidc-provider, one Node process serving several
// issuers on loopback, configured for client_credentials, resource indicators and JWT access tokens.
//
// Input (argv[2], JSON): {"issuers": [{"name": "a"}, {"name": "c", "keysFrom": "a"}], "clients": [...]}
// where a client is {"client_id", "client_secret", "scope", "claims": {...}, "ttl": seconds, "opaque": bool}.
// Output: one JSON line on stdout, {"a": "http://127.0.0.1:port", ...}, once every issuer listens.
// Test hooks (under /__test__/, not part of oidc-provider): POST rotate (a new signing key, published
// first, signs every later token) and GET stats (how many times the JWKS was fetched).
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const byClient = new Map(config.clients.map((c) => [c.client_id, c]));
const keysByIssuer = new Map();

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
}

function build(issuer, keys) {
  const provider = new Provider(issuer, {
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: c.scope,
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys },
    scopes: ['channels:read', 'channels:write', 'channels:delete'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Any resource is accepted, so that a token for another audience can be minted on purpose.
        getResourceServerInfo: async (ctx, resource, client) => {
          const c = byClient.get(client.clientId) ?? {};
          return {
            scope: 'channels:read channels:write channels:delete',
            audience: resource,
            accessTokenTTL: c.ttl ?? 300,
            accessTokenFormat: c.opaque ? 'opaque' : 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: async (ctx, token) => byClient.get(token.clientId)?.claims,
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  return provider;
}

const urls = {};
const servers = [];
for (const spec of config.issuers) {
  const state = { provider: null, jwksFetches: 0 };
  const server = http.createServer((req, res) => {
    if (req.url === '/__test__/stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jwks: state.jwksFetches }));
      return;
    }
    if (req.url === '/__test__/rotate' && req.method === 'POST') {
      const keys = keysByIssuer.get(spec.name);
      keys.unshift(newKey());
      state.provider = build(state.issuer, keys);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ kid: keys[0].kid }));
      return;
    }
    if (req.url.startsWith('/jwks')) state.jwksFetches += 1;
    state.provider.callback()(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.issuer = `http://127.0.0.1:${server.address().port}`;
  const keys = spec.keysFrom ? keysByIssuer.get(spec.keysFrom) : [newKey()];
  keysByIssuer.set(spec.name, keys);
  state.provider = build(state.issuer, keys);
  urls[spec.name] = state.issuer;
  servers.push(server);
}
process.stdout.write(JSON.stringify(urls) + '\n');

// Stop with the test: on a signal, or when the parent closes our stdin.
const stop = () => { for (const s of servers) s.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
