package io.raftkit.storage.memory;

import io.raftkit.storage.memory.internal.StoreRegistry;
import java.util.List;
import java.util.Optional;

/**
 * The registry of named in-memory stores in this JVM.
 *
 * <p>A node opened with the storage option {@value #NAME_OPTION}{@code =<name>} uses the store of
 * that name, created empty on first use; closing the node keeps it, so opening a node again with
 * the same name is a restart. Without the option every open gets a fresh store that disappears on
 * close.
 *
 * <pre>{@code
 * Raft<Long> raft = Raft.<Long>builder()
 *     .storage("memory").option(MemoryStores.NAME_OPTION, "node1")
 *     ...
 * MemoryStores.get("node1").crash();   // power loss: unsynced writes are gone
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class MemoryStores {

  /** The storage option that names the store a node uses. */
  public static final String NAME_OPTION = "memory.name";

  /**
   * The storage option {@code memory.blocking=true|false} (default false). True: the session says
   * its writes may block ({@link io.raftkit.api.spi.RaftStorage#neverBlocks()} false), so the
   * runtime runs them on its log-writer thread, as it does for a disk store; a test or benchmark
   * exercises that path without a disk. False: they run inline on the engine thread.
   */
  public static final String BLOCKING_OPTION = "memory.blocking";

  private MemoryStores() {}

  /**
   * The store named {@code name}.
   *
   * @throws IllegalArgumentException if there is no store of that name; the message lists the
   *     names there are
   */
  public static MemoryStore get(final String name) {
    return StoreRegistry.find(name)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "no memory store name=" + name + ", names=" + StoreRegistry.names()));
  }

  /** The store named {@code name}, if there is one. */
  public static Optional<MemoryStore> find(final String name) {
    return StoreRegistry.find(name);
  }

  /**
   * The store named {@code name}, created empty if there is none yet: lets a test prepare a store
   * (for example {@link MemoryStore#holdSyncs()}) before a node opens it.
   *
   * @throws IllegalArgumentException if {@code name} is blank
   */
  public static MemoryStore getOrCreate(final String name) {
    return StoreRegistry.getOrCreate(name);
  }

  /** The names of the stores, sorted. */
  public static List<String> names() {
    return StoreRegistry.names();
  }

  /**
   * Forgets the store named {@code name}: the next open with that name starts empty. A session
   * open on it keeps working on the forgotten data.
   *
   * @return whether there was such a store
   */
  public static boolean drop(final String name) {
    return StoreRegistry.drop(name);
  }

  /** Forgets every store. */
  public static void clear() {
    StoreRegistry.clear();
  }
}
