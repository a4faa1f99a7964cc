/** The shape of one `recur` command: its yargs definition and a handler that returns the exit code. */
import type { Argv } from 'yargs';

export interface RecurCommand {
  /** yargs command string, e.g. `train [experiment]`. */
  command: string;
  describe: string;
  builder: (y: Argv) => Argv;
  /** The exit code on success (0, or 130/143 after a signal). Errors are thrown. */
  run: (argv: Record<string, unknown>) => Promise<number> | number;
}
