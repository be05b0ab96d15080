'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const {
  encodeCommand, ReplyParser, RedisClient, RedisError, RedisProtocolError, parseRedisUrl,
} = require('../src/redis');
const { fakeRedis, counter } = require('./fake-redis');

test('commands are encoded as RESP arrays of bulk strings, lengths in bytes', () => {
  assert.equal(encodeCommand(['INCR', 'hello:visits']).toString(), '*2\r\n$4\r\nINCR\r\n$12\r\nhello:visits\r\n');
  assert.equal(encodeCommand(['SET', 'k', 'é', 7]).toString(), '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n$1\r\n7\r\n');
  assert.equal(encodeCommand(['SET', 'k', '']).toString(), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n');
});

test('each reply type is parsed, several to a chunk', () => {
  const replies = new ReplyParser().push(Buffer.from('+OK\r\n:42\r\n:-3\r\n$5\r\nhe\r\no\r\n$0\r\n\r\n$-1\r\n-ERR wrong type\r\n'));
  assert.deepEqual(replies.slice(0, 6), ['OK', 42, -3, 'he\r\no', '', null]);
  assert.ok(replies[6] instanceof RedisError);
  assert.equal(replies[6].message, 'ERR wrong type');
  assert.equal(replies.length, 7);
});

test('a reply split across chunks at any byte comes out once, whole', () => {
  const wire = Buffer.from('$5\r\nhé!!\r\n:1234\r\n+PONG\r\n');
  for (let cut = 1; cut < wire.length; cut += 1) {
    const parser = new ReplyParser();
    const replies = [...parser.push(wire.subarray(0, cut)), ...parser.push(wire.subarray(cut))];
    assert.deepEqual(replies, ['hé!!', 1234, 'PONG'], `cut at byte ${cut}`);
  }
  const parser = new ReplyParser();
  const oneByteAtATime = [...wire].flatMap((byte) => parser.push(Buffer.from([byte])));
  assert.deepEqual(oneByteAtATime, ['hé!!', 1234, 'PONG']);
});

test('bytes that are not the RESP this client reads are protocol errors', () => {
  for (const wire of ['*1\r\n:1\r\n', ':12x\r\n', '$abc\r\n', '$-2\r\n', '$2\r\nabcd\r\n', 'hello\r\n']) {
    assert.throws(() => new ReplyParser().push(Buffer.from(wire)), RedisProtocolError, JSON.stringify(wire));
  }
});

test('REDIS_URL is read as redis://host:port and nothing else', () => {
  assert.deepEqual(parseRedisUrl('redis://127.0.0.1:16379'), { host: '127.0.0.1', port: 16379 });
  assert.deepEqual(parseRedisUrl('redis://cache'), { host: 'cache', port: 6379 });
  assert.deepEqual(parseRedisUrl('redis://[::1]:7000/'), { host: '::1', port: 7000 });
  for (const bad of ['cache:6379', 'http://cache:6379', 'redis://:secret@cache:6379', 'redis://cache:6379/2']) {
    assert.throws(() => parseRedisUrl(bad), (error) => {
      assert.match(error.message, /REDIS_URL must be redis:\/\/host:port/);
      assert.doesNotMatch(error.message, /secret/, 'the message must not leak the URL');
      return true;
    }, bad);
  }
});

test('the client counts over one connection, reused', async (t) => {
  const fake = await fakeRedis(counter());
  const client = new RedisClient({ host: '127.0.0.1', port: fake.port });
  t.after(() => { client.close(); return fake.close(); });
  assert.equal(await client.command(['INCR', 'a']), 1);
  assert.equal(await client.command(['INCR', 'a']), 2);
  const answers = await Promise.all([client.command(['INCR', 'a']), client.command(['INCR', 'b'])]);
  assert.deepEqual(answers, [3, 1], 'pipelined commands get their own replies, in order');
  assert.deepEqual(fake.commands[0], ['INCR', 'a']);
  assert.equal(fake.connections, 1);
});

test('an error reply rejects its command and leaves the connection usable', async (t) => {
  const fake = await fakeRedis(counter());
  const client = new RedisClient({ host: '127.0.0.1', port: fake.port });
  t.after(() => { client.close(); return fake.close(); });
  await assert.rejects(client.command(['GET', 'a']), (error) => error instanceof RedisError && /unknown command 'GET'/.test(error.message));
  assert.equal(await client.command(['INCR', 'a']), 1);
  assert.equal(fake.connections, 1);
});

test('a server that does not answer times the command out, and the next one reconnects', async (t) => {
  let silent = true;
  const count = counter();
  const fake = await fakeRedis((args) => (silent ? null : count(args)));
  const client = new RedisClient({ host: '127.0.0.1', port: fake.port, timeoutMs: 100 });
  t.after(() => { client.close(); return fake.close(); });
  await assert.rejects(client.command(['INCR', 'a']), /^Error: redis 127\.0\.0\.1:\d+: no reply within 100 ms$/);
  silent = false;
  assert.equal(await client.command(['INCR', 'a']), 1);
  assert.equal(fake.connections, 2, 'the timed-out connection is not reused: its late reply would be misread');
});

test('a dropped connection fails what waits on it, and the next command reconnects', async (t) => {
  const count = counter();
  const fake = await fakeRedis((args, socket) => {
    if (fake.commands.length === 2) {
      socket.destroy();
      return null;
    }
    return count(args);
  });
  const client = new RedisClient({ host: '127.0.0.1', port: fake.port });
  t.after(() => { client.close(); return fake.close(); });
  assert.equal(await client.command(['INCR', 'a']), 1);
  await assert.rejects(client.command(['INCR', 'a']), /redis 127\.0\.0\.1:\d+: /);
  assert.equal(await client.command(['INCR', 'a']), 2);
  assert.equal(fake.connections, 2);
});

test('an unreachable server rejects with its address', async () => {
  const fake = await fakeRedis(counter());
  const { port } = fake;
  await fake.close();
  const client = new RedisClient({ host: '127.0.0.1', port });
  await assert.rejects(client.command(['INCR', 'a']), new RegExp(`^Error: redis 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
});

test('a garbled reply fails the command and drops the connection', async (t) => {
  let garble = true;
  const count = counter();
  const fake = await fakeRedis((args) => (garble ? '?what\r\n' : count(args)));
  const client = new RedisClient({ host: '127.0.0.1', port: fake.port });
  t.after(() => { client.close(); return fake.close(); });
  await assert.rejects(client.command(['INCR', 'a']), /unsupported reply type "\?"/);
  garble = false;
  assert.equal(await client.command(['INCR', 'a']), 1);
  assert.equal(fake.connections, 2);
});
