import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { authFailureBudget, type ImpactReports } from './api/index.js';
import { createApp, type Services } from './app.js';
import { type Config, ruleLimits } from './config.js';
import type { Counters } from './counters/index.js';
import { Arms, DecisionService } from './decision/index.js';
import { ApiError } from './errors.js';
import { FeedbackLoop, Kpis, ResponseService, Spool, type SpoolContents, spooled } from './feedback/index.js';
import { LearnedPropensity, LearningState, positiveOutcome } from './learning/index.js';
import { type DemoCustomer, demoCustomers, generateProfiles } from './offline/demo/index.js';
import { ImpactError, type ImpactSources, impactInThread } from './offline/impact/index.js';
import { Metrics } from './ops/metrics.js';
import { OutboundRuns } from './outbound/index.js';
import { CachedProfileStore, type ImportReport, loadProfileFile, MemoryProfileStore } from './profiles/index.js';
import { describeTarget } from './redis/index.js';
import {
  AuditTrail,
  compileRuleSet,
  formatIssue,
  loadRuleSet,
  logWarnings,
  type RuleLimits,
  type RuleSet,
  RuleSetManager,
  RuleSetRegistry,
} from './rules/index.js';
import { memoryStores, redisStores, type Stores } from './stores.js';

export class BootError extends Error {}

/** A path as set, and where it leads when relative: the folder the service was started in decides. */
const shown = (path: string) => (isAbsolute(path) ? path : `${path} (${resolve(path)})`);

