/**
 * Child processes of `npm start` (the three apps, a Redis server, the migration run) and what the supervisor needs
 * to stop them: each child's output is copied line by line with a `[name]` prefix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Tail, pipeLines, within } from './common';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  error?: Error;
}

/** How a stop went: it was not running, it stopped on request (exit 0), it stopped with an error, or it was killed. */
export type StopOutcome = 'not-running' | 'stopped' | 'failed' | 'killed';

/** Something the supervisor stops at shutdown. `apps` stop first (together), then the rest, newest first. */
export interface Service {
  readonly name: string;
  readonly kind: 'app' | 'infra' | 'task';
  /** Stops it and waits, bounded. */
  stop(): Promise<StopOutcome>;
  /** Last resort from a synchronous `exit` handler: ask it to stop, without waiting. */
  abandon(): void;
}

export function describeExit(info: ExitInfo): string {
  if (info.error) return `could not start: ${info.error.message}`;
  if (info.signal) return `killed by ${info.signal}`;
  return `exit code ${info.code}`;
}

export interface ManagedOptions {
  kind: Service['kind'];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * Own process group: a Ctrl-C in the terminal then reaches only the orchestrator, which stops the apps first and
   * the services they use last.
   */
  detached?: boolean;
  /** Signal that asks for a graceful stop, and how long to wait before SIGKILL. */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
}

export class ManagedProcess implements Service {
  readonly child: ChildProcess;
  /** Resolves once the process has exited and its output is flushed. */
  readonly closed: Promise<ExitInfo>;
  /** Its last output lines, for error messages. */
  readonly tail = new Tail();
  private readonly stopSignal: NodeJS.Signals;
  private readonly stopTimeoutMs: number;
  private requested = false;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    private readonly options: ManagedOptions,
  ) {
    this.stopSignal = options.stopSignal ?? 'SIGTERM';
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: options.detached ?? false,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pipeLines(this.child.stdout, name, 'out', this.tail.push);
    pipeLines(this.child.stderr, name, 'err', this.tail.push);
    this.closed = new Promise((resolve) => {
      this.child.once('error', (error) => {
        if (this.child.pid === undefined) resolve({ code: null, signal: null, error });
      });
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  get kind(): Service['kind'] {
    return this.options.kind;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Whether we asked it to stop (so its exit is expected). */
  get stopRequested(): boolean {
    return this.requested;
  }

  async stop(): Promise<StopOutcome> {
    this.requested = true;
    if (!this.running) return 'not-running';
    this.signal(this.stopSignal);
    const info = await within(this.closed, this.stopTimeoutMs, null);
    if (info) return info.code === 0 || info.signal === this.stopSignal ? 'stopped' : 'failed';
    this.signal('SIGKILL');
    await within(this.closed, 2_000, null);
    return 'killed';
  }

  abandon(): void {
    this.requested = true;
    if (this.running) this.signal(this.stopSignal);
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      // A detached child leads its own process group: signal the group, so nothing it started is left behind.
      if (this.options.detached && this.child.pid) process.kill(-this.child.pid, signal);
      else this.child.kill(signal);
    } catch {
      // exited meanwhile
    }
  }
}
