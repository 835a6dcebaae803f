// A real OpenID provider (panva/node-oidc-provider) on an ephemeral
// loopback port, for agentd's JWT auth tests. It issues JWT access tokens
// (RFC 9068, audience "agentd") to clients by the client-credentials grant:
//   user-a, user-b   two users of tenant "acme"
//   user-c           a user of tenant "globex"
//   admin            holds the agentd:admin scope
// each with the secret "<client_id>-secret"; the token's `sub` is the
// client id and `org` its tenant.
//
// Prints one JSON line when ready: {"issuer": "http://127.0.0.1:PORT"}.
// Test-only control routes beside the provider's own:
//   POST /test/rotate   a new signing key; the old one is no longer published
//   POST /test/down     discovery and JWKS answer 503 (provider unreachable)
//   POST /test/up       they answer again
//   POST /test/forge    signs the JSON body's claims with the current key,
//                       or ?alg=none / ?alg=HS256 (keyed with the public
//                       key) / ?kid=unknown, to make the bad tokens real
//                       providers never issue
// Options: --down (start with discovery and JWKS down).
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const RESOURCE = 'urn:agentd';
const AUDIENCE = 'agentd';
const TENANTS = { 'user-a': 'acme', 'user-b': 'acme', 'user-c': 'globex', admin: 'acme' };
const SCOPES = { 'user-a': 'reports', 'user-b': 'chat', 'user-c': 'reports', admin: 'agentd:admin' };

let down = process.argv.includes('--down');
let generation = 0;

function newKey() {
  generation += 1;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `key-${generation}`, alg: 'RS256', use: 'sig' };
}

function b64(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

function makeProvider(issuer, key) {
  const provider = new Provider(issuer, {
    clients: Object.keys(TENANTS).map((id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: SCOPES[id],
    })),
    jwks: { keys: [key] },
    scopes: ['openid', 'reports', 'chat', 'agentd:admin'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => ({
          scope: 'reports chat agentd:admin',
          // Another resource's tokens carry another audience: real tokens
          // agentd must refuse.
          audience: resource === RESOURCE ? AUDIENCE : resource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: (ctx, token) => ({ org: TENANTS[token.clientId] }),
  });
  return provider;
}

function forge(issuer, key, url, claims) {
  const now = Math.floor(Date.now() / 1000);
  const body = { iss: issuer, aud: AUDIENCE, sub: 'user-a', org: 'acme', iat: now, exp: now + 600, ...claims };
  const alg = url.searchParams.get('alg') ?? 'RS256';
  const kid = url.searchParams.get('kid') ?? key.kid;
  const input = `${b64({ alg, kid, typ: 'at+jwt' })}.${b64(body)}`;
  if (alg === 'none') return `${input}.`;
  if (alg === 'HS256') {
    // The classic confusion attack: the public key, as published, used as
    // an HMAC secret.
    const { n, e, kty } = key;
    const secret = crypto.createPublicKey({ key: { n, e, kty }, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
  }
  const signer = crypto.createSign('RSA-SHA256');
  signer.update(input);
  const signature = signer.sign(crypto.createPrivateKey({ key, format: 'jwk' })).toString('base64url');
  return `${input}.${signature}`;
}

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data));
  });
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  let key = newKey();
  let provider = makeProvider(issuer, key);
  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname.startsWith('/test/') && req.method === 'POST') {
      const send = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/test/rotate') {
        key = newKey();
        provider = makeProvider(issuer, key);
        return send(200, { kid: key.kid });
      }
      if (url.pathname === '/test/down') { down = true; return send(200, {}); }
      if (url.pathname === '/test/up') { down = false; return send(200, {}); }
      if (url.pathname === '/test/forge') {
        const raw = await readBody(req);
        return send(200, { token: forge(issuer, key, url, raw ? JSON.parse(raw) : {}) });
      }
      return send(404, {});
    }
    if (down && (url.pathname.startsWith('/.well-known/') || url.pathname === '/jwks')) {
      res.writeHead(503);
      return res.end();
    }
    return provider.callback()(req, res);
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
