/**
 * Commands that talk to Redis end with the exit code they chose even if a socket or timer of
 * the Redis client lingers: never a process that has finished its work and does not exit.
 */

/** Grace for the event loop to drain on its own before the process is ended. */
const GRACE_MS = 5_000;

/** Returns `code`, and ends the process with it after a grace period if it is still alive. */
export function exitWithin(code: number, graceMs = GRACE_MS): number {
  setTimeout(() => process.exit(code), graceMs).unref();
  return code;
}
