// The storm's floor: what TLS + HTTP/2 alone cost in Node on this machine. Same shape as
// `warden sentry --workers N` (node:cluster, SCHED_NONE, UV_TCP_SINGLE_ACCEPT, our own listener
// with a 4,096 backlog, TLS 1.3 with the given key and chain, h2 only), but every call gets a
// fixed gRPC reply of the sentry's response size at once: no CSR parsing, no signing.
//
//   node bench/support/http2-floor-server.mjs '{"workers":2,"keyFile":…,"certFile":…,"replyBytes":1660}'
//
// Prints {"port":P} on stdout once every worker listens. Started by bench/grpc-h2load.ts.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { constants, createSecureServer } from 'node:http2';
import { createServer } from 'node:net';

const config = JSON.parse(process.argv[2] ?? '{}');

// One worker: one process, as `warden sentry --workers 1` is (a cluster primary would add ~58 MiB of
// RSS the sentry does not have, flattering the sentry's peak-over-floor ratio).
if (config.workers === 1) {
  const listener = serve(0, () => process.stdout.write(`${JSON.stringify({ port: listener.address().port })}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let ready = 0;
  let port = 0;
  // A free port chosen once, so every worker binds the same one.
  const probe = createServer().listen(0, '127.0.0.1', () => {
    port = probe.address().port;
    probe.close(() => {
      for (let i = 0; i < config.workers; i++) {
        cluster.fork({ FLOOR_PORT: String(port), UV_TCP_SINGLE_ACCEPT: '1' }).on('message', () => {
          if (++ready === config.workers) process.stdout.write(`${JSON.stringify({ port })}\n`);
        });
      }
    });
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGKILL');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  serve(Number(process.env.FLOOR_PORT), () => process.send?.('listening'));
  process.on('disconnect', () => process.exit(0));
}

/** Serves the fixed reply on `port` (0: any); returns the listening socket server. */
function serve(port, listening) {
  const message = Buffer.alloc(config.replyBytes, 0x41);
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  const server = createSecureServer({
    key: readFileSync(config.keyFile), cert: readFileSync(config.certFile), ALPNProtocols: ['h2'], allowHTTP1: false,
  });
  server.on('unknownProtocol', (socket) => socket.destroy());
  server.on('tlsClientError', () => {});
  server.on('session', (session) => session.on('error', () => {}));
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.resume();
    stream.once('end', () => {
      stream.respond({ [constants.HTTP2_HEADER_STATUS]: 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
      stream.end(framed);
    });
  });
  const listener = createServer({ noDelay: true }, (socket) => server.emit('connection', socket));
  return listener.listen({ host: '127.0.0.1', port, backlog: 4096 }, listening);
}
