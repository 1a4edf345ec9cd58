/**
 * Time is injected (DEVELOPERS.md): the core never reads the wall clock itself, so expiry and
 * rotation logic is tested with a fixed or hand-advanced clock instead of by waiting.
 */
export interface Clock {
  /** The current instant. */
  now(): Date;
}

/** The real clock, used only at the edges (CLI entry, server start-up). */
export const systemClock: Clock = {
  now: () => new Date(),
};

/** A clock that stands still until told to move; for tests and dry runs. */
export class FixedClock implements Clock {
  private current: number;

  constructor(start: Date | number) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves the clock forward by `ms` milliseconds (negative moves it back). */
  advance(ms: number): void {
    this.current += ms;
  }

  set(to: Date): void {
    this.current = to.getTime();
  }
}
