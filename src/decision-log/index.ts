/** The decision log: the DecisionLog interface and its implementations (none in memory, a Redis stream). */
export { DECISION_LOG_BUFFER, decisionLogFields, RedisDecisionLog } from './redis.js';
export { noDecisionLog, type DecisionLog, type LoggedDecision } from './store.js';
