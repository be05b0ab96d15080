'use strict';
// The image's HEALTHCHECK: exits 0 when /healthz answers 200. Written in Node so the runtime image
// needs no curl or wget.
const http = require('node:http');

const port = process.env.PORT || '3000';
const request = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (response) => {
  process.exit(response.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timeout')));
request.on('error', () => process.exit(1));
