/**
 * What a TLS server on loopback presents, read with `openssl s_client` (an oracle independent of
 * Node and Go): daprd's internal gRPC port shows the SVID it got from the sentry. TLS 1.3 sends the
 * server's chain before the client's certificate is asked for, so no client identity is needed.
 */
import { spawn } from 'node:child_process';
import { connect as tlsConnect } from 'node:tls';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

export interface PeerHandshake {
  /** The chain the server sent, leaf first, as PEM blocks. */
  chainPem: string[];
  /** openssl's whole output (for the alert a server sends when it wants a client certificate). */
  output: string;
}

export function readPeerChain(port: number, timeoutMs = 30_000): Promise<PeerHandshake> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-showcerts', '-alpn', 'h2', '-tls1_3'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => void (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => void (output += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(timer);
      const chainPem = [...output.matchAll(PEM_BLOCK)].map((m) => m[0].endsWith('\n') ? m[0] : `${m[0]}\n`);
      if (chainPem.length === 0) reject(new Error(`openssl s_client got no certificate from 127.0.0.1:${port}:\n${output.slice(-1500)}`));
      else resolve({ chainPem, output });
    });
    // Close stdin at once: s_client then ends after the handshake (and whatever alert follows).
    child.stdin.end();
  });
}

/**
 * Connects without a client certificate, sends the HTTP/2 preface and resolves with how the
 * server answered: the TLS error code it ended the connection with, or `answered` when it spoke
 * HTTP/2 back (no client certificate required).
 */
export function connectWithoutClientCertificate(port: number, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'daprd' });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('no answer');
    }, timeoutMs);
    const done = (outcome: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    socket.once('secureConnect', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    socket.once('data', () => done('answered'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    socket.once('close', () => done('closed'));
  });
}
