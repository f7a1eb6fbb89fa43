/**
 * The training worker: loads MNIST (gzipped IDX files fetched from data/), builds the model with
 * simdnet's public API and trains it with fit(), so the page's main thread never runs a batch.
 * The network is the MLP of the page's fields or the CNN of networks.ts (which reads each image as
 * [28, 28]). Pause uses fit()'s shouldStop / resume (the run continues bit for bit where it stopped);
 * drawn digits are classified by a second model of the same network that gets a copy of the current
 * parameters and buffers, so a prediction never touches the training session.
 */
/// <reference lib="webworker" />
import { InterruptedError, Model, backendLabel, describeNetwork, encodeModel, isGzip, parseIdx, simdSupported, type DataSet, type TrainState } from '../src/index.js';
import { networkConfig } from './networks.js';
import type { FromWorker, Hyper, ToWorker } from './protocol.js';

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m, transfer);

let train: DataSet | null = null;
let test: DataSet | null = null;
let model: Model | null = null;
let predictor: Model | null = null;
let hyper: Hyper | null = null;
let resume: TrainState | undefined;
let targetTotal = 0; // epochs the current run ends at
let stopRequested = false;
let training: Promise<void> | null = null;
let generation = 0; // bumped by reset, so a stale fit() does not report into a new model
let dataBase = ''; // the page's URL, for data/*.gz: a Reset after a failed load loads again

async function fetchIdx(base: string, name: string) {
  const res = await fetch(new URL(`data/${name}.gz`, base));
  if (!res.ok) throw new Error(`cannot fetch data/${name}.gz: HTTP ${res.status} (run \`npm run demo\`, which builds the data)`);
  // servers differ: some send .gz files with Content-Encoding: gzip (the browser has then already
  // decompressed them), others as plain application/gzip bytes, which are decompressed here
  let bytes = new Uint8Array(await res.arrayBuffer());
  if (isGzip(bytes)) bytes = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  return parseIdx(bytes, name);
}

async function loadData(base: string) {
  const t0 = performance.now();
  post({ type: 'status', text: 'loading MNIST (about 11 MB gzipped)...' });
  const [ti, tl, si, sl] = await Promise.all(
    ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map((n) => fetchIdx(base, n)),
  ).catch((e) => {
    post({ type: 'status', text: 'loading MNIST failed: Reset tries again' });
    throw e;
  });
  const ds = (images: typeof ti, labels: typeof tl, name: string): DataSet => {
    if (!(images.data instanceof Uint8Array) || !(labels.data instanceof Uint8Array) || images.dims[0] !== labels.dims[0]) {
      throw new Error(`${name}: expected u8 images and labels of the same count, got ${images.dims.join('x')} and ${labels.dims.join('x')}`);
    }
    return { images: images.data, labels: labels.data, count: images.dims[0], features: images.dims.slice(1).reduce((a, b) => a * b, 1) };
  };
  train = ds(ti, tl, 'training set');
  test = ds(si, sl, 'test set');
  post({ type: 'data', train: train.count, test: test.count, ms: performance.now() - t0 });
}

async function buildModel(h: Hyper) {
  generation++;
  resume = undefined;
  const config = networkConfig(h.network, { ...h, features: train!.features });
  const m = await Model.create(config, { backend: h.backend, threads: h.threads });
  // the predictor classifies one drawing at a time: one thread
  const p = await Model.create(config, { backend: h.backend === 'auto' ? m.backend.name : h.backend });
  const old = model;
  [model, predictor] = [m, p]; // both at once: a prediction in between never pairs different networks
  hyper = h; // only now: settings that failed to build (out of memory, say) do not describe the model kept
  // (not training: Reset waited for the run to stop, Start rebuilds only a model that never trained)
  if (old && old.backend !== m.backend) await (old.backend as { close?: () => Promise<void> }).close?.();
  const params = model.paramCount;
  post({ type: 'model', backend: backendLabel(model.backend), simd: simdSupported(), kind: h.network, network: describeNetwork(model.config.model), params });
  post({ type: 'state', state: 'idle' });
}

