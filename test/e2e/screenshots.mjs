// Where test/e2e/demo.e2e.mjs saves its screenshots. A test run changes no tracked file: by default
// they go to a new folder in the temporary folder. `npm run screenshots` (demo.e2e.mjs --screenshots
// docs) is the explicit step that refreshes docs/demo.png and docs/report.png.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** the folder for demo.png and report.png: `--screenshots DIR` (relative to `root`), else a new temporary folder */
export function screenshotDir(argv, root) {
  const i = argv.indexOf('--screenshots');
  if (i >= 0) {
    const dir = argv[i + 1];
    if (!dir || dir.startsWith('-')) throw new Error('--screenshots needs a folder, e.g. --screenshots docs');
    return resolve(root, dir);
  }
  return mkdtempSync(join(tmpdir(), 'simdnet-e2e-shots-'));
}
