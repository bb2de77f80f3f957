/**
 * Module-level state keyed by the configuration it was built from: the local stack runs every
 * handler in one process, so a table name or queue URL may differ between runs.
 */
export function getOrCreate<K, V>(instances: Map<K, V>, key: K, create: () => V): V {
  let instance = instances.get(key);
  if (instance === undefined) {
    instance = create();
    instances.set(key, instance);
  }
  return instance;
}
