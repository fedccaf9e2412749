// The timer port: the one way code above the protocol waits. Tests hand in a
// timer they drive; every entry point hands in systemTimer.

export interface TimerHandle {
  cancel(): void;
}

/**
 * Run `fn` once after `ms`. A `background` timer does not keep the process
 * alive on its own (a fallback duty must not hold a finished CLI command open).
 */
export type SetTimer = (fn: () => void, ms: number, background?: boolean) => TimerHandle;

export const systemTimer: SetTimer = (fn, ms, background = false) => {
  const t = setTimeout(fn, ms);
  if (background) t.unref();
  return { cancel: () => clearTimeout(t) };
};
