// Both stores hand the same cached object to every reader: freezing it turns a stray mutation into an error
// instead of a silent change of what every other reader sees.

export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}
