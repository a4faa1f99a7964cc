/** Ctrl-C and SIGTERM during long work: stop cleanly (a checkpoint, then exit 130/143). */
import type { Reporter } from '../report/progress.js';

export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGINT/SIGTERM ask the work to stop cleanly (a checkpoint, then exit 130/143); a second
 * signal exits at once. `release` removes the handlers.
 */
export function stopOnSignals(reporter: Reporter, doing: string): { controller: AbortController; readonly received: string | null; release(): void } {
  const controller = new AbortController();
  let received: string | null = null;
  const handler = (name: 'SIGINT' | 'SIGTERM') => () => {
    if (received) process.exit(SIGNAL_EXIT[name]);
    received = name;
    reporter.notice(`${name}: ${doing}`);
    controller.abort();
  };
  const onInt = handler('SIGINT'), onTerm = handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    controller,
    get received() { return received; },
    release() { process.off('SIGINT', onInt); process.off('SIGTERM', onTerm); },
  };
}
