// Typed listeners for what a client tells its host (changed, progress,
// error), without node:events in the domain. Unlike an EventEmitter, an
// `error` nobody listens for does not throw: the client hands it to its log
// port and keeps going.

/** A listener may be async: its rejection is caught as a throw would be (never an unhandled rejection in the host). */
type Listener<A extends unknown[]> = (...args: A) => unknown;

export class Listeners<E extends { [K in keyof E]: unknown[] }> {
  private readonly byName = new Map<keyof E, Array<Listener<never[]>>>();

  on<K extends keyof E>(name: K, fn: Listener<E[K]>): this {
    const l = this.byName.get(name) ?? [];
    l.push(fn as unknown as Listener<never[]>);
    this.byName.set(name, l);
    return this;
  }

  off<K extends keyof E>(name: K, fn: Listener<E[K]>): this {
    const l = this.byName.get(name);
    const i = l ? l.indexOf(fn as unknown as Listener<never[]>) : -1;
    if (i >= 0) l!.splice(i, 1);
    return this;
  }

  once<K extends keyof E>(name: K, fn: Listener<E[K]>): this {
    const w = ((...args: E[K]) => (this.off(name, w), fn(...args))) as Listener<E[K]>;
    return this.on(name, w);
  }

  listenerCount(name: keyof E): number {
    return this.byName.get(name)?.length ?? 0;
  }

  /** Calls each listener in turn; whether anyone listened. A listener that throws does not stop the others. */
  protected emit<K extends keyof E>(name: K, ...args: E[K]): boolean {
    const l = this.byName.get(name);
    if (!l || l.length === 0) return false;
    for (const fn of [...l]) {
      try {
        const r = (fn as unknown as Listener<E[K]>)(...args);
        if (r && typeof (r as Promise<unknown>).then === "function") (r as Promise<unknown>).then(undefined, (e: unknown) => this.listenerFailed(e));
      } catch (e) {
        this.listenerFailed(e);
      }
    }
    return true;
  }

  /** A listener's own failure is the host's bug, not the client's: reported, never rethrown into the client. */
  protected listenerFailed(_e: unknown): void {}
}
