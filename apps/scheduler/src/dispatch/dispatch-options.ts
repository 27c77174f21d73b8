/** The dispatch code's clock (ms since the epoch): injected, so scenario tests can fix the instant. */
export const DISPATCH_NOW = Symbol('DISPATCH_NOW');
export type Now = () => number;

/** The workers' options, from the configuration (dispatch.module.ts). */
export const DISPATCH_OPTIONS = Symbol('DISPATCH_OPTIONS');
export interface DispatchOptions {
  sendConcurrency: number;
  statsFlushMs: number;
  tickMs: number;
  lockMs: number;
  /** A running campaign with no progress and no job for this long is re-driven from its checkpoints. */
  redriveAfterMs: number;
  /** How often the pacing controller decides each campaign's pace. */
  pacingTickMs: number;
  /** Dispatch partitions a new campaign is pinned to (libs/config dispatchPartitions; libs/redis dispatch-partitions.ts). */
  partitions: number;
  /** Consecutive device ids per partition block of a new campaign (DISPATCH_PARTITION_BLOCK). */
  partitionBlock: number;
}
