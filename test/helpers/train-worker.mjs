// Trains one model in a worker_threads Worker (from the built dist/) and posts back its parameters.
import { parentPort, workerData } from 'node:worker_threads';
import { Model } from '../../dist/train/model.js';
import { WasmBackend } from '../../dist/backends/wasm/index.js';

const { cfg, data, opts } = workerData;
const model = new Model(cfg, await WasmBackend.create('simd'));
await model.fit(data, opts);
const params = model.readParams();
parentPort.postMessage(params, [params.buffer]);
