'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { settingsFrom, handle } = require('../src/app');

const healthy = settingsFrom({ APP_VERSION: '9.9.9', SLIPWAY_RELEASE: 'r42', SLIPWAY_COMMIT: 'abc123' });

test('healthz answers 200 when healthy and 503 when FAIL_HEALTHCHECK is set', () => {
  assert.equal(handle('GET', '/healthz', healthy).status, 200);
  const failing = settingsFrom({ FAIL_HEALTHCHECK: '1' });
  assert.equal(handle('GET', '/healthz', failing).status, 503);
});

test('version reports the release it belongs to', () => {
  const answer = handle('GET', '/version?verbose=1', healthy);
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.body), {
    service: 'hello', version: '9.9.9', release: 'r42', commit: 'abc123',
  });
});

test('the version defaults to package.json', () => {
  const answer = handle('GET', '/version', settingsFrom({}));
  assert.equal(JSON.parse(answer.body).version, require('../package.json').version);
});

test('ERROR_RATE answers 500 to that share of requests', () => {
  const flaky = settingsFrom({ ERROR_RATE: '0.25' });
  assert.equal(handle('GET', '/', flaky, () => 0.1).status, 500);
  assert.equal(handle('GET', '/', flaky, () => 0.3).status, 200);
});

test('bad failure settings fall back to safe values', () => {
  const settings = settingsFrom({
    ERROR_RATE: 'lots', STARTUP_DELAY_SECONDS: '-3', CRASH_AFTER_SECONDS: 'x', CRASH_AFTER_REQUESTS: '-2',
  });
  assert.equal(settings.errorRate, 0);
  assert.equal(settings.startupDelaySeconds, 0);
  assert.equal(settings.crashAfterSeconds, 0);
  assert.equal(settings.crashAfterRequests, 0);
  assert.equal(settingsFrom({ CRASH_AFTER_REQUESTS: '3' }).crashAfterRequests, 3);
  assert.equal(settingsFrom({ ERROR_RATE: '7' }).errorRate, 1);
});

test('unknown paths are 404 and other methods 405', () => {
  assert.equal(handle('GET', '/nope', healthy).status, 404);
  const post = handle('POST', '/', healthy);
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});
