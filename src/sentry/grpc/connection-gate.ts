/**
 * Admission of TCP connections: at most `maxConnections` open at once, and at most
 * `maxConnectionsPerPeer` from one remote address. Checked at accept, before any TLS work, so a
 * flood of half-open connections costs a file descriptor for an instant, not for a handshake timeout.
 */
import type { Socket } from 'node:net';

export type GateRefusal = 'connections' | 'connections_per_peer';

export class ConnectionGate {
  private open = 0;
  private admittedTotal = 0;
  private readonly perPeer = new Map<string, number>();
  private readonly allClosedListeners = new Set<() => void>();

  constructor(private readonly limits: { maxConnections: number; maxConnectionsPerPeer: number }) {}

  get connections(): number {
    return this.open;
  }

  /** Connections admitted since start (for telling a storm from a quiet spell). */
  get admitted(): number {
    return this.admittedTotal;
  }

  /** Calls `listener` each time the last open connection closes; returns the unsubscribe function. */
  onAllClosed(listener: () => void): () => void {
    this.allClosedListeners.add(listener);
    return () => this.allClosedListeners.delete(listener);
  }

  /** Counts `socket` until it closes, or says why it is refused (the caller closes it). */
  admit(socket: Socket): GateRefusal | undefined {
    const peer = socket.remoteAddress ?? '';
    const fromPeer = this.perPeer.get(peer) ?? 0;
    if (this.open >= this.limits.maxConnections) return 'connections';
    if (fromPeer >= this.limits.maxConnectionsPerPeer) return 'connections_per_peer';
    this.open++;
    this.admittedTotal++;
    this.perPeer.set(peer, fromPeer + 1);
    socket.once('close', () => {
      this.open--;
      const left = (this.perPeer.get(peer) ?? 1) - 1;
      if (left === 0) this.perPeer.delete(peer);
      else this.perPeer.set(peer, left);
      if (this.open === 0) for (const listener of this.allClosedListeners) listener();
    });
    return undefined;
  }
}
