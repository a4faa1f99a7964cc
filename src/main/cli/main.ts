/**
 * The `recur` command line (SPEC §5): one file per command in this folder. Every failure ends in
 * one line `error: …`: bad input exits 2, a failure while running exits 1.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { firstLine, InputError, RunError } from '../errors.js';
import { agentCommand } from './agent.js';
import { benchCommand } from './bench.js';
import { boardCommand } from './board.js';
import type { RecurCommand } from './command.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { predictCommand } from './predict.js';
import { sampleCommand } from './sample.js';
import { serveExampleCommand } from './serve-example.js';
import { sweepCommand } from './sweep.js';
import { trainCommand } from './train.js';

export const COMMANDS: readonly RecurCommand[] = [trainCommand, evalCommand, predictCommand, sampleCommand, exportCommand, serveExampleCommand, sweepCommand, agentCommand, benchCommand, boardCommand];

export async function main(args: string[]): Promise<number> {
  let exitCode = 0;
  const cli = yargs(args)
    .scriptName('recur')
    .usage('$0 <command> [options]\n\nTrain RNNs and LSTMs on every core.');
  for (const c of COMMANDS) {
    cli.command(c.command, c.describe, c.builder, async (argv) => { exitCode = await c.run(argv); });
  }
  const names = COMMANDS.map((c) => c.command.split(' ')[0]!);
  await cli
    .demandCommand(1, `name a command: ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`)
    .recommendCommands()
    .strict()
    .fail((msg, err) => {
      if (err) throw err;
      // yargs' recommendCommands says only "Did you mean train?"; name what was typed too.
      const suggestion = /^Did you mean (\S+)\?$/.exec(msg ?? '');
      if (suggestion) throw new InputError(`command line: unknown command '${args[0]}' (did you mean '${suggestion[1]}'?)`);
      if (msg === `Unknown argument: ${args[0]}`) throw new InputError(`command line: unknown command '${args[0]}'; the commands are ${names.join(', ')}`);
      // yargs reports a value outside `choices` on several lines; the contract is one line.
      const choice = /^Invalid values:\s+Argument: (\S+), Given: (.*), Choices: (.*)$/s.exec(msg ?? '');
      if (choice) throw new InputError(`--${choice[1]}: must be one of ${choice[3]!.trim()}, got ${choice[2]}`);
      throw new InputError(`command line: ${(msg ?? '').replace(/\s*\n\s*/g, ' ')}`);
    })
    .help()
    // Wrap to the terminal (no wrapping in a pipe), so examples never break mid-word.
    .wrap(cli.terminalWidth())
    .parseAsync();
  return exitCode;
}

/** The one place that turns errors into an exit code and a single line. */
export function reportError(err: unknown): number {
  if (err instanceof InputError) {
    console.error(`error: ${err.message}`);
    return 2;
  }
  console.error(`error: ${firstLine(err)}`);
  if (!(err instanceof RunError) && process.env.RECUR_DEBUG) console.error(err);
  return 1;
}

/** Entry point of bin/recur.js. */
export function runCli(): void {
  main(hideBin(process.argv)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => { process.exitCode = reportError(err); },
  );
}
