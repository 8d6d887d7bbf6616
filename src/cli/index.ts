/** The `nextbest` command line; bin/nextbest.js calls runCli. */
export { runCli } from './main.js';
export type { Io } from './io.js';
