const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps this thread (a loop that must stay synchronous: between two transactions, before a retried rename). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Whether process `pid` of this host still runs (a process of another user counts as running). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
