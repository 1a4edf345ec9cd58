/**
 * The status codes the signing threads use without loading @grpc/grpc-js (src/sentry/sign-status.ts)
 * are gRPC's own. That the threads do not load the library is checked by `npm run lint`
 * (dependency-cruiser rule `sign-thread-without-grpc`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { SignStatus } from '../../src/sentry/sign-status.js';

describe('sign-status', () => {
  it('each code is the one @grpc/grpc-js gives the same name', () => {
    const names = Object.keys(SignStatus) as Array<keyof typeof SignStatus>;
    assert.deepEqual(names.sort(), ['FAILED_PRECONDITION', 'INTERNAL', 'INVALID_ARGUMENT', 'PERMISSION_DENIED']);
    for (const name of names) assert.equal(SignStatus[name], status[name], name);
  });
});
