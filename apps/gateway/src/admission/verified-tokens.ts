import type { Admission } from '@tidegate/admission';

/** Entries kept at most: about 1.5 MB of tokens and admissions. */
const DEFAULT_MAX_ENTRIES = 4096;

/**
 * Admission tokens this gateway has verified, until they expire. An admitted client sends its token with every
 * request, and checking the ES256 signature each time was a third of an admitted request's CPU (docs/benchmarks.md,
 * gateway). Only a token that verified is kept, under its exact spelling (the verifier accepts one spelling per
 * token), and it is taken as verified only for the room it was verified for and only before its expiry, exactly as
 * the verifier would judge it; anything else goes to the verifier. Bounded: the oldest entry leaves first.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, Admission>();

  constructor(
    private readonly verifier: (token: string, roomId: string) => Promise<Admission>,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The token's admission, or the verifier's error. */
  async verify(token: string, roomId: string): Promise<Admission> {
    const known = this.entries.get(token);
    // jose's rule: a token is expired once its exp (seconds) is not after the current whole second.
    if (known && known.roomId === roomId && known.expiresAt > Math.floor(this.nowMs() / 1000)) return known;
    const admission = await this.verifier(token, roomId);
    this.entries.delete(token);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, admission);
    return admission;
  }

  get size(): number {
    return this.entries.size;
  }
}
