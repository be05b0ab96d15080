'use strict';
// A minimal Redis client, so the example keeps zero npm dependencies: commands go out as RESP
// arrays of bulk strings, and the replies a counter needs come back (simple strings, errors,
// integers, bulk strings; arrays are not parsed).
//
//   encodeCommand  a command as the bytes Redis reads
//   ReplyParser    bytes in, whole replies out, however the network split them
//   RedisClient    one connection, reused; commands answered in order, each within a timeout; the
//                  connection is dropped on any error and opened again by the next command

const net = require('node:net');

/** A reply of type error (`-ERR ...`): Redis understood the command and refused it. */
class RedisError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RedisError';
  }
}

/** Bytes that are not RESP, or not the RESP this client reads: the connection cannot continue. */
class RedisProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RedisProtocolError';
  }
}

const CRLF = '\r\n';

/** Encodes a command and its arguments (strings or numbers) as a RESP array of bulk strings. */
function encodeCommand(args) {
  const parts = [`*${args.length}${CRLF}`];
  for (const arg of args) {
    const value = String(arg);
    parts.push(`$${Buffer.byteLength(value)}${CRLF}${value}${CRLF}`);
  }
  return Buffer.from(parts.join(''));
}

/** Turns a stream of bytes into replies; keeps an incomplete reply until the rest arrives. */
class ReplyParser {
  constructor() {
    this.buffer = Buffer.alloc(0);
  }

  /** Appends a chunk and returns the replies it completes, in order. Throws RedisProtocolError. */
  push(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const replies = [];
    let parsed;
    while ((parsed = parseReply(this.buffer)) !== null) {
      replies.push(parsed.value);
      this.buffer = this.buffer.subarray(parsed.end);
    }
    return replies;
  }
}

/**
 * Parses the reply at the start of `buffer`: { value, end } with `end` the offset after it, or
 * null when it is not all there yet. An error reply is returned as a RedisError value, not thrown.
 */
function parseReply(buffer) {
  const lineEnd = buffer.indexOf(CRLF);
  if (lineEnd === -1) return null;
  const type = String.fromCharCode(buffer[0]);
  const line = buffer.toString('utf8', 1, lineEnd);
  const afterLine = lineEnd + CRLF.length;
  switch (type) {
    case '+':
      return { value: line, end: afterLine };
    case '-':
      return { value: new RedisError(line), end: afterLine };
    case ':':
      return { value: integer(line), end: afterLine };
    case '$': {
      const length = integer(line);
      if (length === -1) return { value: null, end: afterLine };
      if (length < 0) throw new RedisProtocolError(`bulk string of length ${length}`);
      const end = afterLine + length + CRLF.length;
      if (buffer.length < end) return null;
      if (buffer.toString('latin1', end - CRLF.length, end) !== CRLF) {
        throw new RedisProtocolError(`bulk string of length ${length} does not end with CRLF`);
      }
      return { value: buffer.toString('utf8', afterLine, end - CRLF.length), end };
    }
    default:
      throw new RedisProtocolError(`unsupported reply type ${JSON.stringify(type)} in ${JSON.stringify(line)}`);
  }
}

function integer(text) {
  if (!/^-?\d+$/.test(text)) throw new RedisProtocolError(`${JSON.stringify(text)} is not an integer`);
  return Number(text);
}

/**
 * Reads `redis://host:port` (port defaults to 6379) into { host, port }; throws on anything else,
 * credentials and database numbers included, which this client does not send.
 */
function parseRedisUrl(text) {
  // The message never echoes the URL: /visits answers with it, and a URL may hold a password.
  const invalid = new Error('REDIS_URL must be redis://host:port (no credentials, no database number)');
  let url;
  try {
    url = new URL(text);
  } catch {
    throw invalid;
  }
  const plain = !url.username && !url.password && !url.search && !url.hash;
  if (url.protocol !== 'redis:' || !url.hostname || !plain || !['', '/'].includes(url.pathname)) {
    throw invalid;
  }
  // URL keeps the brackets of an IPv6 literal; net.connect wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port ? Number(url.port) : 6379 };
}

/** One connection to one Redis server, opened on the first command and reused. */
class RedisClient {
  constructor({ host, port, timeoutMs = 1000 }) {
    this.host = host;
    this.port = port;
    this.timeoutMs = timeoutMs;
    this.socket = null;
    // Redis answers in order, so the oldest waiting command owns the next reply.
    this.waiting = [];
  }

  /**
   * Sends a command (`['INCR', 'key']`) and resolves with its reply. Rejects with a RedisError
   * when Redis refuses it, or with an Error naming the server when it cannot be reached or does
   * not answer in time.
   */
  command(args) {
    return new Promise((resolve, reject) => {
      const socket = this.connection();
      const timer = setTimeout(() => {
        // A late reply would be taken for the next command's: the connection must go.
        this.drop(socket, new Error(`no reply within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.push({ resolve, reject, timer });
      socket.write(encodeCommand(args));
    });
  }

  /** Closes the connection; commands still waiting are rejected. */
  close() {
    if (this.socket) this.drop(this.socket, new Error('client closed'));
  }

  connection() {
    if (this.socket) return this.socket;
    const socket = net.createConnection({ host: this.host, port: this.port });
    const parser = new ReplyParser();
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      let replies;
      try {
        replies = parser.push(chunk);
      } catch (error) {
        this.drop(socket, error);
        return;
      }
      for (const reply of replies) this.settle(socket, reply);
    });
    socket.on('error', (error) => this.drop(socket, error));
    socket.on('close', () => this.drop(socket, new Error('connection closed')));
    this.socket = socket;
    return socket;
  }

  settle(socket, reply) {
    if (this.socket !== socket) return;
    const command = this.waiting.shift();
    if (!command) {
      this.drop(socket, new RedisProtocolError('a reply no command asked for'));
      return;
    }
    clearTimeout(command.timer);
    if (reply instanceof RedisError) command.reject(reply);
    else command.resolve(reply);
  }

  /** Forgets `socket` (if still current) and fails every waiting command; the next one reconnects. */
  drop(socket, cause) {
    if (this.socket !== socket) return;
    this.socket = null;
    socket.destroy();
    const error = new Error(`redis ${this.host}:${this.port}: ${cause.message}`, { cause });
    for (const command of this.waiting.splice(0)) {
      clearTimeout(command.timer);
      command.reject(error);
    }
  }
}

module.exports = { encodeCommand, ReplyParser, RedisClient, RedisError, RedisProtocolError, parseRedisUrl };
