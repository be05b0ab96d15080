'use strict';
// Slipway's example service: listens on PORT (default 3000; 0 picks a free port, which the
// "listening on" line reports) and serves the handler in app.js.
// On SIGTERM it stops accepting connections and exits once in-flight requests are done, so a
// deploy that drains it loses nothing.

const http = require('node:http');
const { settingsFrom, respond, visitCounter } = require('./app');

const settings = settingsFrom(process.env);
const port = Number.parseInt(process.env.PORT || '3000', 10);
const host = process.env.HOST || '0.0.0.0';
const visits = visitCounter(settings.redisUrl);

const server = http.createServer(async (request, response) => {
  const answer = await respond(request.method, request.url, settings, visits);
  response.writeHead(answer.status, answer.headers);
  response.end(request.method === 'HEAD' ? undefined : answer.body, () => crashWhenDue(request.url));
});

// Requests to / answered, counted only when CRASH_AFTER_REQUESTS asks for a crash.
let answered = 0;
function crashWhenDue(url) {
  if (settings.crashAfterRequests === 0 || url.split('?')[0] !== '/') return;
  answered += 1;
  if (answered >= settings.crashAfterRequests) {
    console.error(`crashing after ${answered} requests to /, as CRASH_AFTER_REQUESTS asks`);
    process.exit(1);
  }
}
// Keep-alive connections outlive the proxy's idle timeout, never the other way round.
server.keepAliveTimeout = 65_000;

function start() {
  server.listen(port, host, () => {
    const { port: bound } = server.address();
    console.log(`hello ${settings.version} (${settings.release}) listening on ${host}:${bound}`);
    console.log(`/visits: ${visits.summary}`);
  });
}

if (settings.startupDelaySeconds > 0) {
  console.log(`starting in ${settings.startupDelaySeconds}s`);
  setTimeout(start, settings.startupDelaySeconds * 1000);
} else {
  start();
}

if (settings.crashAfterSeconds > 0) {
  setTimeout(() => {
    console.error(`crashing after ${settings.crashAfterSeconds}s, as CRASH_AFTER_SECONDS asks`);
    process.exit(1);
  }, settings.crashAfterSeconds * 1000).unref();
}

function shutDown(signal) {
  console.log(`${signal}: draining`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // In-flight requests get 10 s; then we go anyway.
  setTimeout(() => process.exit(0), 10_000).unref();
}
process.on('SIGTERM', () => shutDown('SIGTERM'));
process.on('SIGINT', () => shutDown('SIGINT'));
