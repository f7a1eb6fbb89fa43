/** Quiet builds: `npm start` / `npm test` show the training, not npm's or the compiler's noise. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/idx-fixtures.js';

const root = new URL('..', import.meta.url).pathname;
const tmp = tempDir('simdnet-build-quiet-');
afterAll(() => tmp.remove());
const npm = (args: string[]) => spawnSync('npm', args, { cwd: root, encoding: 'utf8', timeout: 180_000 });

describe('quiet builds', () => {
  it('the wasm build script prints nothing (no "Last converge was suboptimal.") and still reports compile errors', () => {
    // release-threads is a target whose converge loop ends on a larger round; written to a temporary
    // file so the build/ that other tests load is not touched
    const out = `${tmp.dir}/threads.wasm`;
    const r = npm(['run', 'asbuild:threads', '--silent', '--', '--outFile', out]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(out)).toBe(true);
    const bad = tmp.write('bad.ts', Buffer.from('export function f(): i32 { return undefinedThing; }\n'));
    const e = spawnSync(process.execPath, ['scripts/asc.mjs', bad, '--outFile', `${tmp.dir}/bad.wasm`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/undefinedThing/);
  }, 180_000);

  it('npm reads the project config without a warning (no unknown .npmrc keys)', () => {
    const r = npm(['config', 'get', 'registry']);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/Unknown (project |user |global )?config/i);
  }, 60_000);

  it("every dependency with an install script is reviewed in allowScripts; onnxruntime-node's download is denied", () => {
    const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
    const lock = JSON.parse(readFileSync(`${root}/package-lock.json`, 'utf8'));
    const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
      .filter(([, p]) => p.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts).toContain('onnxruntime-node');
    for (const name of withScripts) expect(typeof pkg.allowScripts?.[name], name).toBe('boolean');
    // its postinstall would fetch CUDA libraries from api.nuget.org: npm ci must need only the registry
    expect(pkg.allowScripts['onnxruntime-node']).toBe(false);
  });
});
