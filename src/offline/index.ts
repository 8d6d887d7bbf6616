/** The tools around the server, run by the command line: customer-value analytics, the seeded demo data, a rule set previewed on a population, two rule sets compared. */
export * from './analytics/index.js';
export * from './demo/index.js';
export * from './impact/index.js';
export {
  type Change,
  diffJson,
  diffRuleSets,
  type NamedChanges,
  type OfferSummary,
  type RuleSetDiff,
} from './rules-diff.js';
export { type ChannelSimulation, type Count, Simulation, type SimulationReport } from './simulate.js';
