/** The `nextbest` command line; bin/nextbest.js calls runCli. */

export type { Io } from './io.js';
export { runCli } from './main.js';
