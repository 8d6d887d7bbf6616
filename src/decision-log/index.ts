/** The decision log: the DecisionLog interface and its implementations (none in memory, a Redis stream). */
export { DECISION_LOG_BUFFER, decisionLogFields, RedisDecisionLog } from './redis.js';
export { type DecisionLog, type LoggedDecision, noDecisionLog } from './store.js';
