/** The optimizers' settings, as the network's update step (src/nn/model.ts) reads them; fit() resolves them from its options (src/train/train.ts). */
export type OptimizerName = 'sgd' | 'momentum' | 'nesterov' | 'adam' | 'adamw';
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'momentum', 'nesterov', 'adam', 'adamw'];

export interface OptimizerConfig {
  type: OptimizerName;
  momentum: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}
