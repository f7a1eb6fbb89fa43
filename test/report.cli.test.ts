/** `simdnet train --report FILE`: the HTML report, in child processes on small synthetic data. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32, decodeModel } from '../src/format/format.js';
import { encodeGrayPng } from '../src/report/png.js';
import { sparkline } from '../src/report/report.js';
import { tempDir } from './helpers/idx-fixtures.js';
import { writeSyntheticDir } from './helpers/synthetic.js';
import { runCli } from './helpers/cli-process.js';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const tmp = tempDir('simdnet-report-');
const data = writeSyntheticDir(tmp, 'data', { train: 600, test: 200, shape: [6, 5], classes: 4 });
afterAll(() => tmp.remove());

const run = (args: string[], cwd?: string) => runCli(args, { cwd });
const base = ['train', '--data', data, '--hidden', '16', '--activation', 'relu', '--optimizer', 'adam', '--lr', '0.01', '--batch-size', '20'];

describe('simdnet train --report', () => {
  it('writes one self-contained HTML file whose figures match the --json output', () => {
    const path = join(tmp.dir, 'report.html');
    const r = run([...base, '--epochs', '3', '--validation-split', '0.2', '--json', '--report', path]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const done = JSON.parse(r.out.trim().split('\n').pop()!);
    expect(done.done).toBe(true);
    expect(done.reportTo).toBe(path);
    const html = readFileSync(path, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    // self-contained: nothing to fetch (no http(s), protocol-relative or CSS url() references, no external scripts)
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\/\//i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/<script(?![^>]*type="application\/json")/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import/i);
    for (const m of html.matchAll(/\bsrc="([^"]*)"/g)) expect(m[1].startsWith('data:image/png;base64,')).toBe(true);
    // curves (SVG), the confusion heat map and the labelled test curve
    expect((html.match(/<svg /g) ?? []).length).toBe(2);
    expect(html).toContain('test (display only)');
    expect(html).toContain('validation');
    // the accuracy, as printed and as embedded data, equals the --json figure
    expect(html).toContain(`${(done.testAccuracy * 100).toFixed(2)}%`);
    const embedded = JSON.parse(html.match(/<script type="application\/json" id="simdnet-report-data">([^<]*)<\/script>/)![1]);
    expect(embedded.testAccuracy).toBe(done.testAccuracy);
    expect(embedded.confusion).toEqual(done.confusion);
    expect(embedded.epochs.length).toBe(3);
    // every confusion cell of the heat map holds the --json count
    const cells = new Map<string, number>();
    for (const m of html.matchAll(/<td class="cm" data-true="(\d+)" data-pred="(\d+)"[^>]*>(\d+)<\/td>/g)) cells.set(`${m[1]},${m[2]}`, Number(m[3]));
    expect(cells.size).toBe(16);
    done.confusion.forEach((row: number[], i: number) => row.forEach((c, j) => expect(cells.get(`${i},${j}`)).toBe(c)));
    // misclassified digits: one thumbnail per error shown, each labelled true -> predicted
    const wrong = done.confusion.flat().reduce((a: number, c: number) => a + c, 0) - done.confusion.reduce((a: number, row: number[], i: number) => a + row[i], 0);
    const thumbs = (html.match(/<figure class="digit">/g) ?? []).length;
    expect(thumbs).toBe(Math.min(60, wrong));
    if (wrong > 0) expect(html).toContain(`${wrong} of 200 test images are misclassified`);
    else expect(html).toContain('No misclassified test images');
    // settings, environment and timings
    for (const s of ['Settings', 'Environment', 'Timings', process.version, done.backend, 'adam', '--report']) expect(html).toContain(s);
    // no temporary files left beside it
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.tmp') || f.includes('.probe'))).toEqual([]);
  });

  it('shows misclassified digits as thumbnails with their labels', () => {
    const path = join(tmp.dir, 'weak.html');
    // one epoch of a tiny sigmoid net at a low rate: plenty of errors to show
    const r = run(['train', '--data', data, '--hidden', '2', '--epochs', '1', '--batch-size', '100', '--lr', '0.01', '--json', '--report', path]);
    expect(r.code).toBe(0);
    const html = readFileSync(path, 'utf8');
    const m = html.match(/<figure class="digit"><img src="data:image\/png;base64,([^"]+)" width="15" height="18" alt="test image (\d+): true (\d), predicted (\d)">/);
    expect(m).not.toBeNull();
    const png = Buffer.from(m![1], 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(5); // width
    expect(png.readUInt32BE(20)).toBe(6); // height
    expect(m![3]).not.toBe(m![4]);
  });

  it('with early stopping it names the kept epoch and its validation accuracy', () => {
    const path = join(tmp.dir, 'early.html');
    const r = run([...base, '--epochs', '30', '--validation-split', '0.2', '--early-stopping', '2', '--json', '--report', path]);
    expect(r.code).toBe(0);
    const done = JSON.parse(r.out.trim().split('\n').pop()!);
    const html = readFileSync(path, 'utf8');
    expect(html).toContain(`the model holds epoch ${done.bestEpoch}'s weights`);
    expect(html).toContain(`${(done.valAccuracy * 100).toFixed(2)}%</div><div class="k">validation accuracy (epoch ${done.bestEpoch}, kept)`);
  });

  it('without --json: the report, plus a per-epoch sparkline summary on the terminal', () => {
    const path = join(tmp.dir, 'plain.html');
    const r = run([...base, '--epochs', '3', '--report', path]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote the report to ${path}`);
    expect(r.out).toMatch(/train loss\s+[\u2581-\u2588]{3}\s/);
    expect(r.out).toContain('display only');
    expect(existsSync(path)).toBe(true);
  });

  /** start a run, delete the report's folder once epoch 1 is reported: the report then fails after training */
  function reportFailsLate(args: string[], folder: string, cwd?: string): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, TMPDIR: tmp.dir } });
      let out = '', err = '', done = false;
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not exit')); }, 60_000);
      child.stdout.on('data', (d) => {
        out += d;
        if (!done && out.includes('"epoch":1,')) { done = true; rmSync(folder, { recursive: true, force: true }); }
      });
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
    });
  }

  it('a report whose folder went away during training goes to the temporary folder; --save is written; one line says where', async () => {
    const folder = join(tmp.dir, 'vanishing');
    mkdirSync(folder);
    const model = join(tmp.dir, 'kept.simdnet');
    const r = await reportFailsLate([...base, '--epochs', '300', '--json', '--save', model, '--report', join(folder, 'r.html')], folder);
    expect(r.code).toBe(2);
    const m = /^simdnet: could not write the report to .*vanishing\/r\.html: its folder does not exist \(ENOENT\); it was written to (\S+) instead\n$/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    expect(m![1].startsWith(tmp.dir)).toBe(true);
    const done = JSON.parse(r.out.trim().split('\n').pop()!);
    expect(done.done).toBe(true);
    expect(done.reportTo).toBe(m![1]);
    expect(readFileSync(m![1], 'utf8')).toContain(`${(done.testAccuracy * 100).toFixed(2)}%`);
    expect(decodeModel(readFileSync(model), model).meta.testAccuracy).toBe(done.testAccuracy);
  });

  it('... and without --save: the report is still kept in the temporary folder, nothing is written elsewhere', async () => {
    const folder = join(tmp.dir, 'vanishing2');
    const cwd = join(tmp.dir, 'cwd');
    mkdirSync(folder);
    mkdirSync(cwd);
    const r = await reportFailsLate([...base, '--epochs', '300', '--json', '--report', join(folder, 'r.html')], folder, cwd);
    expect(r.code).toBe(2);
    const m = /; it was written to (\S+) instead\n$/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    expect(existsSync(m![1])).toBe(true);
    expect(readdirSync(cwd)).toEqual([]);
  });

  const bad: [string, string, () => string, RegExp][] = [
    ['--report', 'a missing folder', () => join(tmp.dir, 'no-such-folder', 'r.html'), /^simdnet: --report: cannot write .*no-such-folder\/r\.html: the folder .* does not exist \(simdnet creates files, not folders: create it first\); nothing was trained\n$/],
    ['--report', 'a folder', () => { const d = join(tmp.dir, 'a-folder'); mkdirSync(d, { recursive: true }); return d; }, /^simdnet: --report: .*a-folder is a folder; give a file name/],
    ['--report', 'a file as folder', () => join(data, 'train-labels-idx1-ubyte', 'r.html'), /^simdnet: --report: cannot write .*r\.html: .*train-labels-idx1-ubyte is not a folder; nothing was trained\n$/],
    ['--report', 'an empty name', () => '', /^simdnet: --report needs a file name\n$/],
    // the model and checkpoint paths get the same check
    ['--save', 'a missing folder', () => join(tmp.dir, 'no-such-folder', 'm.simdnet'), /^simdnet: --save: cannot write .*no-such-folder\/m\.simdnet: the folder .* does not exist \(simdnet creates files, not folders: create it first\); nothing was trained\n$/],
    ['--save', 'a folder', () => { const d = join(tmp.dir, 'a-folder'); mkdirSync(d, { recursive: true }); return d; }, /^simdnet: --save: .*a-folder is a folder; give a file name, e\.g\. .*model\.simdnet\n$/],
    ['--checkpoint', 'a missing folder', () => join(tmp.dir, 'no-such-folder', 'c.ckpt'), /^simdnet: --checkpoint: cannot write .*c\.ckpt: the folder .* does not exist \(simdnet creates files, not folders: create it first\); nothing was trained\n$/],
  ];
  for (const [flag, name, path, re] of bad) {
    it(`a bad ${flag} path (${name}): one line, exit 2, before any training`, () => {
      const t0 = Date.now();
      // 10,000 epochs: if the check came after training, this would time out
      const r = run([...base, '--epochs', '10000', '--json', flag, path()]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err.trim().split('\n').length).toBe(1);
      expect(r.out).toBe('');
      expect(Date.now() - t0).toBeLessThan(30_000);
    });
  }
});

describe('report helpers', () => {
  it('encodeGrayPng writes a valid PNG (signature, IHDR, CRCs, deflated rows)', () => {
    const px = new Uint8Array(3 * 2).map((_, i) => i * 40);
    const png = Buffer.from(encodeGrayPng(px, 3, 2));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    let at = 8;
    const chunks: { type: string; data: Buffer }[] = [];
    while (at < png.length) {
      const len = png.readUInt32BE(at), type = png.subarray(at + 4, at + 8).toString('latin1');
      const data = png.subarray(at + 8, at + 8 + len);
      expect(png.readUInt32BE(at + 8 + len), type).toBe(crc32(png.subarray(at + 4, at + 8 + len)));
      chunks.push({ type, data });
      at += 12 + len;
    }
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect([chunks[0].data.readUInt32BE(0), chunks[0].data.readUInt32BE(4), chunks[0].data[8], chunks[0].data[9]]).toEqual([3, 2, 8, 0]);
    expect([...inflateSync(chunks[1].data)]).toEqual([0, 0, 40, 80, 0, 120, 160, 200]);
  });

  it('sparkline scales between min and max', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588');
    expect(sparkline([3, 3])).toBe('\u2585\u2585');
  });
});
