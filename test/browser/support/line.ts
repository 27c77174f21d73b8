/** The other people in line, played from Node the way a mobile app would (docs/admission.md, "The JSON API"). */

type Json = Record<string, unknown>;

export interface Arrival {
  status: number;
  body: Json;
  /** The admission token, when the gateway let this request through. */
  token: string | null;
}

/** A request to a protected path as an app makes it (Accept: application/json). */
export async function arrive(url: string): Promise<Arrival> {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
  const token = res.headers.get('x-tidegate-token');
  const text = await res.text();
  // Let through, the answer is the origin's (HTML here); waiting, it is the gateway's JSON.
  const body = (res.headers.get('content-type') ?? '').includes('application/json') ? (JSON.parse(text) as Json) : { text };
  return { status: res.status, body, token };
}

/** Ends an admitted session (the origin or the user leaving), freeing its place. */
export async function leave(gatewayUrl: string, roomId: string, token: string): Promise<Json> {
  const res = await fetch(`${gatewayUrl}/rooms/${roomId}/leave`, {
    method: 'POST',
    headers: { 'x-tidegate-token': token },
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) throw new Error(`leave answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Json;
}

/**
 * Someone waiting with a ticket who checks in with the status endpoint every 300 ms (well within the grace period,
 * so the place is kept) until it is their turn, then holds the token.
 */
export class CheckingIn {
  token: string | null = null;
  readonly positions: number[] = [];
  /** Set if the gateway ever answered with another ticket (the place was lost and the line joined again). */
  problem: string | null = null;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly gatewayUrl: string,
    private readonly roomId: string,
    readonly ticket: string,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.token === null) {
      try {
        const res = await fetch(`${this.gatewayUrl}/rooms/${this.roomId}/status`, {
          headers: { accept: 'application/json', 'x-tidegate-ticket': this.ticket },
          signal: AbortSignal.timeout(5000),
        });
        const body = (await res.json()) as Json;
        if (body.inWaitingRoom === false && typeof body.token === 'string') this.token = body.token;
        else if (body.inWaitingRoom === true) {
          if (body.ticket !== this.ticket) this.problem = `checked in with ${this.ticket}, got ${String(body.ticket)}`;
          this.positions.push(Number(body.position));
        } else this.problem = `unexpected answer ${res.status}: ${JSON.stringify(body)}`;
      } catch (err) {
        if (!this.stopped) this.problem = `check-in failed: ${err instanceof Error ? err.message : String(err)}`;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
