/** Scripted answers of a fake, per target (a token or a subscription): "answer this one with that, N times". */
export class ScriptBook<T> {
  private readonly entries = new Map<string, { answer: T; remaining: number }>();

  /** Answer `key` with `answer` the next `times` requests (every request by default). */
  set(key: string, answer: T, times = Infinity): void {
    this.entries.set(key, { answer, remaining: times });
  }

  /** The scripted answer for `key`, if any (counting it as used). */
  take(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (--entry.remaining <= 0) this.entries.delete(key);
    return entry.answer;
  }

  clear(): void {
    this.entries.clear();
  }
}
