'use strict';
// The request handler of Slipway's example service, kept apart from the server so the unit tests can
// drive it without a socket. `handle` answers everything that needs nothing but the settings, at
// once; `respond` adds /visits, a counter kept in Redis (REDIS_URL=redis://host:port), which has to
// wait for it. Without Redis only /visits fails (503): /healthz never asks Redis, so a database
// outage does not take the service's instances out of rotation.
//
// Failure modes, for the deploy and pipeline tests that must see Slipway react to a bad release, are
// switched by environment variables (read once, in server.js):
//   FAIL_HEALTHCHECK=1       /healthz answers 503
//   ERROR_RATE=0.25          that share of requests to / answers 500 (the app's own 5xx)
//   STARTUP_DELAY_SECONDS=N  the server starts listening N seconds late (server.js)
//   CRASH_AFTER_SECONDS=N    the process exits with status 1 after N seconds (server.js)
//   CRASH_AFTER_REQUESTS=N   the process exits with status 1 once it has answered N requests to /
//                            (server.js): a crash a test triggers when it chooses, not on a timer

const { RedisClient, parseRedisUrl } = require('./redis');

const SERVICE_NAME = 'hello';
const VISITS_KEY = 'hello:visits';

/** Reads the service's settings from an environment map, with defaults. */
function settingsFrom(env) {
  return {
    version: env.APP_VERSION || require('../package.json').version,
    release: env.SLIPWAY_RELEASE || 'unreleased',
    commit: env.SLIPWAY_COMMIT || 'unknown',
    failHealthcheck: env.FAIL_HEALTHCHECK === '1' || env.FAIL_HEALTHCHECK === 'true',
    errorRate: clampRate(Number.parseFloat(env.ERROR_RATE || '0')),
    startupDelaySeconds: nonNegative(Number.parseFloat(env.STARTUP_DELAY_SECONDS || '0')),
    crashAfterSeconds: nonNegative(Number.parseFloat(env.CRASH_AFTER_SECONDS || '0')),
    crashAfterRequests: Math.floor(nonNegative(Number.parseInt(env.CRASH_AFTER_REQUESTS || '0', 10))),
    redisUrl: env.REDIS_URL || '',
  };
}

function clampRate(rate) {
  if (!Number.isFinite(rate) || rate < 0) return 0;
  return Math.min(rate, 1);
}

function nonNegative(seconds) {
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

/**
 * Answers one request. `random` is injectable so tests can pin the error-rate draw.
 * Returns { status, headers, body }.
 */
function handle(method, url, settings, random = Math.random) {
  const path = url.split('?')[0];
  if (method !== 'GET' && method !== 'HEAD') {
    return text(405, 'method not allowed\n', { allow: 'GET, HEAD' });
  }
  switch (path) {
    case '/healthz':
      return settings.failHealthcheck ? text(503, 'unhealthy\n') : text(200, 'ok\n');
    case '/version':
      return json(200, {
        service: SERVICE_NAME,
        version: settings.version,
        release: settings.release,
        commit: settings.commit,
      });
    case '/':
      if (random() < settings.errorRate) {
        return text(500, 'injected failure\n');
      }
      return text(200, `hello from ${SERVICE_NAME} ${settings.version} (${settings.release})\n`);
    default:
      return text(404, 'not found\n');
  }
}

/**
 * The counter behind /visits: `count()` adds a visit and resolves with the total, `summary` says
 * where it is kept. Without a usable REDIS_URL, `count()` rejects with the reason and /visits
 * passes it on.
 */
function visitCounter(redisUrl, timeoutMs = 1000) {
  let address;
  try {
    if (!redisUrl) throw new Error('REDIS_URL is not set');
    address = parseRedisUrl(redisUrl);
  } catch (error) {
    return { summary: `answers 503: ${error.message}`, count: () => Promise.reject(error), close() {} };
  }
  const client = new RedisClient({ ...address, timeoutMs });
  return {
    summary: `counted in redis ${address.host}:${address.port}`,
    count: () => client.command(['INCR', VISITS_KEY]),
    close: () => client.close(),
  };
}

/** Answers one request as `handle` does, and /visits from `visits` (a `visitCounter`). */
async function respond(method, url, settings, visits) {
  if (url.split('?')[0] !== '/visits') return handle(method, url, settings);
  // Every GET counts, so HEAD, which must not change anything, is refused too.
  if (method !== 'GET') return text(405, 'method not allowed\n', { allow: 'GET' });
  try {
    return json(200, { visits: await visits.count() });
  } catch (error) {
    return text(503, `visits unavailable: ${error.message}\n`);
  }
}

function text(status, body, extra = {}) {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...extra }, body };
}

function json(status, value) {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(value) + '\n',
  };
}

module.exports = { settingsFrom, handle, respond, visitCounter };
