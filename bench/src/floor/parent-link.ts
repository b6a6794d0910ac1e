/**
 * The child's side of a floor child's IPC (`child.ts` is the parent's):
 * reports go to the parent, each control message is handed to `handle`,
 * and anything it throws is reported as an `error` instead of ending the
 * process silently. The parent going away ends the child (`stop`): no
 * orphaned servers or load generators.
 */
export function serveParent<Control, Report extends { readonly type: string }>(
  handle: (message: Control) => void,
  stop: () => void,
): (report: Report | { readonly type: 'error'; readonly message: string }) => void {
  const send = (report: Report | { readonly type: 'error'; readonly message: string }): void => {
    process.send?.(report);
  };
  process.on('message', (raw: unknown) => {
    try {
      handle(raw as Control);
    } catch (err) {
      send({ type: 'error', message: (err as Error).stack ?? String(err) });
    }
  });
  process.on('disconnect', stop);
  return send;
}
