/**
 * The public Model: the network (src/nn/model.ts) with its training loop, fit() (src/train/train.ts).
 * Everything else a model does, and the types that describe it, are the network's, re-exported here.
 */
import { Network, type DataSet } from '../nn/model.js';
import { fit, type FitOptions, type History } from './train.js';

export * from '../nn/model.js';

export class Model extends Network {
  /** train on a dataset; see FitOptions for the options and their defaults */
  fit(data: DataSet, options: FitOptions = {}): Promise<History> {
    try {
      this.assertLive();
    } catch (e) {
      return Promise.reject(e);
    }
    return fit(this, data, options);
  }
}
