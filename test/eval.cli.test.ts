/**
 * simdnet eval in child processes: the progress bar of its evaluation on a terminal (stderr, only when
 * stdout is a terminal too and without --json), and Ctrl-C during it (exit 130, one line).
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './helpers/cli-process.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { writeSyntheticDir } from './helpers/synthetic.js';

const tmp = tempDir('simdnet-eval-cli-');
const data = writeSyntheticDir(tmp, 'data', { train: 200, test: 3000, shape: [28, 28], classes: 10 });
const model = join(tmp.dir, 'cnn.simdnet');
afterAll(() => tmp.remove());
const FAKE_TTY = new URL('./helpers/fake-tty.mjs', import.meta.url).pathname;

/** `simdnet ARGS` with the streams in `tty` ('out', 'err', 'out,err' or '') taken for terminals */
function run(args: string[], tty: string) {
  const r = spawnSync(process.execPath, ['--import', FAKE_TTY, CLI, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, FAKE_TTY: tty } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  const r = run(['train', '--data', data, '--layers', 'conv3x3x8:relu,maxpool2,flatten,dense10', '--epochs', '1', '--batch-size', '50', '--save', model, '--json'], '');
  expect(r.code, r.err).toBe(0);
}, 120_000);

describe('simdnet eval on a CNN: progress and Ctrl-C', () => {
  it('shows the progress bar on a terminal (stderr), the same report; nothing extra with --json or when stdout is not a terminal', () => {
    const args = ['eval', '--model', model, '--data', data, '--batch-size', '16'];
    const plain = run(args, '');
    expect(plain.code, plain.err).toBe(0);
    expect(plain.err).toBe('');
    expect(plain.out).toMatch(/on the 3000 test images/);
    const term = run(args, 'out,err');
    expect(term.code, term.err).toBe(0);
    expect(term.err).toMatch(/\[[\u2591\u2588]+\] \d+% \| evaluating test [\d,]+\/3,000/);
    expect(term.out).toBe(plain.out); // the report itself is untouched
    expect(run(args, 'err').err).toBe(''); // stdout to a file or a pipe
    const json = run([...args, '--json'], 'out,err');
    expect(json.code).toBe(0);
    expect(json.err).toBe('');
    expect(JSON.parse(json.out).count).toBe(3000);
  }, 120_000);

  it('Ctrl-C during the evaluation stops it with exit 130 and one line, no report', async () => {
    const child = spawn(process.execPath, ['--import', FAKE_TTY, CLI, 'eval', '--model', model, '--data', data, '--batch-size', '1'], { env: { ...process.env, FAKE_TTY: 'out,err' } });
    let out = '', err = '', sent = false;
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no progress bar, or no exit: ${err}`)); }, 60_000);
      child.stderr.on('data', (d) => {
        err += d;
        if (!sent && err.includes('evaluating test')) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    expect(code).toBe(130);
    expect(out).toBe('');
    const lines = err.split('\n').filter((l) => l.includes('simdnet:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/simdnet: SIGINT: evaluation interrupted after [\d,]+ of the 3,000 test images; nothing was written$/);
    expect(err.endsWith(`${lines[0]}\n`)).toBe(true);
  }, 120_000);
});
