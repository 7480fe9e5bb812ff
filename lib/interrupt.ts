/**
 * Ctrl-C for entry points that run commands in process groups of their own (lib/process-tree.ts):
 * those groups do not get the terminal's signal, so this process must stay to stop them. The first
 * SIGINT aborts; a second one must not end this process the default way (its stop would be cut
 * short and a terraform left applying in the background), so it only says the stop is under way.
 */
export function abortOnInterrupt(ac: AbortController, o: { readonly first?: string; readonly log?: (line: string) => void } = {}): () => void {
  const log = o.log ?? ((line: string) => console.error(line));
  const onSigint = () => {
    if (ac.signal.aborted) {
      log('[zerodrop] still stopping: what it started is being stopped in order (terraform first, so it keeps its state); a second Ctrl-C does not cut that short');
      return;
    }
    if (o.first) log(o.first);
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  return () => process.off('SIGINT', onSigint);
}
