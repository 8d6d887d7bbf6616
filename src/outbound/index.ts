/** Outbound journeys: each week's contacts decided in batch by the inbound engine, under channel capacity. */

export { type Allocation, type AllocationInput, allocate, greedy } from './allocate.js';
export { type CustomerWeek, decideCustomer, outboundDecisionId } from './customer.js';
export { csvName, DECISIONS_FILE, LEAD_COLUMNS } from './files.js';
export { type ExitReason, journeyMoves } from './journeys.js';
export { FolderRecords, RedisRecords, RUN_FILE, type RunRecord, type RunRecords } from './records.js';
export { type RedisRunTarget, withRedisRun } from './redis-run.js';
export { RunRefused, type RunRequest, type RunStores, runWeek } from './run.js';
export { OutboundRuns, RunAskError } from './runs.js';
export { parseWeek, WEEK_FORMAT, type Week, weekAt, weekOf } from './week.js';
