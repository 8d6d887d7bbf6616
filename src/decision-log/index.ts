/** The decision log: every decision recorded (none kept in memory beyond the response window, a Redis stream), and found again by the responses that name it. */
export { MEMORY_DECISIONS, MemoryDecisionLog } from './memory.js';
export { DECISION_LOG_BUFFER, RedisDecisionLog } from './redis.js';
export {
  type AnsweredDecision,
  type DecisionEntry,
  type DecisionLog,
  type DecisionRecord,
  Generations,
  toRecord,
} from './store.js';
