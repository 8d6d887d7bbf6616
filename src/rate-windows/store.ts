/** The window of every limit: requests per key per minute. */
export const RATE_WINDOW_MS = 60_000;

/**
 * Requests per key in the current window. `hit` counts one and answers how many the window
 * holds so far — every node's, as far as this node knows, when the counts are shared.
 */
export interface WindowCounts {
  hit(keyId: string, windowStart: number): number;
  close(): Promise<void>;
}
