/** A clock a test moves by hand, shared by a provider and its fake so token ages are tested without waiting. */
export class ManualClock {
  constructor(private ms: number = Date.UTC(2026, 0, 15, 12, 0, 0)) {}

  /** Pass this as a provider's or a fake's `clock`. */
  readonly now = (): number => this.ms;

  advance(ms: number): void {
    this.ms += ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }
}
