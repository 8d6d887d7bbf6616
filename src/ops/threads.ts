/**
 * Where a worker thread's module is: the compiled file under the build, `path` relative to
 * the source root (`rules/load-worker.js`). Once built it lies beside the modules that start
 * it; when the sources run (the test runner transforms them, a thread cannot), it is the
 * build's copy, which `npm test` makes first.
 */
export function compiledWorker(path: string): URL {
  return new URL(import.meta.url.endsWith('.ts') ? `../../dist/${path}` : `../${path}`, import.meta.url);
}
