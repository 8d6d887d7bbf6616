import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { createApp, type Services } from './app.js';
import type { Config } from './config.js';
import { Arms, DecisionService } from './decision/index.js';
import { FeedbackLoop, Kpis, ResponseService } from './feedback/index.js';
import { LearnedPropensity, LearningState, positiveOutcome } from './learning/index.js';
import { type DemoCustomer, demoCustomers, generateProfiles } from './offline/demo/index.js';
import { Metrics } from './ops/metrics.js';
import { CachedProfileStore, type ImportReport, loadProfileFile, MemoryProfileStore } from './profiles/index.js';
import {
  AuditTrail,
  compileRuleSet,
  formatIssue,
  loadRuleSet,
  type RuleSet,
  RuleSetManager,
  RuleSetRegistry,
} from './rules/index.js';
import { memoryStores, redisStores, type Stores } from './stores.js';

export class BootError extends Error {}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Loads the profiles; answers the customers the demo pages may offer: some of the generated population, none of a real one. */
async function loadProfiles(config: Config, store: MemoryProfileStore, log: Logger): Promise<DemoCustomer[]> {
  if (!config.PROFILES_FILE) {
    const profiles = generateProfiles({ customers: config.DEMO_CUSTOMERS, seed: config.DEMO_SEED });
    await store.putMany(profiles);
    log.info({ customers: config.DEMO_CUSTOMERS, seed: config.DEMO_SEED }, 'demo population generated');
    return demoCustomers(profiles);
  }
  let result: ImportReport;
  try {
    result = await loadProfileFile(config.PROFILES_FILE, store);
  } catch (err) {
    throw new BootError(`PROFILES_FILE: cannot read ${config.PROFILES_FILE}: ${(err as Error).message}`);
  }
  for (const r of result.rejected.slice(0, 20)) log.warn({ line: r.line, errors: r.errors }, 'profile line rejected');
  log.info(
    { file: config.PROFILES_FILE, imported: result.imported, rejected: result.rejectedLines },
    'profiles loaded',
  );
  return [];
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
  const demo = await loadProfiles(config, memory, log);
  metrics.profilesLoaded.set(await memory.size());
  return { stores: memoryStores(config, memory, retentionDays, metrics, log), demo };
}

async function loadCompiled(dir: string, variable: string, log: Logger): Promise<RuleSet> {
  const loaded = await loadRuleSet(dir);
  if (!loaded.ok)
    throw new BootError(
      `${variable}: the rule set in ${dir} is invalid:\n${loaded.errors.map(formatIssue).join('\n')}`,
    );
  for (const w of loaded.warnings) log.warn(formatIssue(w));
  return compileRuleSet(loaded.source);
}

/** Builds every service from the configuration; refuses to start on a bad rule set. */
export async function buildServices(config: Config, log: Logger, metrics = new Metrics()): Promise<Services> {
  const rules = new RuleSetRegistry();
  const ruleset = await loadCompiled(config.RULES_DIR, 'RULES_DIR', log);
  rules.activate(ruleset);
  metrics.rulesetInfo.labels(ruleset.version).set(1);
  const challenger = config.CHALLENGER_RULES_DIR
    ? {
        ruleset: await loadCompiled(config.CHALLENGER_RULES_DIR, 'CHALLENGER_RULES_DIR', log),
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
  const kpis = new Kpis(stores.counters('kpis'), metrics);
  const arms = new Arms(rules, challenger);
  // the service tells the loop of each decision; outcomes are tallied under the same arms
  const feedback = new FeedbackLoop({ learning, shared, kpis, profiles, rules, arms, log });
  const decisions = new DecisionService(
    rules,
    profiles,
    stores.contacts,
    new LearnedPropensity(learning),
    metrics,
    log,
    {
      decisionLog: stores.decisionLog,
      arms,
      onDecision: (d) => feedback.decided(d),
      // a read and a reservation, each within the deadline; no retry starts past two deadlines
      budgetMs: 2 * config.REDIS_DEADLINE_MS,
    },
  );
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
  const audit = new AuditTrail();
  const manager = new RuleSetManager(config.RULES_DIR, rules, metrics, log, audit, stores.audit);
  manager.started();
  if (config.RULES_WATCH) await manager.watch();
  // with Redis, every node learns from every node's outcomes: a copy refreshed in the background
  const sync = shared ? setInterval(() => void feedback.sync(), config.LEARNING_SYNC_MS) : undefined;
  sync?.unref();
  await feedback.sync();
  return {
    config,
    rules,
    manager,
    audit,
    profiles,
    decisions,
    responses,
    kpis,
    metrics,
    log,
    redis: stores.redis,
    decisionLog: stores.decisionLog,
    contacts: stores.contacts,
    readiness: { draining: false },
    demoCustomers: demo,
    rateWindows: stores.rateWindows,
    version: await packageVersion(),
    async close() {
      clearInterval(sync);
      manager.close();
      // buffered events first: they need the connections the store closes
      const lost = await responses.close();
      await stores.close();
      return lost === 0;
    },
  };
}

export { createApp };
