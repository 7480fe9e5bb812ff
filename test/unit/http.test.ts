import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { HttpError, NetworkError, requestJson } from '../../lib/http.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A plain local HTTP server (not a Nomad or Consul stand-in): it only echoes what it got. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('requestJson()', () => {
  test('sends the token in its header and the body as JSON, and parses the answer', async () => {
    const base = await serve((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => res.end(JSON.stringify({ token: req.headers['x-nomad-token'], type: req.headers['content-type'], body: JSON.parse(body) })));
    });
    const { body } = await requestJson(`${base}/v1/jobs`, { method: 'POST', body: { a: 1 }, token: 't0k', tokenHeader: 'X-Nomad-Token', timeoutMs: 2000 });
    expect(body).toEqual({ token: 't0k', type: 'application/json', body: { a: 1 } });
  });

  test('throws an HttpError carrying the status, without the token in the message', async () => {
    const base = await serve((_req, res) => {
      res.statusCode = 404;
      res.end('job not found');
    });
    const err = await requestJson(`${base}/v1/job/x`, { token: 'secret-0b9e', tokenHeader: 'X-Nomad-Token', timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(404);
    expect((err as HttpError).message).toBe(`GET ${base}/v1/job/x: HTTP 404 job not found`);
  });

  test('gives up after its timeout, naming the URL it tried and what to check', async () => {
    const base = await serve(() => undefined); // never answers
    const err = await requestJson(`${base}/v1/status/leader?stale`, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).message).toBe(
      `GET ${base}/v1/status/leader: no answer within 200 ms — check that the server runs and answers at ${base} (the address comes from the config, NOMAD_ADDR/CONSUL_HTTP_ADDR or a --*-addr flag)`,
    );
  });

  test('a refused connection says so instead of a bare "fetch failed", with the caller’s hint', async () => {
    const base = await serve(() => undefined);
    await new Promise<void>((r) => server!.close(() => r())); // nothing listens there any more
    server = undefined;
    const err = await requestJson(`${base}/v1/jobs`, { timeoutMs: 2000, hint: 'is the local cluster up? npm run cluster -- status' }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`GET ${base}/v1/jobs: connection refused (nothing listens there) — is the local cluster up? npm run cluster -- status`);
  });

  test('a request the caller cancels is passed on as an abort, not reported as a network error', async () => {
    const base = await serve(() => undefined);
    const ac = new AbortController();
    const pending = requestJson(base, { timeoutMs: 5000, signal: ac.signal });
    ac.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(NetworkError);
    expect((err as Error).name).toBe('AbortError');
  });
});
