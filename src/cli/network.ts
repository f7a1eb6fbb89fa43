/**
 * The network `simdnet train` builds from its settings: a layer list (--layers, a preset's, a resumed
 * run's) on the data's image shape, or the MLP of --hidden, --activation and --dropout; and the few
 * words that describe it on the first line, in the report and in messages.
 */
import { UsageError } from '../core/errors.js';
import { buildLayers, type LayerDesc } from '../nn/layers.js';
import type { ModelConfig } from '../nn/model.js';
import type { TrainSettings } from '../train/presets.js';
import { formatLayers } from './layers-syntax.js';

interface DataShape {
  dir: string;
  features: number;
  classes: number;
  imageShape: number[];
}

/**
 * the model config of settings `s` on `data`; a layer list that does not chain on the data's images,
 * or whose last layer does not give one output per class, is one line naming `from` (the flag, preset
 * or checkpoint the list came from)
 */
export function networkConfig(s: TrainSettings, data: DataShape, from: string): ModelConfig {
  const common = { loss: s.loss, init: s.init, seed: s.seed };
  if (!s.layers) return { layers: [data.features, ...s.hidden, data.classes], activation: s.activation, imageShape: data.imageShape, dropout: s.dropout ?? 0, ...common };
  const layers = s.layers as LayerDesc[]; // completed by resolveTrainSettings (checkLayer)
  let out: number;
  try {
    out = buildLayers({ input: data.imageShape, layers, loss: s.loss }).at(-1)!.outShape.reduce((a, b) => a * b, 1);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`${from}: ${e.message} (the input: ${data.imageShape.join('x')} images from ${data.dir})`);
    throw e;
  }
  if (out !== data.classes) {
    const last = layers.at(-1)!;
    throw new UsageError(`${from}: the last layer (${formatLayers([last])}) gives ${out} outputs, but the data in ${data.dir} has ${data.classes} classes: end the list with dense${data.classes}`);
  }
  return { layers, inputShape: data.imageShape, ...common };
}

/** the network in a few words: 'input 28x28, conv3x3x32:relu,maxpool2,flatten,dense10 (5,418 parameters)', or an MLP's '784-64-10 sigmoid' */
export function networkText(s: TrainSettings, model: { config: { layers: number[]; imageShape: number[]; model: { layers: LayerDesc[] } }; paramCount: number }): string {
  if (!s.layers) return `${model.config.layers.join('-')} ${s.activation}`;
  return `input ${model.config.imageShape.join('x')}, ${formatLayers(model.config.model.layers)} (${model.paramCount.toLocaleString('en-US')} parameters)`;
}

/** the settings table of the HTML report: a layer list's run shows its list (in --layers syntax), an MLP's its widths and MLP flags */
export function reportSettings(preset: string | undefined, s: TrainSettings, config: { layers: number[]; imageShape: number[]; model: { layers: LayerDesc[] } }, epochsRun: number): Record<string, unknown> {
  const schedule = s.schedule ?? { type: 'constant' };
  if (!s.layers) return { preset, layers: config.layers.join('-'), ...s, hidden: s.hidden.join(','), schedule, epochsRun };
  const { layers: _list, hidden: _h, activation: _a, dropout: _d, ...rest } = s;
  return { preset, inputShape: config.imageShape.join('x'), layers: formatLayers(config.model.layers), ...rest, schedule, epochsRun };
}
