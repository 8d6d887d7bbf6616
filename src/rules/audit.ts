/** One change, or refused change, of the active rule set. */
export interface AuditEntry {
  readonly at: string;
  /** who asked: `api <scope> key <fingerprint>` (plus the X-Nextbest-Actor header when sent), `file watch`, `start` */
  readonly who: string;
  /** the X-Request-Id of the API request that asked, when one did */
  readonly requestId?: string | undefined;
  readonly action: 'reload' | 'activate';
  readonly result: 'activated' | 'rolled_back' | 'refused';
  /** the version active after the action, and the one before it */
  readonly version: string;
  readonly previous: string | null;
  readonly hash: string | null;
  /** what changed, in a line: offers added, removed, changed; or why it was refused */
  readonly summary: string;
}

/** Where audit entries go besides the log: the memory ring always, Redis when there is one. */
export type AuditSink = (entry: AuditEntry) => void;

/** The newest entries, for GET /v1/rulesets. */
export class AuditTrail {
  private readonly entries: AuditEntry[] = [];

  constructor(private readonly keep = 100) {}

  add(entry: AuditEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.keep) this.entries.shift();
  }

  latest(): readonly AuditEntry[] {
    return [...this.entries].reverse();
  }
}
