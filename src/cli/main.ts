import { runBuild } from './build.js';
import { type Command, command, forms, helpPointer, wantsHelp, wrap } from './command.js';
import { runDecisionsExport } from './decisions.js';
import { runDemoData } from './demo-data.js';
import { runImpact } from './impact.js';
import type { Io } from './io.js';
import { runOutbound } from './outbound.js';
import { runOutboundSimulate } from './outbound-simulate.js';
import { runPortfolio } from './portfolio.js';
import { runImport } from './profiles.js';
import { runRules } from './rules.js';
import { RULES_DIFF, RULES_SCHEMAS, RULES_VALIDATE } from './rules-spec.js';
import { runSimulate } from './simulate.js';

/** rules.ts runs the three `rules` subcommands itself. */
const rules = (sub: string) => (args: string[], io: Io) => runRules([sub, ...args], io);

/**
 * Every command, with its table: `nextbest <name>` runs it, `nextbest --help` lists it, and
 * `nextbest <name> --help` prints its options from the table its parser reads.
 */
export const COMMANDS: readonly Command[] = [
  runDecisionsExport,
  runDemoData,
  runImpact,
  runOutbound,
  runOutboundSimulate,
  runPortfolio,
  runBuild,
  runImport,
  command(RULES_VALIDATE, rules('validate')),
  command(RULES_SCHEMAS, rules('schemas')),
  command(RULES_DIFF, rules('diff')),
  runSimulate,
];

/** Each command's forms and, beneath, its line. */
function listing(commands: readonly Command[]): string[] {
  return commands.flatMap((c) => [...forms(c.spec).map((f) => `  ${f}`), `      ${wrap(c.spec.summary, 6)}`]);
}

const USAGE = [
  'nextbest — next-best-action decisioning',
  '',
  'usage: nextbest <command> [options]',
  '       nextbest <command> --help     every option of the command, its default, and an example',
  '',
  'commands:',
  ...listing(COMMANDS),
  '',
  'The HTTP service starts with: npm start',
].join('\n');

/** The commands of a group (`profiles`, `rules`, `decisions`): their forms and lines. */
function groupUsage(group: string, members: readonly Command[]): string {
  const subs = members.map((c) => c.spec.name.slice(group.length + 1));
  return [
    `usage: nextbest ${group} <${subs.join('|')}> [options]`,
    '',
    ...listing(members),
    '',
    helpPointer(`${group} <${subs.join('|')}>`),
  ].join('\n');
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const [first, second, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    (first === undefined ? io.stderr : io.stdout).write(`${USAGE}\n`);
    return first === undefined ? 2 : 0;
  }
  // `nextbest help` and `nextbest help <command>`
  if (first === 'help') return second === undefined ? runCli(['--help'], io) : runCli([second, ...rest, '--help'], io);
  const single = COMMANDS.find((c) => c.spec.name === first);
  if (single) return single(argv.slice(1), io);
  const members = COMMANDS.filter((c) => c.spec.name.startsWith(`${first} `));
  if (members.length === 0) {
    io.stderr.write(`unknown command "${first}"\n\n${USAGE}\n`);
    return 2;
  }
  const sub = members.find((c) => c.spec.name === `${first} ${second}`);
  if (sub) return sub(argv.slice(2), io);
  if (second !== undefined && wantsHelp([second])) {
    io.stdout.write(`${groupUsage(first, members)}\n`);
    return 0;
  }
  io.stderr.write(
    `${second === undefined ? `${first}: name a subcommand` : `${first}: unknown subcommand "${second}"`}\n${groupUsage(first, members)}\n`,
  );
  return 2;
}
