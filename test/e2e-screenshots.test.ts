/** `npm run test:e2e` changes no tracked file: its screenshots go to a temporary folder unless asked for (`npm run screenshots`). */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-ignore: a plain .mjs module of the e2e script, without types
import { screenshotDir } from './e2e/screenshots.mjs';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

describe('e2e screenshots', () => {
  it('go to a new temporary folder by default, outside the repository', () => {
    const dir: string = screenshotDir([], root);
    expect(dir.startsWith(tmpdir())).toBe(true);
    expect(relative(root, dir).startsWith('..')).toBe(true);
    rmSync(dir, { recursive: true });
  });

  it('go to docs/ only with --screenshots docs, which npm run screenshots passes and npm run test:e2e does not', () => {
    expect(screenshotDir(['--screenshots', 'docs'], root)).toBe(join(root, 'docs'));
    expect(() => screenshotDir(['--screenshots'], root)).toThrow(/--screenshots needs a folder/);
    expect(pkg.scripts['test:e2e']).not.toContain('--screenshots');
    expect(pkg.scripts.screenshots).toContain('demo.e2e.mjs --screenshots docs');
  });

  it('the e2e script takes its screenshot paths from screenshotDir, not from docs/', () => {
    const src = readFileSync(join(root, 'test', 'e2e', 'demo.e2e.mjs'), 'utf8');
    expect(src).not.toMatch(/join\(root, 'docs'/);
    expect(src).toMatch(/screenshotDir\(process\.argv\.slice\(2\), root\)/);
  });
});
