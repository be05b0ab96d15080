'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { settingsFrom, respond, visitCounter } = require('../src/app');
const { fakeRedis, counter } = require('./fake-redis');

const settings = settingsFrom({});

test('/visits counts in Redis, one INCR per GET', async (t) => {
  const fake = await fakeRedis(counter());
  const visits = visitCounter(fake.url);
  t.after(() => { visits.close(); return fake.close(); });
  for (const expected of [1, 2, 3]) {
    const answer = await respond('GET', '/visits', settings, visits);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(answer.body), { visits: expected });
  }
  assert.deepEqual(fake.commands, [['INCR', 'hello:visits'], ['INCR', 'hello:visits'], ['INCR', 'hello:visits']]);
  assert.match(visits.summary, new RegExp(`^counted in redis 127\\.0\\.0\\.1:${fake.port}$`));
});

test('/visits answers 503 saying REDIS_URL is not set, or is not usable', async () => {
  for (const [url, reason] of [['', /REDIS_URL is not set/], ['http://cache:6379', /REDIS_URL must be redis:\/\/host:port/]]) {
    const visits = visitCounter(url);
    const answer = await respond('GET', '/visits', settings, visits);
    assert.equal(answer.status, 503);
    assert.match(answer.body, /^visits unavailable: /);
    assert.match(answer.body, reason);
    assert.match(visits.summary, reason);
  }
});

test('/visits answers 503 when Redis refuses the connection or does not answer', async (t) => {
  const silent = await fakeRedis(() => null);
  const stopped = await fakeRedis(counter());
  await stopped.close();
  const slow = visitCounter(silent.url, 100);
  const refused = visitCounter(stopped.url, 100);
  t.after(() => { slow.close(); refused.close(); return silent.close(); });
  const timedOut = await respond('GET', '/visits', settings, slow);
  assert.equal(timedOut.status, 503);
  assert.match(timedOut.body, /no reply within 100 ms/);
  const unreachable = await respond('GET', '/visits', settings, refused);
  assert.equal(unreachable.status, 503);
  assert.match(unreachable.body, /ECONNREFUSED/);
});

test('/visits is GET only: HEAD would count too', async () => {
  const visits = visitCounter('');
  for (const method of ['HEAD', 'POST']) {
    const answer = await respond(method, '/visits', settings, visits);
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.allow, 'GET');
  }
});

test('everything but /visits answers without Redis, /healthz included', async (t) => {
  const silent = await fakeRedis(() => null);
  const visits = visitCounter(silent.url, 60_000);
  t.after(() => { visits.close(); return silent.close(); });
  assert.equal((await respond('GET', '/healthz', settings, visits)).status, 200);
  assert.equal((await respond('GET', '/version', settings, visits)).status, 200);
  assert.equal((await respond('GET', '/', settings, visits)).status, 200);
  assert.equal(silent.connections, 0, 'nothing but /visits may reach Redis');
});
