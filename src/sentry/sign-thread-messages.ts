/** Messages between the sentry's main thread and its signing threads (sign-threads.ts, sign-thread.ts). */
import type { BundleTexts } from '../core/bundle-texts.js';
import type { ProfileVersion } from '../core/profile.js';
import type { IssuedLeaf, LeafRequest } from './issue-leaf.js';
import type { SignFailureReason } from './metrics.js';

export type ToSignThread =
  | { type: 'ca'; texts: BundleTexts; workloadTtlMs: number; clockSkewMs: number; profile: ProfileVersion }
  | { type: 'issue'; id: number; req: LeafRequest }
  /** A full garbage collection of the thread's own heap (memory-release.ts), answered by `collected`. */
  | { type: 'gc'; id: number };

export type FromSignThread =
  | { type: 'issued'; id: number; leaf: IssuedLeaf }
  | { type: 'failed'; id: number; status: number; message: string; reason: SignFailureReason; cause?: string }
  | { type: 'collected'; id: number };
