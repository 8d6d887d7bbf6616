import type { Result, Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';

/** Method and path pairs remembered; the memory starts over past this (a clear is cheaper than an LRU's upkeep). */
const MOST_PATHS = 1_000;
/** Paths longer than this are matched each time. */
const LONGEST_PATH = 256;

/**
 * hono's default router with its answers remembered by method and path. Some of the routes
 * here leave hono on its TrieRouter, which walks the tree again for every request (most of a
 * microsecond for POST /v1/decisions); once the routes are added an answer depends on the
 * method and the path alone, and hono only reads it.
 */
export class RememberingRouter<T> implements Router<T> {
  private readonly router: Router<T> = new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] });
  /** by method, then path */
  private answers = new Map<string, Map<string, Result<T>>>();
  private remembered = 0;

  get name(): string {
    return this.router.name;
  }

  add(method: string, path: string, handler: T): void {
    this.forget();
    this.router.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const answer = this.answers.get(method)?.get(path);
    if (answer !== undefined) return answer;
    const found = this.router.match(method, path);
    // a long path is no route's: not worth a place (a scan of random paths would only churn them)
    if (path.length > LONGEST_PATH) return found;
    if (this.remembered >= MOST_PATHS) this.forget();
    let byPath = this.answers.get(method);
    if (byPath === undefined) this.answers.set(method, (byPath = new Map()));
    byPath.set(path, found);
    this.remembered++;
    return found;
  }

  private forget(): void {
    this.answers = new Map();
    this.remembered = 0;
  }
}