function runFit() {
  const m = model!, h = hyper!, gen = generation;
  stopRequested = false;
  post({ type: 'state', state: 'training' });
  if (resume && resume.epochsDone >= targetTotal) resume = undefined; // paused after the last batch: train more
  if (!resume) targetTotal = m.epochsDone + h.epochs;
  let batches = 0;
  const fitting = m.fit(train!, {
    epochs: resume ? targetTotal : h.epochs, // with resume, fit() counts the run's total
    resume,
    batchSize: h.batchSize,
    optimizer: h.optimizer,
    learningRate: h.learningRate,
    momentum: h.momentum,
    yieldMs: 30,
    testData: test!,
    shouldStop: () => stopRequested || gen !== generation,
    callbacks: {
      onTrainBegin: (info) => (batches = info.batchesPerEpoch),
      onBatchEnd: (b, logs) => {
        if (b % 20 === 0 || b === batches - 1) {
          post({ type: 'batch', epoch: m.epochsDone + 1, batch: b + 1, batches, loss: logs.loss, accuracy: logs.accuracy });
        }
      },
      // fit() evaluates the test set a batch at a time, yielding every yieldMs: a drawing's prediction
      // is answered between its batches; the full evaluation (its confusion matrix) comes with the epoch
      onEpochEnd: (_epoch, logs, evaluations) => {
        post({ type: 'epoch', logs, confusion: evaluations.test!.confusion });
      },
    },
  });
  training = fitting.then(
    () => {
      resume = undefined;
      if (gen === generation) post({ type: 'state', state: 'done' });
    },
    (e) => {
      if (e instanceof InterruptedError) {
        if (gen !== generation) return; // reset while training: drop the old run
        resume = e.state;
        post({ type: 'state', state: 'paused' });
      } else {
        post({ type: 'error', message: errorText(e) });
        post({ type: 'state', state: 'idle' });
      }
    },
  ).finally(() => {
    training = null;
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}

async function handle(msg: ToWorker) {
  switch (msg.type) {
    case 'init':
      dataBase = msg.base;
      await loadData(msg.base);
      await buildModel(msg.hyper);
      break;
    case 'start':
      if (training || !model) return;
      if (!resume) {
        // a fresh run (or more epochs after one finished) takes the current optimizer settings
        if (hyper && (msg.hyper.backend !== hyper.backend || msg.hyper.threads !== hyper.threads || msg.hyper.seed !== hyper.seed || msg.hyper.network !== hyper.network || msg.hyper.hidden.join() !== hyper.hidden.join() || msg.hyper.activation !== hyper.activation)) {
          if (model.epochsDone === 0) await buildModel(msg.hyper);
        }
        hyper = { ...msg.hyper, backend: hyper!.backend, threads: hyper!.threads, network: hyper!.network, hidden: hyper!.hidden, activation: hyper!.activation, seed: hyper!.seed };
      }
      runFit();
      break;
    case 'pause':
      stopRequested = true;
      break;
    case 'reset':
      stopRequested = true;
      generation++;
      if (training) await training;
      if (!train || !test) await loadData(dataBase);
      await buildModel(msg.hyper);
      break;
    case 'predict': {
      if (!model || !predictor) return;
      predictor.writeParams(model.readParams());
      if (model.bufferCount) predictor.writeBuffers(model.readBuffers()); // running statistics (batch norm)
      const probs = predictor.predict(msg.pixels, 1);
      post({ type: 'prediction', id: msg.id, probs }, [probs.buffer]);
      break;
    }
    case 'download': {
      if (!model) return;
      // the settings first: their epochs (per run) and backend (a preference such as 'auto') must not
      // overwrite the epochs trained and the backend used
      // (the CNN's layers are in the file's model description: the MLP's hidden and activation fields are left out)
      const { hidden, activation, ...rest } = hyper!;
      const meta = { trainedIn: 'simdnet browser demo', ...rest, ...(hyper!.network === 'mlp' ? { hidden, activation } : {}), epochs: model.epochsDone, backend: model.backend.name };
      const bytes = encodeModel(model.config, model.getLayerTensors(), meta);
      const name = hyper!.network === 'cnn' ? 'cnn' : model.config.layers.join('-');
      post({ type: 'file', bytes, name: `mnist-${name}-e${model.epochsDone}.simdnet` }, [bytes.buffer]);
      break;
    }
  }
}

// one message at a time: a handler that awaits (a Start that rebuilds the model, a Reset waiting for
// fit() to stop) finishes before the next one runs, so a second Start cannot begin a run on the old model
let queue: Promise<void> = Promise.resolve();
self.onmessage = (ev: MessageEvent<ToWorker>) => {
  queue = queue.then(() => handle(ev.data)).catch((e) => post({ type: 'error', message: errorText(e) }));
};
self.addEventListener('unhandledrejection', (ev) => post({ type: 'error', message: errorText((ev as PromiseRejectionEvent).reason) }));
