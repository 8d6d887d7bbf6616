/** The seeded demo data: a profile population and a transaction history with known segments, phases and flows. */
export { demoCustomers, generateProfiles, iterateProfiles, PRODUCTS, SEGMENT_RETENTION, summarize, type DemoCustomer, type DemoOptions } from './profiles.js';
export { Random } from './random.js';
export { demoTransactionLine, iterateDemoTransactions, planDemo, type DemoPlan, type DemoTransaction, type TransactionDemoOptions } from './transactions.js';
