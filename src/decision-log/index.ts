/** The decision log: every decision recorded (none kept in memory beyond the response window, a Redis stream), and found again by the responses that name it. */
export { DecisionFiles, FILE_LOG_BUFFER, type FileLogSettings, type FileLogStatus, logFiles } from './file.js';
export { MEMORY_DECISIONS, MemoryDecisionLog } from './memory.js';
export { DECISION_LOG_BUFFER, RedisDecisionLog } from './redis.js';
export {
  type AnsweredDecision,
  type DecisionEntry,
  type DecisionLog,
  type DecisionRecord,
  Generations,
  recordLine,
  toRecord,
} from './store.js';
