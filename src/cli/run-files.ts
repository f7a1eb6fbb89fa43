/**
 * The train command's checkpoints as a trail: each one written (or, when its path fails, written to
 * the temporary folder), the last one intact on disk remembered, so that whatever ends the run (a
 * failed write, a signal, a second signal) can say in its one line where the work is and the
 * command that continues it.
 */
import { saveCheckpoint } from '../io/checkpoint-io.js';
import type { TrainState } from '../format/checkpoint.js';
import { SimdnetError } from '../core/errors.js';
import { fallbackNote, writeOrFallback } from '../io/files.js';
import { position } from './resume-settings.js';

/** a shell word: the argument itself when it needs no quoting */
export function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** `simdnet train ARGS --resume PATH`, with any --resume of ARGS left out */
export function resumeCommand(argv: string[], path: string): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--resume') i++;
    else if (!argv[i].startsWith('--resume=')) kept.push(argv[i]);
  }
  return ['simdnet', 'train', ...kept, '--resume', path].map(shellQuote).join(' ');
}

export class CheckpointTrail {
  /** the newest checkpoint of this run that is intact on disk (at the start: the one resumed) */
  private last: { path: string; where: string } | undefined;

  /** a checkpoint of the run's last state that could not be written where asked (the run goes on to its end) */
  finalNote = '';

  /** `argv`: the train command's arguments, for the resume command; `epochs`: the run's total */
  constructor(
    private readonly argv: string[],
    private readonly epochs: number,
    resumed?: { path: string; state: TrainState },
  ) {
    if (resumed) this.last = { path: resumed.path, where: position(resumed.state) };
  }

  /**
   * write a checkpoint during the run; when `path` fails, the state goes to the temporary folder and
   * the run ends with one line: why, that the previous checkpoint is intact, where this one is, and
   * the command that continues from the newest one
   */
  write(path: string, state: TrainState): void {
    const w = writeOrFallback(path, (p) => saveCheckpoint(p, state));
    if (w.failed === undefined) {
      this.last = { path, where: position(state) };
      return;
    }
    if (this.isFinal(state)) {
      // training is over (nothing would be left to resume): the run goes on to save its model and
      // the last line says where this checkpoint went
      this.finalNote = fallbackNote('the checkpoint', path, w);
      if (w.at !== undefined) this.last = { path: w.at, where: position(state) };
      return;
    }
    const prev = this.last ? `the previous checkpoint ${this.last.path} (${this.last.where}) is intact` : 'there is no earlier checkpoint of this run';
    const here = w.at !== undefined ? `; this one was written to ${w.at} instead` : `; the temporary folder failed too: ${w.fallbackFailed}`;
    const from = w.at ?? this.last?.path;
    const then = from !== undefined ? `; continue with: ${resumeCommand(this.argv, from)}` : '; nothing can be resumed';
    throw new SimdnetError(`could not write the checkpoint ${path} ${position(state)}: ${w.failed}; ${prev}${here}${then}`);
  }

  /**
   * an interrupted run's checkpoint: at `path`, or, when that cannot be written (a read-only
   * folder, a full disk), in the temporary folder; where it went and why. Throws when both fail.
   */
  interrupted(path: string, state: TrainState): { at: string; why: string } {
    const w = writeOrFallback(path, (p) => saveCheckpoint(p, state));
    if (w.at === undefined) throw new SimdnetError(`could not write the checkpoint to ${path}: ${w.failed}, nor to the temporary folder: ${w.fallbackFailed}; ${this.lastClause()}`);
    this.last = { path: w.at, where: position(state) };
    return { at: w.at, why: w.failed === undefined ? '' : ` (${path} could not be written: ${w.failed})` };
  }

  /** the state at the end of the run: its last epoch, or the epoch at which early stopping stops it */
  private isFinal(st: TrainState): boolean {
    if (st.batchInEpoch !== 0) return false;
    const patience = st.settings.earlyStopping;
    return st.epochsDone >= this.epochs || (patience != null && st.epochsDone - (st.best?.epoch ?? 0) >= patience); // as fit() decides
  }

  /** for a run stopped without saving: where the last intact checkpoint is and how to continue */
  lastClause(): string {
    return this.last ? `the last checkpoint is ${this.last.path} (${this.last.where}); continue with: ${resumeCommand(this.argv, this.last.path)}` : 'no checkpoint was written in this run';
  }
}
