'use strict';
// The integration test: the service against a real Redis, named by REDIS_URL (redis://host:port).
// It fails, never skips, when REDIS_URL is unset: a green run must mean the database was there.
//   REDIS_URL=redis://127.0.0.1:6379 npm run test:integration

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { RedisClient, parseRedisUrl } = require('../src/redis');

const SERVER = path.join(__dirname, '..', 'src', 'server.js');
const START_LIMIT_MS = 10_000;

function redisUrl() {
  const url = process.env.REDIS_URL;
  assert.ok(url, 'REDIS_URL is not set: the integration test needs a real Redis, e.g. '
    + 'REDIS_URL=redis://127.0.0.1:6379 npm run test:integration (a workflow gets one from a `services:` container)');
  return url;
}

/** Starts the service on a free port of 127.0.0.1; resolves with its base URL and a `stop()`. */
function startService(t, url) {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, REDIS_URL: url, HOST: '127.0.0.1', PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  t.after(stop);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start within ${START_LIMIT_MS} ms:\n${output}`)), START_LIMIT_MS);
    const collect = (chunk) => {
      output += chunk;
      const listening = output.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (listening) {
        clearTimeout(timer);
        resolve({ base: `http://127.0.0.1:${listening[1]}`, stop });
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code} before listening:\n${output}`));
    });
  });
}

async function visit(base) {
  const response = await fetch(`${base}/visits`);
  const body = await response.text();
  assert.equal(response.status, 200, `GET /visits answered ${response.status}: ${body.trim()}`);
  return JSON.parse(body).visits;
}

/** Reads the service's counter straight from Redis. */
async function readCounter(t, url) {
  const client = new RedisClient(parseRedisUrl(url));
  t.after(() => client.close());
  return client.command(['GET', 'hello:visits']);
}

test('/visits counts in Redis, and the count outlives the process that made it', async (t) => {
  const url = redisUrl();
  const first = await startService(t, url);
  const before = await visit(first.base);
  assert.ok(Number.isInteger(before) && before >= 1, `a first visit counts at least 1, got ${before}`);
  assert.equal(await visit(first.base), before + 1);
  assert.equal(await visit(first.base), before + 2);
  await first.stop();
  assert.equal(await readCounter(t, url), String(before + 2), 'the count is the one in Redis');

  const second = await startService(t, url);
  assert.equal(await visit(second.base), before + 3, 'a new process carries on from the count in Redis');
});
