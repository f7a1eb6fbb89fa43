/**
 * Preload (`node --import`): makes the streams named in $FAKE_TTY ('out', 'err', or 'out,err') say
 * they are terminals (isTTY, columns: all that cli-progress reads), so a child process draws its
 * progress bar without a pseudo-terminal; the bar's text then arrives on the pipe.
 */
const which = (process.env.FAKE_TTY ?? '').split(',');
for (const [name, stream] of [['out', process.stdout], ['err', process.stderr]]) {
  if (!which.includes(name)) continue;
  stream.isTTY = true;
  stream.columns = 100;
}
