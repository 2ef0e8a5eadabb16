/**
 * Where long work says how far it is: a line on a terminal's stderr (src/report/progress.ts),
 * or nowhere (NO_PROGRESS: --json, --quiet, stderr not a terminal). Only the shape lives here,
 * so that the movers, the demo generator and the executor can report without knowing where to.
 */
export interface Progress {
  /**
   * Between batches: `done` of `total` (null: not known) `unit` of `label`, e.g.
   * `count('archive', 1200, 5000, 'conversations')`. Throttled; the latest call wins.
   */
  count(label: string, done: number, total: number | null, unit: string): void;
  /**
   * Before one long statement that blocks the event loop: shows `label` and the time elapsed
   * against `estimatedSeconds` (null: no estimate) until the returned function is called.
   */
  during(label: string, estimatedSeconds: number | null): () => void;
  /** Clears the line (the next output starts on a clean line). */
  end(): void;
}

/** Reports nothing. */
export const NO_PROGRESS: Progress = {
  count: () => undefined,
  during: () => () => undefined,
  end: () => undefined,
};
