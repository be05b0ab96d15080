'use strict';
// An in-process stand-in for Redis, for the unit tests: a TCP server on 127.0.0.1 that reads RESP
// commands with its own small parser (so the client's encoder is checked against a second reading
// of the protocol) and answers each with whatever the test's `reply` function returns: a raw RESP
// string to write, or null to stay silent; `counter()` makes one that answers INCR as Redis does.

const net = require('node:net');

/** Starts the server; resolves with { url, port, commands, connections, close() }. */
async function fakeRedis(reply) {
  const fake = { commands: [], connections: 0, sockets: new Set() };
  const server = net.createServer((socket) => {
    fake.connections += 1;
    fake.sockets.add(socket);
    socket.on('close', () => fake.sockets.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      let parsed;
      while ((parsed = readCommand(pending)) !== null) {
        pending = pending.subarray(parsed.end);
        fake.commands.push(parsed.args);
        const answer = reply(parsed.args, socket);
        if (answer !== null) socket.write(answer);
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.port = server.address().port;
  fake.url = `redis://127.0.0.1:${fake.port}`;
  fake.close = () => {
    for (const socket of fake.sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  };
  return fake;
}

/** A `reply` that keeps integer keys as Redis's INCR does and refuses other commands. */
function counter() {
  const values = new Map();
  return ([name, key]) => {
    if (name !== 'INCR') return `-ERR unknown command '${name}'\r\n`;
    const next = (values.get(key) || 0) + 1;
    values.set(key, next);
    return `:${next}\r\n`;
  };
}

/** Reads one `*N\r\n$len\r\narg\r\n...` command from the start of `buffer`, or null if incomplete. */
function readCommand(buffer) {
  const header = readLine(buffer, 0);
  if (header === null) return null;
  if (!header.text.startsWith('*')) throw new Error(`fake redis: expected an array, got ${header.text}`);
  const args = [];
  let offset = header.next;
  for (let count = Number(header.text.slice(1)); count > 0; count -= 1) {
    const length = readLine(buffer, offset);
    if (length === null) return null;
    if (!length.text.startsWith('$')) throw new Error(`fake redis: expected a bulk string, got ${length.text}`);
    const start = length.next;
    const end = start + Number(length.text.slice(1));
    if (buffer.length < end + 2) return null;
    args.push(buffer.toString('utf8', start, end));
    offset = end + 2;
  }
  return { args, end: offset };
}

function readLine(buffer, offset) {
  const end = buffer.indexOf('\r\n', offset);
  return end === -1 ? null : { text: buffer.toString('utf8', offset, end), next: end + 2 };
}

module.exports = { fakeRedis, counter };