/** Why a path set in `variable` cannot be read, and what to do, in one line. */
function unreadable(variable: string, path: string, err: NodeJS.ErrnoException, fix: string): BootError {
  const why =
    err.code === 'ENOENT' || err.code === 'ENOTDIR'
      ? 'does not exist'
      : err.code === 'EACCES' || err.code === 'EPERM'
        ? 'cannot be read by this user (permission denied)'
        : `cannot be read: ${err.message}`;
  return new BootError(`${variable}: ${shown(path)} ${why}: ${fix}`);
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Loads the profiles; answers the customers the demo pages may offer: some of the generated
 * population (none in the control group of the rule set active at start, whose answers show
 * no model at work), none of a real one.
 */
async function loadProfiles(
  config: Config,
  store: MemoryProfileStore,
  rules: RuleSetRegistry,
  log: Logger,
): Promise<DemoCustomer[]> {
  if (!config.PROFILES_FILE) {
    const profiles = generateProfiles({ customers: config.DEMO_CUSTOMERS, seed: config.DEMO_SEED });
    await store.putMany(profiles);
    log.info({ customers: config.DEMO_CUSTOMERS, seed: config.DEMO_SEED }, 'demo population generated');
    const arms = new Arms(rules);
    return demoCustomers(profiles, (id) => arms.of(id) === 'control');
  }
  const fix =
    'set PROFILES_FILE to a readable NDJSON file of profiles (`nextbest demo-data --out FILE` writes one), or unset it for the generated demo population';
  let result: ImportReport;
  try {
    if ((await stat(config.PROFILES_FILE)).isDirectory())
      throw new BootError(`PROFILES_FILE: ${shown(config.PROFILES_FILE)} is a folder, not a file: ${fix}`);
    result = await loadProfileFile(config.PROFILES_FILE, store);
  } catch (err) {
    if (err instanceof BootError) throw err;
    throw unreadable('PROFILES_FILE', config.PROFILES_FILE, err as NodeJS.ErrnoException, fix);
  }
  for (const r of result.rejected.slice(0, 20)) log.warn({ line: r.line, errors: r.errors }, 'profile line rejected');
  log.info(
    { file: config.PROFILES_FILE, imported: result.imported, rejected: result.rejectedLines },
    'profiles loaded',
  );
  return [];
}

/** The Redis this node is configured with. */
const redisTarget = (config: Config) => ({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES });

/** How long an impact report may take before it is stopped. */
const IMPACT_TIMEOUT_MS = 5 * 60_000;

/**
 * The impact report over this store's decision log (its files, or the Redis stream) and
 * TRANSACTIONS_PATH, when set: computed in a thread of its own, one at a time.
 */
function impactReports(config: Config): ImpactReports | undefined {
  const transactions = config.TRANSACTIONS_PATH;
  if (!transactions) return undefined;
  const decisions: ImpactSources['decisions'] =
    config.PROFILE_STORE === 'redis'
      ? { redis: redisTarget(config), prefix: config.REDIS_KEY_PREFIX }
      : { path: config.DECISION_LOG_DIR };
  let running = false;
  return {
    async report(window) {
      if (running)
        throw new ApiError('unavailable', 'another impact report is being computed: ask again when it is done', [], 10);
      running = true;
      try {
        return await impactInThread({ decisions, transactions, ...window }, IMPACT_TIMEOUT_MS);
      } catch (err) {
        if (err instanceof ImpactError) throw new ApiError('unavailable', `the impact report failed: ${err.message}`);
        throw err;
      } finally {
        running = false;
      }
    },
  };
}

/** The memory stores, the profiles preloaded (the embedded default), or Redis shared by every node. */
async function openStores(
  config: Config,
  rules: RuleSetRegistry,
  metrics: Metrics,
  log: Logger,
): Promise<{ stores: Stores; demo: DemoCustomer[] }> {
  const retentionDays = () => rules.retentionDays();
  if (config.PROFILE_STORE === 'redis')
    return { stores: await redisStores(config, metrics, log, retentionDays), demo: [] };
  const memory = new MemoryProfileStore();
  const demo = await loadProfiles(config, memory, rules, log);
  metrics.profilesLoaded.set(await memory.size());
  return { stores: memoryStores(config, memory, retentionDays, metrics, log), demo };
}

/** Takes back what an earlier stop left in the spool: its events wait in the buffer, its counts with the next ones. */
async function takeSpool(
  spool: Spool,
  responses: ResponseService,
  counters: Readonly<Record<string, Counters>>,
  log: Logger,
): Promise<void> {
  let taken: Awaited<ReturnType<Spool['take']>>;
  try {
    taken = await spool.take();
  } catch (err) {
    log.error({ err, dir: spool.dir }, 'the spool could not be read; its files are left for the next start');
    return;
  }
  if (taken.files === 0) return;
  responses.restore(taken.responses);
  for (const [name, backlog] of Object.entries(taken.counters)) counters[name]?.restore(backlog);
  log.info({ ...spooled(taken), files: taken.files }, 'delivering what an earlier stop left in the spool');
}

/**
 * At the end of a stop: what could not be written (response events, counts) goes to the
 * spool, for the next start to deliver. False only when something could be kept nowhere.
 */
async function keepUnwritten(
  spool: Spool | undefined,
  responses: ResponseService,
  counters: Readonly<Record<string, Counters>>,
  log: Logger,
): Promise<boolean> {
  const backlogs = Object.entries(counters).flatMap(([name, c]) => {
    const backlog = c.backlog();
    return backlog ? [[name, backlog] as const] : [];
  });
  const contents: SpoolContents = { responses: responses.unwritten(), counters: Object.fromEntries(backlogs) };
  const { events, counts } = spooled(contents);
  if (events + counts === 0) return true;
  if (!spool) {
    log.error({ events, counts }, 'response events and counts still buffered at shutdown are lost');
    return false;
  }
  try {
    const file = await spool.write(contents);
    log.warn(
      { events, counts, file },
      'response events and counts still buffered at shutdown are kept in the spool; the next start delivers them',
    );
    return true;
  } catch (err) {
    log.error(
      { err, events, counts, dir: spool.dir },
      'response events and counts still buffered at shutdown are lost: the spool could not be written',
    );
    return false;
  }
}

async function loadCompiled(dir: string, variable: string, log: Logger, limits: RuleLimits): Promise<RuleSet> {
  // a folder that is not there is one line, not a list of the files it would hold
  const fix = `set ${variable} to the folder of a rule set (manifest.json, arbitration.json, contact-policy.json, offers/), like the shipped ./rules`;
  try {
    if (!(await stat(dir)).isDirectory())
      throw new BootError(`${variable}: ${shown(dir)} is a file, not a folder: ${fix}`);
  } catch (err) {
    if (err instanceof BootError) throw err;
    throw unreadable(variable, dir, err as NodeJS.ErrnoException, fix);
  }
  const loaded = await loadRuleSet(dir, limits);
  if (!loaded.ok)
    throw new BootError(
      `${variable}: the rule set in ${dir} is invalid:\n${loaded.errors.map(formatIssue).join('\n')}`,
    );
  logWarnings(log, loaded.warnings);
  return compileRuleSet(loaded.source, { warnings: loaded.warnings });
}

/** Builds every service from the configuration; refuses to start on a bad rule set. */
export async function buildServices(config: Config, log: Logger, metrics = new Metrics()): Promise<Services> {
  const rules = new RuleSetRegistry({ versions: config.RULESET_VERSIONS, megabytes: config.RULESET_VERSIONS_MB });
  const limits = ruleLimits(config);
  const ruleset = await loadCompiled(config.RULES_DIR, 'RULES_DIR', log, limits);
  rules.activate(ruleset);
  metrics.rulesetInfo.labels(ruleset.version).set(1);
  const challenger = config.CHALLENGER_RULES_DIR
    ? {
        ruleset: await loadCompiled(config.CHALLENGER_RULES_DIR, 'CHALLENGER_RULES_DIR', log, limits),
        share: config.CHALLENGER_SHARE,
      }
    : undefined;
  if (challenger?.ruleset.version === ruleset.version) {
    throw new BootError(
      `CHALLENGER_RULES_DIR: the challenger is version ${ruleset.version}, the same as RULES_DIR; a challenger needs content of its own`,
    );
  }
  if (challenger) rules.pin(challenger.ruleset);

  const { stores, demo } = await openStores(config, rules, metrics, log);
  // the memory store is read directly; a store across the network gets the cache in front
  const profiles =
    stores.profiles instanceof MemoryProfileStore
      ? stores.profiles
      : new CachedProfileStore(
          stores.profiles,
          { max: config.PROFILE_CACHE_SIZE, ttlMs: config.PROFILE_CACHE_TTL_MS },
          metrics.cacheCounter,
        );
  if (profiles instanceof CachedProfileStore) stores.listen(profiles);

  const learning = new LearningState();
  const shared = config.PROFILE_STORE === 'redis' ? stores.counters('learning') : undefined;
  const kpiCounters = stores.counters('kpis');
  const kpis = new Kpis(kpiCounters, metrics);
  const counters: Record<string, Counters> = { kpis: kpiCounters, ...(shared && { learning: shared }) };
  const arms = new Arms(rules, challenger);
  // the service tells the loop of each decision; outcomes are tallied under the same arms
  const feedback = new FeedbackLoop({ learning, shared, kpis, profiles, rules, arms, log });
  const model = new LearnedPropensity(learning);
  const decisions = new DecisionService(rules, profiles, stores.contacts, model, metrics, log, {
    decisionLog: stores.decisionLog,
    arms,
    onDecision: (d) => feedback.decided(d),
    // a read and a reservation, each within the deadline; no retry starts past two deadlines
    budgetMs: 2 * config.REDIS_DEADLINE_MS,
  });
  const responses = new ResponseService(
    stores.contacts,
    stores.decisionLog,
    config.RESPONSE_BUFFER_SIZE,
    metrics,
    log,
    {
      positive: (channel) => positiveOutcome(rules.active?.source.arbitration.learning, channel),
      onStored: (stored) => feedback.stored(stored),
    },
  );
  // with Redis, what a stop could not write waits in local files for the next start
  const spool =
    config.PROFILE_STORE === 'redis'
      ? new Spool(config.SPOOL_DIR, `${describeTarget(redisTarget(config))} ${config.REDIS_KEY_PREFIX}`, log)
      : undefined;
  if (spool) await takeSpool(spool, responses, counters, log);
  const audit = new AuditTrail();
  const manager = new RuleSetManager(config.RULES_DIR, rules, metrics, log, audit, stores.audit, limits, {
    timeoutMs: config.RULES_RELOAD_TIMEOUT_MS,
    heapMb: config.RULES_RELOAD_HEAP_MB,
  });
  manager.started();
  if (config.RULES_WATCH) await manager.watch();
  // with Redis, every node learns from every node's outcomes: a copy refreshed in the background
  const sync = shared ? setInterval(() => void feedback.sync(), config.LEARNING_SYNC_MS) : undefined;
  sync?.unref();
  await feedback.sync();
  const outbound = new OutboundRuns({
    stores: {
      profiles: stores.profiles,
      contacts: stores.contacts,
      decisionLog: stores.decisionLog,
      onDecision: (d) => feedback.decided(d),
    },
    records: stores.runRecords((week) => join(config.OUTBOUND_DIR, week)),
    ruleset: () => rules.active,
    learning: () => learning.entries(),
    dir: config.OUTBOUND_DIR,
    log,
    // in memory a run shares this thread with the decisions, letting them in between its batches;
    // with Redis it runs in a thread of its own
    pause: () => new Promise((resolve) => setImmediate(resolve)),
    batchSize: config.OUTBOUND_BATCH,
    thread:
      config.PROFILE_STORE === 'redis'
        ? {
            redis: { target: redisTarget(config), prefix: config.REDIS_KEY_PREFIX },
            decisionLogMaxLen: config.DECISION_LOG_MAXLEN,
            rest: config.OUTBOUND_REST,
          }
        : undefined,
  });
  return {
    config,
    rules,
    manager,
    outbound,
    audit,
    profiles,
    decisions,
    responses,
    kpis,
    impact: impactReports(config),
    metrics,
    log,
    redis: stores.redis,
    decisionLog: stores.decisionLog,
    contacts: stores.contacts,
    readiness: { draining: false },
    demoCustomers: demo,
    rateWindows: stores.rateWindows,
    authFailures: authFailureBudget(config.AUTH_FAILURES_PER_MINUTE, metrics, log),
    version: await packageVersion(),
    async close() {
      clearInterval(sync);
      manager.close();
      // the runs under way stop at a checkpoint before the stores they write close
      await outbound.stop();
      // buffered events first: they need the connections the store closes
      await responses.close();
      await feedback.settled();
      await stores.close();
      return keepUnwritten(spool, responses, counters, log);
    },
  };
}

export { createApp };
