// The types of build-state.js, for the tests that import it.
export const CONFIG_FILES: readonly string[];
export const STAMP: string;
export const FAILED: string;
export const BUILD_INFO: string;
export const TSC_ARGS: readonly string[];
export function buildState(root: string): { reason: string | null; missing: boolean };
export function tscPath(root: string): string | undefined;
export function build(root: string, options?: { full?: boolean }): number;
