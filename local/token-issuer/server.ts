import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discoveryDocument, issuerUrl, LOCAL_TENANT_ID, type SigningKey } from './signing-key.js';

// Serves what a token validator fetches, read-only, on loopback:
//   GET /{tenant}/v2.0/.well-known/openid-configuration   the discovery document
//   GET /{tenant}/discovery/v2.0/keys                     the JWKS (public key only)
//   GET /health                                           200 (the supervisor's readiness probe)
// Tokens are minted from the signing key file by the stack and `npm run token`, not over HTTP: nothing here
// hands out a credential.

export interface RunningIssuer {
  server: Server;
  port: number;
  issuer: string;
  close(): Promise<void>;
}

export async function startIssuerServer(port: number, key: SigningKey): Promise<RunningIssuer> {
  let issuer = issuerUrl(port);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'max-age=300' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'method not allowed' });
    if (path === '/health') return send(200, { status: 'ok' });
    if (path === `/${LOCAL_TENANT_ID}/v2.0/.well-known/openid-configuration`)
      return send(200, discoveryDocument(issuer));
    if (path === `/${LOCAL_TENANT_ID}/discovery/v2.0/keys`) return send(200, { keys: [key.publicJwk] });
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  issuer = issuerUrl(actual);
  return {
    server,
    port: actual,
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
