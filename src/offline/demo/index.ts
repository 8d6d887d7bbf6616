/** The seeded demo data: a profile population and a transaction history with known segments, phases and flows. */
export {
  type DemoCustomer,
  type DemoOptions,
  demoCustomers,
  generateProfiles,
  iterateProfiles,
  PRODUCTS,
  SEGMENT_RETENTION,
  summarize,
} from './profiles.js';
export { Random } from './random.js';
export {
  type DemoPlan,
  type DemoTransaction,
  demoTransactionLine,
  iterateDemoTransactions,
  planDemo,
  type TransactionDemoOptions,
} from './transactions.js';
export {
  iterateWorld,
  WORLD_ACTIVE,
  WORLD_CONTROL_SHARE,
  WORLD_DECISION_DAYS,
  WORLD_EFFECT_POINTS,
  WORLD_START,
  WORLD_WINDOW_DAYS,
  type WorldCustomer,
  type WorldOptions,
  worldEffect,
  worldRuleSet,
} from './world.js';
