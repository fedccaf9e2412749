// Every wait on something outside this process (a relay, the homeserver, the
// database) ends: a deadline turns a hang into an error the caller handles
// like any other failure, so no queue can wait forever on one of them.

export class TimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

/** `p`, or a TimeoutError after `ms`. The work itself is not cancelled, only no longer waited for. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) return p;
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * The same object, each of whose methods that returns a promise is given a
 * deadline (named `name.method`). Properties and synchronous methods pass through.
 */
export function withDeadlines<T extends object>(target: T, ms: number, name: string): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      const v = Reflect.get(t, key, receiver) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        const r = (v as (...a: unknown[]) => unknown).apply(t, args);
        return r instanceof Promise ? withTimeout(r, ms, `${name}.${String(key)}`) : r;
      };
    },
  });
}
