'use strict';
// The request handler of Slipway's example service, kept apart from the server so the unit tests can
// drive it without a socket.
//
// Failure modes, for the deploy and pipeline tests that must see Slipway react to a bad release, are
// switched by environment variables (read once, in server.js):
//   FAIL_HEALTHCHECK=1       /healthz answers 503
//   ERROR_RATE=0.25          that share of requests to / answers 500 (the app's own 5xx)
//   STARTUP_DELAY_SECONDS=N  the server starts listening N seconds late (server.js)
//   CRASH_AFTER_SECONDS=N    the process exits with status 1 after N seconds (server.js)

const SERVICE_NAME = 'hello';

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

module.exports = { settingsFrom, handle };
