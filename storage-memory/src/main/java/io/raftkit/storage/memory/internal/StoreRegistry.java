package io.raftkit.storage.memory.internal;

import io.raftkit.storage.memory.MemoryStore;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The named stores of this JVM. Public only so that {@link io.raftkit.storage.memory.MemoryStores}
 * can reach it; this package is not exported. Thread-safe.
 */
public final class StoreRegistry {

  private static final ConcurrentMap<String, DurableStore> STORES = new ConcurrentHashMap<>();

  private StoreRegistry() {}

  /**
   * The store named {@code name}, if any.
   *
   * @param name the store's name
   * @return the store, or empty
   */
  public static Optional<MemoryStore> find(final String name) {
    return Optional.ofNullable(STORES.get(name));
  }

  /**
   * The store named {@code name}, created empty if absent.
   *
   * @param name the store's name, not blank
   * @return the store
   */
  public static MemoryStore getOrCreate(final String name) {
    return durable(name);
  }

  /**
   * The names of the stores, sorted.
   *
   * @return the names
   */
  public static List<String> names() {
    return List.copyOf(new TreeSet<>(STORES.keySet()));
  }

  /**
   * Forgets one store.
   *
   * @param name the store's name
   * @return whether there was such a store
   */
  public static boolean drop(final String name) {
    return STORES.remove(name) != null;
  }

  /** Forgets every store. */
  public static void clear() {
    STORES.clear();
  }

  static DurableStore durable(final String name) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("memory store name=" + name + " must not be blank");
    }
    return STORES.computeIfAbsent(name, DurableStore::new);
  }
}
