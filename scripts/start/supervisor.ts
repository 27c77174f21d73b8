/**
 * Owns everything `npm start` started and stops it in order: the apps first (together), then Redis and PostgreSQL
 * if we started them, then exits. Startup steps call `checkpoint()` so nothing new starts once a stop has begun.
 */
import { Aborted, log, seconds, warn } from './common';
import type { Service } from './children';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class Supervisor {
  private readonly services: Service[] = [];
  private stopping: Promise<never> | null = null;

  constructor() {
    // Last resort (a crash in the orchestrator itself): ask everything we started to stop on its own.
    process.on('exit', () => {
      for (const s of this.services) s.abandon();
    });
  }

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  /** Registers a started (or starting) service; register before waiting on it, so a stop meanwhile reaches it. */
  add<T extends Service>(service: T): T {
    this.services.push(service);
    return service;
  }

  /** Throws {@link Aborted} once a stop has begun. */
  checkpoint(): void {
    if (this.stopping) throw new Aborted('stopping');
  }

  /** SIGINT, SIGTERM and SIGHUP stop everything and exit 0 (1 if something had to be killed). */
  handleSignals(): void {
    for (const signal of SIGNALS) {
      process.on(signal, () => {
        // Repeats are ignored: under `npm start` one Ctrl-C arrives twice (from the terminal, and forwarded by npm).
        if (this.stopping) return;
        log(`${signal} received`);
        void this.shutdown(0);
      });
    }
  }

  /**
   * Stops everything and exits with `code`, or 1 if a service did not stop cleanly. `why` is repeated as the last line
   * so a failure's cause is not buried under shutdown logs.
   */
  shutdown(code: number, why?: string): Promise<never> {
    this.stopping ??= this.stopAll(code, why);
    return this.stopping;
  }

  private async stopAll(code: number, why: string | undefined): Promise<never> {
    const began = Date.now();
    const problems: string[] = [];
    const note = (name: string, outcome: string) => {
      if (outcome === 'killed') problems.push(`${name} did not stop in time and was killed`);
      if (outcome === 'failed') problems.push(`${name} exited with an error while stopping`);
    };
    const apps = this.services.filter((s) => s.kind === 'app');
    const rest = this.services.filter((s) => s.kind !== 'app').reverse();
    if (this.services.length > 0) log('stopping…');
    await Promise.all(apps.map(async (app) => note(app.name, await app.stop().catch(() => 'failed' as const))));
    for (const service of rest) {
      const outcome = await service.stop().catch((err: unknown) => {
        warn(`could not stop ${service.name}: ${err instanceof Error ? err.message : String(err)}`);
        return 'failed' as const;
      });
      note(service.name, outcome);
    }
    if (this.services.length > 0) log(`stopped in ${seconds(Date.now() - began)}`);
    for (const p of problems) warn(`shutdown was not clean: ${p}`);
    if (why) (code === 0 ? log : warn)(why);
    process.exit(code === 0 && problems.length > 0 ? 1 : code);
  }
}
