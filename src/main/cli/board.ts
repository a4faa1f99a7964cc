/** `recur board`: a live dashboard of run and sweep folders in the browser (SPEC §11). */
import { statSync } from 'node:fs';
import { InputError } from '../errors.js';
import { startBoard } from '../board/server.js';
import { listenFlags, untilStopped } from '../http/server.js';
import { isLoopback } from '../http/static-files.js';
import type { RecurCommand } from './command.js';

interface BoardArgs { dirs: string[]; port: string; host: string }

export const boardCommand: RecurCommand = {
  command: 'board [dirs..]',
  describe: 'serve a live dashboard of run and sweep folders (read-only)',
  builder: (y) => y
    .positional('dirs', { type: 'string', array: true, default: ['runs'], describe: 'folders holding run and sweep folders (default: runs)' })
    .option('port', { type: 'string', default: '6006', describe: 'TCP port (0: any free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on; anything but loopback lets other machines read the runs' })
    .example('$0 board', 'watch the runs under ./runs at http://127.0.0.1:6006/')
    .example('$0 board runs sweeps --port 8080', 'several folders, another port'),
  run: (argv) => runBoard(argv as unknown as BoardArgs),
};

async function runBoard(argv: BoardArgs): Promise<number> {
  const { port, host } = listenFlags(argv);
  const dirs = argv.dirs.length > 0 ? argv.dirs : ['runs'];
  for (const dir of dirs) {
    let isFolder: boolean;
    try {
      isFolder = statSync(dir).isDirectory();
    } catch {
      continue; // not there yet: a run started later creates it, and the board picks it up
    }
    if (!isFolder) throw new InputError(`${dir}: not a folder (recur board reads folders of runs)`);
  }
  const notice = (text: string): void => console.error(text);
  const stopped = untilStopped();
  const board = await startBoard({ dirs, port, host, onNotice: notice });
  const { runs, sweeps } = { runs: board.store.runList().length, sweeps: board.store.sweepList().length };
  notice(`recur board: ${runs} run${runs === 1 ? '' : 's'}, ${sweeps} sweep${sweeps === 1 ? '' : 's'} under ${dirs.join(', ')}; open ${board.url}  (Ctrl-C stops)`);
  for (const dir of board.store.missing) notice(`${dir} does not exist yet; the board shows its runs once it does`);
  if (board.store.truncated) notice('warning: more than 5000 folders under the DIRs; only the first are shown (name a narrower folder)');
  if (!isLoopback(host)) {
    notice(`warning: listening on ${host}: anyone who can reach port ${board.port} can read these runs (there is no login)`);
  }
  await stopped;
  await board.close();
  return 0;
}
