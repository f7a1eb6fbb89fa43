/**
 * The import direction (docs/architecture.md, .dependency-cruiser.cjs): `npm run check:deps`, run by
 * `npm test`, passes on the sources and fails, naming the rule, on a tree with a cycle, a backwards
 * import, an import between the two backends and a kernel that imports the host.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/idx-fixtures.js';

const root = new URL('..', import.meta.url).pathname;
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = join(root, '.dependency-cruiser.cjs');
const tmp = tempDir('simdnet-deps-');
afterAll(() => tmp.remove());

/** depcruise with the project's rules on src/ and assembly/ of `cwd` */
const check = (cwd: string) =>
  spawnSync(process.execPath, [depcruise, '--config', config, '--no-progress', 'src', 'assembly'], { cwd, encoding: 'utf8', timeout: 120_000 });

function tree(files: Record<string, string>): string {
  const dir = tmp.sub(`tree-${Object.keys(files).length}-${Math.random().toString(36).slice(2)}`);
  copyFileSync(join(root, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('the dependency check', () => {
  it('passes on the sources (npm run check:deps)', () => {
    const r = check(root);
    expect(r.stderr + r.stdout).toMatch(/no dependency violations found/);
    expect(r.status).toBe(0);
  }, 120_000);

  it('fails on a cycle, a backwards import, a backend importing the other, a kernel importing the host', () => {
    const dir = tree({
      'src/core/abi.ts': 'export const X = 1;\n',
      'src/core/errors.ts': "import { b } from '../nn/b.js';\nexport const e = b;\n", // core imports nn
      'src/nn/b.ts': "import { c } from './c.js';\nexport const b = 1;\nexport const bc = () => c;\n",
      'src/nn/c.ts': "import { b } from './b.js';\nexport const c = b + 1;\n", // b <-> c
      'src/format/f.ts': "import type { T } from '../train/t.js';\nexport type F = T;\n", // type-only, still backwards
      'src/train/t.ts': 'export type T = number;\n',
      'src/backends/ts/index.ts': "import { w } from '../wasm/index.js';\nexport const t = w;\n",
      'src/backends/wasm/index.ts': "import { X } from '../../core/abi.js';\nexport const w = X;\n",
      'assembly/index.ts': "import { X } from '../src/core/abi';\nimport { b } from '../src/nn/b';\nexport function k(): i32 { return X + b; }\n",
    });
    const r = check(dir);
    const out = r.stdout + r.stderr;
    expect(r.status, out).not.toBe(0);
    expect(out).toMatch(/error no-circular: src\/nn\/b\.ts/);
    expect(out).toMatch(/error core-imports-nothing: src\/core\/errors\.ts → src\/nn\/b\.ts/);
    expect(out).toMatch(/error layer-core: src\/core\/errors\.ts → src\/nn\/b\.ts/);
    expect(out).toMatch(/error layer-format: src\/format\/f\.ts → src\/train\/t\.ts/);
    expect(out).toMatch(/error ts-backend-not-wasm: src\/backends\/ts\/index\.ts → src\/backends\/wasm\/index\.ts/);
    expect(out).toMatch(/error assembly-only-abi: assembly\/index\.ts → src\/nn\/b\.ts/);
    // the allowed imports are not reported: the wasm backend's and the kernels' import of the ABI file
    expect(out).not.toMatch(/→ src\/core\/abi\.ts/);
  }, 120_000);
});
