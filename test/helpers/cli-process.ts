/** The built CLI (dist/cli/main.js) in a child process, for tests of its signals and output. */
import { spawn, spawnSync } from 'node:child_process';

export const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** run `simdnet ARGS` to its end (killed after `timeout` ms, default 120 s): its exit code and output */
export function runCli(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: o.timeout ?? 120_000, cwd: o.cwd, env: o.env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** start `simdnet ARGS`, send `signal` once the first epoch is reported (--json), or `delayMs` after it, resolve with the exit code and output */
export function interrupt(args: string[], signal: NodeJS.Signals, cwd?: string, delayMs = 0): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd });
    let out = '', err = '', sent = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not exit')); }, 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (!sent && out.includes('"epoch":1,')) {
        sent = true;
        if (delayMs > 0) setTimeout(() => child.kill(signal), delayMs);
        else child.kill(signal);
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}
