/**
 * The browser demo: `npm run demo` (build-data.mjs, vite build, vite preview on 127.0.0.1:$PORT).
 * The demo imports simdnet from ../src, and the wasm kernels are found through the loader's
 * `new URL('../../../build/simdnet-*.wasm', import.meta.url)`, which Vite copies and rewrites.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const port = Number(process.env.PORT) || 5173;
// cross-origin isolation, so the page has SharedArrayBuffer and the demo can train with threads
const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: 'public', // public/data/*.gz, written by build-data.mjs (not committed)
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0, // keep the .wasm as files, fetched and compiled by the loader
  },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', port, strictPort: true, fs: { allow: ['..'] }, headers },
  preview: { host: '127.0.0.1', port, strictPort: true, headers },
});
