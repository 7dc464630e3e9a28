'use strict';
// A minimal stockd client: newline-delimited JSON-RPC 2.0 over TCP, using
// only Node's `net` module.
//
// stockd answers the requests of one connection in the order they were sent,
// so responses are matched to a FIFO of pending calls (and the id is checked).
// A call that gets no answer within `timeoutMs` fails every pending call and
// closes the connection: after a lost answer the order can no longer be
// trusted. Reconnect and retry (a `reserve` with the same `order_id` is safe
// to retry; see "Failure modes" in the stockd README).

const net = require('net');

// A JSON-RPC error from stockd: `code` (number), `reason` (data.reason, the
// thing to branch on) and `data` (everything stockd said about it).
class StockdError extends Error {
  constructor(method, error) {
    const data = error && typeof error.data === 'object' && error.data !== null ? error.data : {};
    const code = error && typeof error.code === 'number' ? error.code : -1;
    const message = (error && error.message) || 'error';
    super(`${method}: ${message} (code ${code}${data.reason ? `, ${data.reason}` : ''})`);
    this.name = 'StockdError';
    this.method = method;
    this.code = code;
    this.reason = data.reason;
    this.data = data;
  }
}

// A transport failure (timeout, connection closed): `code` is a string,
// `outcomeUnknown` says whether the call may have been applied.
function transportError(code, message, outcomeUnknown) {
  const err = new Error(message);
  err.code = code;
  err.outcomeUnknown = outcomeUnknown;
  return err;
}

class StockdClient {
  constructor({ timeoutMs = 5000 } = {}) {
    this.timeoutMs = timeoutMs;
    this.socket = null;
    this.nextId = 1;
    this.pending = []; // {id, method, resolve, reject, sentAt}, oldest first
    this.buffer = '';
    this.timer = null;
    this.closed = false;
  }

  // Resolves once the connection is open.
  connect(host = '127.0.0.1', port = 7400) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const onConnectError = (err) => reject(err);
      socket.once('error', onConnectError);
      socket.once('connect', () => {
        socket.removeListener('error', onConnectError);
        socket.setNoDelay(true);
        socket.setEncoding('utf8'); // a multi-byte character split across chunks stays whole
        socket.on('data', (chunk) => this._onData(chunk));
        socket.on('error', (err) => this._failAll(transportError(err.code || 'ESOCKET', err.message, true)));
        socket.on('close', () =>
          this._failAll(transportError('ECLOSED', 'connection to stockd closed', true)));
        this.socket = socket;
        resolve(this);
      });
    });
  }

  // Sends one request line; resolves with `result`, rejects with a
  // StockdError for a JSON-RPC error or a transport error.
  call(method, params) {
    if (this.socket === null || this.closed) {
      return Promise.reject(transportError('ENOTCONN', 'not connected to stockd', false));
    }
    const id = this.nextId++;
    const request = { jsonrpc: '2.0', id, method };
    if (params !== undefined) request.params = params;
    return new Promise((resolve, reject) => {
      this.pending.push({ id, method, resolve, reject, sentAt: Date.now() });
      if (this.pending.length === 1) this._armTimer();
      this.socket.write(JSON.stringify(request) + '\n');
    });
  }

  close() {
    if (this.socket !== null && !this.closed) this.socket.end();
    this._failAll(transportError('ECLOSED', 'client closed', true));
  }

  _onData(chunk) {
    this.buffer += chunk;
    let nl;
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim() !== '') this._onLine(line);
      if (this.closed) return;
    }
  }

  _onLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      this._protocolError(`stockd sent a line that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    const call = this.pending[0];
    if (call === undefined) {
      this._protocolError(`stockd sent an answer nobody asked for: ${line.slice(0, 200)}`);
      return;
    }
    // id null: stockd could not tie the error to a request (connection cap,
    // oversized line); it is about the oldest call, and the connection is
    // about to close.
    if (msg.id !== call.id && msg.id !== null) {
      this._protocolError(`answer id ${msg.id} does not match request id ${call.id}`);
      return;
    }
    this.pending.shift();
    this._armTimer();
    if (msg.error !== undefined) call.reject(new StockdError(call.method, msg.error));
    else call.resolve(msg.result);
  }

  _protocolError(message) {
    this._failAll(transportError('EPROTO', message, true));
  }

  // One timer, for the oldest pending call.
  _armTimer() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const head = this.pending[0];
    const wait = Math.max(0, head.sentAt + this.timeoutMs - Date.now());
    this.timer = setTimeout(() => {
      this._failAll(transportError('ETIMEDOUT',
        `${head.method}: no answer from stockd within ${this.timeoutMs} ms`, true));
    }, wait);
  }

  // Rejects every pending call and closes the connection for good.
  _failAll(err) {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.closed = true;
    const pending = this.pending;
    this.pending = [];
    for (const call of pending) call.reject(err);
    if (this.socket !== null) this.socket.destroy();
  }
}

module.exports = { StockdClient, StockdError };
