// Every job reads the time through a Clock, so that tests can move through days without sleeping.
export interface Clock {
  /** Unix milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export const DAY_MS = 24 * 3600_000;

/** A clock that moves only when told to. */
export class FakeClock implements Clock {
  constructor(private ms: number = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.ms;
  }

  set(ms: number): this {
    this.ms = ms;
    return this;
  }

  advance(ms: number): this {
    this.ms += ms;
    return this;
  }

  advanceDays(days: number): this {
    return this.advance(days * DAY_MS);
  }
}
