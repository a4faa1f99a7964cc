/** `recur serve-example`: the browser example and the runtime it loads, read-only (SPEC §10). */
import { startExampleServer } from '../http/example-server.js';
import { listenFlags, untilStopped } from '../http/server.js';
import type { RecurCommand } from './command.js';

interface ServeArgs { port: string; host: string }

export const serveExampleCommand: RecurCommand = {
  command: 'serve-example',
  describe: 'serve the browser example (a forecast and generated text, in the page) read-only',
  builder: (y) => y
    .option('port', { type: 'string', default: '8080', describe: 'TCP port (0: any free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' })
    .example('$0 serve-example', 'open http://127.0.0.1:8080/examples/browser/'),
  run: (argv) => runServeExample(argv as unknown as ServeArgs),
};

async function runServeExample(argv: ServeArgs): Promise<number> {
  const listen = listenFlags(argv);
  const stopped = untilStopped();
  const server = await startExampleServer(listen);
  console.error(`recur serve-example: open ${server.url}  (Ctrl-C stops)`);
  await stopped;
  await server.close();
  return 0;
}
