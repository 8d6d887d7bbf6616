import { runDecisions } from './decisions.js';
import { runDemoData } from './demo-data.js';
import { runImpact } from './impact.js';
import type { Io } from './io.js';
import { runPortfolio } from './portfolio.js';
import { runProfiles } from './profiles.js';
import { runRules } from './rules.js';
import { runSimulate } from './simulate.js';

const USAGE = `nextbest — next-best-action decisioning

usage:
  nextbest decisions export [--from DATE] [--to DATE] [--dir DIR | --redis URL]
                                                                the decision log as NDJSON records (files or the Redis stream)
  nextbest demo-data [--customers N] [--seed S] [--out FILE]   synthetic demo profiles as NDJSON
  nextbest demo-data --transactions [--customers N] [--seed S] [--as-of DATE] [--out FILE]
                                                                a synthetic 3-year transaction history as NDJSON
  nextbest profiles import FILE [--redis URL | --cluster HOST:PORT,...] [--json]
                                                                load NDJSON profiles into Redis
  nextbest profiles build --transactions FILE --out FILE [--as-of DATE] [--new-days N] [--lapsed-days N] [--at-risk X] [--consents LIST]
                                                                profiles (segment, CLV, churn score, phase) from transactions
  nextbest impact (--decisions FILE|DIR | --redis URL) --transactions FILE [--from DATE] [--to DATE] [--outcome-days N] [--as-of DATE] [--json]
                                                                revenue, activity and retention against the control group,
                                                                with 95 % intervals and CUPED
  nextbest portfolio --transactions FILE [--as-of DATE] [--json] [--strict]
                                                                customer flows, value segments, retention and CLV
                                                                from NDJSON transactions
  nextbest rules validate [DIR] [--json]                        check a rule set; errors as file:line:col
  nextbest rules schemas [DIR] [--check]                        regenerate the editor JSON Schemas
  nextbest rules diff DIR_A DIR_B [--json]                      offers, weights, levers and policy changed from A to B
  nextbest simulate --rules DIR --profiles FILE [--channel C] [--context KEY=VALUE ...] [--placement P] [--baseline DIR] [--json]
                                                                preview a rule set on a population: top offers
                                                                by phase × segment, shift against a baseline

The HTTP service starts with: npm start`;

export async function runCli(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo-data':
      return runDemoData(rest, io);
    case 'rules':
      return runRules(rest, io);
    case 'decisions':
      return runDecisions(rest, io);
    case 'portfolio':
      return runPortfolio(rest, io);
    case 'impact':
      return runImpact(rest, io);
    case 'profiles':
      return runProfiles(rest, io);
    case 'simulate':
      return runSimulate(rest, io);
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      io.stderr.write(`${command ? `unknown command "${command}"\n\n` : ''}${USAGE}\n`);
      return 2;
  }
}
