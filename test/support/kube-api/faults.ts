/**
 * Fault injection switches of the test API server: error answers (500 by default) for the next N
 * matching requests, connections reset instead of answered (an API server restarting, a load
 * balancer dropping keep-alive connections), added latency, requests held until the test releases
 * them, and 409 Conflicts on the next K writes of one object. Rules
 * are checked after authentication, in the order they were added; an injected answer never
 * touches the stored objects.
 */
import { conflict, internalError, type KubeStatusError } from './status.js';
import type { RequestInfo } from './request-info.js';
import { matchableOf, requestMatches, type RequestMatch } from './request-log.js';

export interface FaultRule {
  /** Answers still to inject (Infinity for latency rules). */
  readonly remaining: number;
  /** How many requests this rule has affected. */
  readonly hits: number;
  cancel(): void;
}

/** A `hold` rule: matching requests wait until `release()` (then and afterwards they pass). */
export interface HoldRule extends FaultRule {
  /** Resolves when the first matching request is being held. */
  readonly arrived: Promise<void>;
  release(): void;
}

interface Rule extends FaultRule {
  remaining: number;
  hits: number;
  kind: 'error' | 'latency' | 'conflict' | 'hold' | 'reset';
  gate?: Promise<void>;
  onHit?: () => void;
  match?: RequestMatch;
  status?: number;
  message?: string;
  latencyMs?: number;
}

export interface ErrorFaultOptions {
  /** HTTP status of the injected answer (default 500; 429 adds `Retry-After: 1`). */
  status?: number;
  /** Default `injected fault`; a 500 reads `Internal error occurred: <message>`. */
  message?: string;
  match?: RequestMatch;
}

export class FaultInjector {
  private rules: Rule[] = [];

  /** The next `count` requests matching `opts.match` get an error Status instead of an answer. */
  failNext(count: number, opts: ErrorFaultOptions = {}): FaultRule {
    return this.add({ kind: 'error', remaining: count, status: opts.status ?? 500, message: opts.message ?? 'injected fault', match: opts.match });
  }

  /** The next `count` requests matching `match` get no answer: their connection is reset (TCP RST) as soon as they arrive. */
  resetNext(count: number, match?: RequestMatch): FaultRule {
    return this.add({ kind: 'reset', remaining: count, match });
  }

  /** Every matching request is delayed by `ms` before it is handled (until cancelled or cleared). */
  addLatency(ms: number, match?: RequestMatch): FaultRule {
    return this.add({ kind: 'latency', remaining: Infinity, latencyMs: ms, match });
  }

  /**
   * Every matching request waits before it is handled until `release()` is called: a test makes
   * "another writer acts while this request is in flight" happen in order, with no timing.
   */
  hold(match?: RequestMatch): HoldRule {
    let release = () => {};
    let arrive = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const rule = this.add({ kind: 'hold', remaining: Infinity, match, gate, onHit: arrive }) as Rule & HoldRule;
    return Object.assign(rule, {
      arrived,
      release: () => {
        rule.cancel();
        release();
      },
    });
  }

  /**
   * The next `count` updates or patches (PUT/PATCH, including `/status`) of the named object
   * answer 409 Conflict, exactly as a concurrent writer would cause; the object is unchanged.
   */
  conflictNext(count: number, target: { resource: string; namespace?: string; name: string }): FaultRule {
    return this.add({ kind: 'conflict', remaining: count, match: { ...target, verb: ['update', 'patch'] } });
  }

  clear(): void {
    this.rules = [];
  }

  /** Total added latency for a request (rules add up). */
  latencyFor(method: string, info: RequestInfo): number {
    let total = 0;
    for (const rule of this.active('latency', method, info)) {
      rule.hits += 1;
      total += rule.latencyMs ?? 0;
    }
    return total;
  }

  /** Resolves when every hold rule matching this request has been released. */
  async heldUntilReleased(method: string, info: RequestInfo): Promise<void> {
    const holds = this.active('hold', method, info);
    for (const rule of holds) {
      rule.hits += 1;
      rule.onHit?.();
    }
    await Promise.all(holds.map((r) => r.gate));
  }

  /** True when a reset rule claims this request (the server then resets its connection). */
  takeReset(method: string, info: RequestInfo): boolean {
    const rule = this.active('reset', method, info)[0];
    if (!rule) return false;
    rule.remaining -= 1;
    rule.hits += 1;
    return true;
  }

  /** The injected answer for this request, if a rule claims it. */
  take(method: string, info: RequestInfo): { error: KubeStatusError; fault: 'error' | 'conflict' } | undefined {
    const rule = this.active('error', method, info)[0] ?? this.active('conflict', method, info)[0];
    if (!rule) return undefined;
    rule.remaining -= 1;
    rule.hits += 1;
    if (rule.kind === 'conflict' && info.type) return { error: conflict(info.type, info.name ?? ''), fault: 'conflict' };
    return { error: internalError(rule.message ?? 'injected fault', rule.status), fault: 'error' };
  }

  private active(kind: Rule['kind'], method: string, info: RequestInfo): Rule[] {
    const request = matchableOf(method, info);
    return this.rules.filter((r) => r.kind === kind && r.remaining > 0 && requestMatches(request, r.match));
  }

  private add(fields: Omit<Rule, 'hits' | 'cancel'>): FaultRule {
    const rule: Rule = {
      ...fields,
      hits: 0,
      cancel: () => {
        this.rules = this.rules.filter((r) => r !== rule);
      },
    };
    this.rules.push(rule);
    return rule;
  }
}
