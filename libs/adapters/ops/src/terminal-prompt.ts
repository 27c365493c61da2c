import { FedlabError } from '@fedlab/model';

/**
 * Asks a question on the terminal and reads one line without echoing it (a passphrase). Returns
 * undefined when standard input is not a terminal, so a daemon under a service manager never waits
 * for an answer nobody can give.
 */
export function hiddenPrompt(): ((question: string) => Promise<string>) | undefined {
  const input = process.stdin;
  if (!input.isTTY) return undefined;
  return (question) =>
    new Promise((resolve, reject) => {
      process.stderr.write(question);
      let answer = '';
      input.setRawMode(true);
      input.resume();
      input.setEncoding('utf8');
      const finish = (error?: Error) => {
        input.setRawMode(false);
        input.pause();
        input.off('data', onData);
        process.stderr.write('\n');
        if (error) reject(error);
        else resolve(answer);
      };
      const onData = (chunk: string) => {
        const chars = [...chunk];
        for (const [i, ch] of chars.entries()) {
          if (ch === '\r' || ch === '\n') {
            // Typed ahead (the confirmation of a new passphrase): leave it for the next prompt.
            const rest = chars.slice(i + 1).join('');
            finish();
            if (rest !== '') input.unshift(rest, 'utf8');
            return;
          }
          if (ch === '\u0003') return finish(new FedlabError('KEY_FILE_INVALID', 'no passphrase: the prompt was interrupted'));
          if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
          else answer += ch;
        }
      };
      input.on('data', onData);
    });
}
