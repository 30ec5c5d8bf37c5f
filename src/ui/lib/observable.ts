// A value that components follow: set() tells every subscriber; useValue() re-renders a component when it changes.
import { useEffect, useState } from 'preact/hooks';

export class Observable<T> {
  private readonly subscribers = new Set<(value: T) => void>();

  constructor(private current: T) {}

  get value(): T {
    return this.current;
  }

  set(value: T): void {
    this.current = value;
    for (const fn of this.subscribers) fn(value);
  }

  subscribe(fn: (value: T) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}

export function useValue<T>(observable: Observable<T>): T {
  const [, setTick] = useState(0);
  const value = observable.value;
  useEffect(() => {
    const off = observable.subscribe(() => setTick((n) => n + 1));
    // Effects run after paint: a change between this render and the subscription would otherwise be missed.
    if (observable.value !== value) setTick((n) => n + 1);
    return off;
  }, [observable]);
  return value;
}
