// `rbk migrate`: bring a database stored before storage v2 to the packed layout now (the daemon
// also does it in the background after it starts). It runs the `pack` job with progress; when the
// daemon's own run is already under way, it waits for that one to end and then confirms.
import { call } from '../client.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import type { WireJobInfo, WireJobRun } from '../wire.js';
import { jobsRunCommand } from './jobs.js';

export async function migrateCommand(io: Io, opts: { json: boolean; progress: boolean }): Promise<number> {
  for (let waited = false; ; ) {
    try {
      return await jobsRunCommand(io, { name: 'pack', json: opts.json, progress: opts.progress });
    } catch (err) {
      if (!(err instanceof CliError) || !/already running/i.test(err.message)) throw err;
      if (!waited && !opts.json) process.stderr.write('rbk: the daemon is packing already; waiting for its run to end\n');
      waited = true;
      for (;;) {
        const res = await call<{ runs: WireJobRun[]; jobs: WireJobInfo[] }>('Jobs', 'ListRuns', { limit: 1, job: 'pack' });
        if (!res.jobs.find((j) => j.name === 'pack')?.running) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
