// The import direction of simdnet's sources (docs/architecture.md), checked by `npm run check:deps`
// (part of `npm test`). Type-only imports count too (tsPreCompilationDeps): the direction holds for
// types as well as for code.
//
// The folders of src/, lowest first: a folder imports only folders below it (and itself). Folders
// on one rank are siblings and do not import each other. src/index.ts and src/node.ts, the entry
// points, sit above them all; nothing imports them.
const RANKS = [
  ['core'], // the Backend interface and op shapes, errors, limits, rng, the wasm ABI: imports nothing of ours
  ['backends'], // the ts reference and the wasm kernels' host side
  ['nn'], // layers, the network, its memory plan, the sparse input, augmentation's op
  ['format'], // model, checkpoint and IDX file encodings (bytes in, bytes out: no fs)
  ['train'], // fit() and the public Model, optimizers' settings, schedules, divergence, splits, presets
  ['io'], // Node's fs: model and checkpoint files, MNIST, safe writes
  ['interop', 'report'], // tfjs/ONNX export and import; the progress bar and the HTML report
  ['cli'], // the simdnet command
];

const folders = (names) => `^src/(${names.join('|')})/`;
const layerRules = RANKS.flatMap((rank, i) => {
  const above = RANKS.slice(i + 1).flat();
  return rank.map((name) => ({
    name: `layer-${name}`,
    comment: `src/${name}/ imports only the folders below it${above.length ? ` (not ${above.join(', ')})` : ''}`,
    severity: 'error',
    from: { path: `^src/${name}/` },
    to: { path: above.length ? [folders(above), '^src/(index|node)\\.ts$'] : '^src/(index|node)\\.ts$' },
  }));
});
const siblingRules = RANKS.filter((rank) => rank.length > 1).flatMap((rank) =>
  rank.map((name) => ({
    name: `sibling-${name}`,
    comment: `src/${name}/ does not import its siblings (${rank.filter((n) => n !== name).join(', ')})`,
    severity: 'error',
    from: { path: `^src/${name}/` },
    to: { path: folders(rank.filter((n) => n !== name)) },
  })),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a cycle is a bug: split the module or move what both sides need down a folder',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-nothing',
      comment: 'src/core/ is the leaf: it imports nothing of ours outside itself',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^(src|assembly)/', pathNot: '^src/core/' },
    },
    ...layerRules,
    ...siblingRules,
    {
      name: 'src-in-folders',
      comment: 'every source but the two entry points lives in a folder by role',
      severity: 'error',
      from: {},
      to: { path: '^src/[^/]+\\.ts$', pathNot: '^src/(index|node)\\.ts$' },
    },
    {
      name: 'ts-backend-not-wasm',
      comment: 'the TS reference backend never imports the wasm backend',
      severity: 'error',
      from: { path: '^src/backends/ts/' },
      to: { path: '^src/backends/wasm/' },
    },
    {
      name: 'wasm-backend-not-ts',
      comment: 'the wasm backend never imports the TS reference backend',
      severity: 'error',
      from: { path: '^src/backends/wasm/' },
      to: { path: '^src/backends/ts/' },
    },
    {
      name: 'assembly-only-abi',
      comment: 'the kernels import nothing from src/ but the shared ABI file',
      severity: 'error',
      from: { path: '^assembly/' },
      to: { path: '^src/', pathNot: '^src/core/abi\\.ts$' },
    },
    {
      name: 'abi-imports-nothing',
      comment: 'src/core/abi.ts is compiled by asc as well as tsc: it imports nothing',
      severity: 'error',
      from: { path: '^src/core/abi\\.ts$' },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
