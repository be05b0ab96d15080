'use strict';
// End-to-end tests against the release serving an environment (staging by default), through
// Slipway's proxy, the way users reach it. Run by `npm run test:e2e` in the pipeline's last job,
// after `slipway deploy`. Where the release answers comes from `slipway status ENV --json`: the
// proxy's address and the Host header that routes to the service.
//
//   SLIPWAY_ENVIRONMENT  the environment to test (default: staging)
//   E2E_REQUESTS         requests in the short load test (default: 400)
//   E2E_CONCURRENCY      how many of them in flight at once (default: 16)

const { test } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { execFileSync } = require('node:child_process');

const ENVIRONMENT = process.env.SLIPWAY_ENVIRONMENT || 'staging';
const REQUESTS = Number.parseInt(process.env.E2E_REQUESTS || '400', 10);
const CONCURRENCY = Number.parseInt(process.env.E2E_CONCURRENCY || '16', 10);

/** The proxy address, the service's host name and the release serving it. */
function target() {
  const status = JSON.parse(
    execFileSync('slipway', ['status', ENVIRONMENT, '--json'], { encoding: 'utf8' }),
  );
  const service = status.services.find((s) => s.service === 'hello' && s.environment === ENVIRONMENT);
  assert.ok(status.proxy, 'the slipway daemon (and its proxy) runs');
  assert.ok(service && service.serving, `hello serves ${ENVIRONMENT}`);
  const [host, port] = splitAddress(status.proxy);
  return { host, port, hostHeader: new URL(service.url).host, release: String(service.serving.id) };
}

function splitAddress(address) {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[|\]$/g, ''), Number(address.slice(colon + 1))];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(to, path) {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: to.host, port: to.port, path, agent, headers: { host: to.hostHeader }, timeout: 5000 },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}

test('the release answers its health check through the proxy', async () => {
  const to = target();
  const health = await get(to, '/healthz');
  assert.equal(health.status, 200);
});

test('the release serving is the one Slipway reports', async () => {
  const to = target();
  const version = await get(to, '/version');
  assert.equal(version.status, 200);
  const body = JSON.parse(version.body);
  assert.equal(body.service, 'hello');
  assert.equal(body.release, to.release, 'the proxy routes to the reported release');
});

test('a short load test: every request succeeds', async () => {
  const to = target();
  let next = 0;
  const failures = [];
  const started = process.hrtime.bigint();
  async function worker() {
    while (next < REQUESTS) {
      next += 1;
      try {
        const answer = await get(to, '/');
        if (answer.status !== 200) failures.push(`status ${answer.status}: ${answer.body.trim()}`);
      } catch (error) {
        failures.push(error.message);
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`# ${REQUESTS} requests in ${seconds.toFixed(2)} s (${Math.round(REQUESTS / seconds)} req/s), ${failures.length} failed`);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${REQUESTS} requests failed`);
});
