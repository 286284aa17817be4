// A real OpenID provider on loopback for verifybot's tests: panva's oidc-provider, one client,
// the library's own development login and consent pages (driven by plain HTTP requests, and by
// Chromium in tests/browser). Those pages `@import` a web font from fonts.googleapis.com; the
// middleware below strips that from every HTML answer, so a browser walking the whole sign-in
// asks nothing of any host but 127.0.0.1 (the browser tests assert exactly that).
//
// Usage: node server.js [port]   (or OIDC_PORT; 0 or nothing picks a free port)
// Environment (all optional):
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET   the one client (defaults: verifybot / verifybot-test-secret)
//   OIDC_JWKS                            a private JWK set as JSON, so tests can sign tokens with
//                                        the provider's own key; generated when absent
// Prints one line "READY <issuer>" on stdout once it accepts requests.
//
// Test-only hook: POST /__test__/next-id-token with a compact JWT as the body makes the next token
// response carry that ID token instead of the genuine one (one shot). Attack tests use it to put a
// forged token through the whole flow exactly where a compromised or hostile provider would.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const requestedPort = Number(process.argv[2] ?? process.env.OIDC_PORT ?? 0);
const clientId = process.env.OIDC_CLIENT_ID ?? 'verifybot';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'verifybot-test-secret';

function signingKeys() {
  if (process.env.OIDC_JWKS) {
    return JSON.parse(process.env.OIDC_JWKS);
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' }] };
}

// Accounts are whatever the login form says. A login starting with "strong-" also carries a
// vector-of-trust claim, so tests can exercise claim rules that map an assurance claim to a level.
async function findAccount(ctx, id) {
  return {
    accountId: id,
    async claims() {
      const claims = { sub: id };
      if (id.startsWith('strong-')) {
        claims.vot = 'P2.Cc';
      }
      return claims;
    },
  };
}

let nextIdToken = null;

// `@import url(https://...);` in an inline style sheet: the only outside resource the pages use.
const EXTERNAL_IMPORT = /@import\s+url\(\s*['"]?https?:\/\/[^)]*\)\s*;?/g;

const server = createServer();
server.listen(requestedPort, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        // A native client may use any port on a loopback redirect URI (RFC 8252, 7.3), so each
        // test can run the bot's web service on a free port without re-registering.
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/verify/oidc/callback'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: signingKeys(),
    findAccount,
    claims: { openid: ['sub'], assurance: ['vot'] },
    scopes: ['openid', 'assurance'],
    // Put requested claims into the ID token too: claim rules read only signed claims.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    cookies: { keys: ['verifybot-test-cookie-key'] },
    features: { devInteractions: { enabled: true } },
    renderError(ctx, out) {
      ctx.type = 'text/plain';
      ctx.body = `${out.error}: ${out.error_description ?? ''}`;
    },
  });

  provider.use(async (ctx, next) => {
    if (ctx.path === '/__test__/next-id-token' && ctx.method === 'POST') {
      let body = '';
      for await (const chunk of ctx.req) body += chunk;
      nextIdToken = body.trim() || null;
      ctx.status = 204;
      return;
    }
    await next();
    if (ctx.response.is('html') && typeof ctx.body === 'string') {
      ctx.body = ctx.body.replace(EXTERNAL_IMPORT, '');
    }
    if (ctx.path === '/token' && nextIdToken && ctx.status === 200 && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: nextIdToken };
      nextIdToken = null;
    }
  });

  server.on('request', provider.callback());
  process.stdout.write(`READY ${issuer}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
