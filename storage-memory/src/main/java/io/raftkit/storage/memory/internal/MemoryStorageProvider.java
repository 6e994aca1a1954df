package io.raftkit.storage.memory.internal;

import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import io.raftkit.api.spi.StorageProvider;
import io.raftkit.storage.memory.MemoryStores;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The storage provider {@code "memory"}: keeps a node's log, vote and snapshots in the heap.
 *
 * <p>With the option {@value MemoryStores#NAME_OPTION} the node uses the named store of {@link
 * MemoryStores}, which outlives a close; without it each open gets a fresh store that disappears
 * with the session. {@value MemoryStores#BLOCKING_OPTION}{@code =true} makes the session say its
 * writes may block, so that the runtime runs them on its log writer. Public with a public no-argument constructor for {@link
 * java.util.ServiceLoader}.
 */
public final class MemoryStorageProvider implements StorageProvider {

  /** The provider's name. */
  public static final String NAME = "memory";

  private static final AtomicLong ANONYMOUS = new AtomicLong();

  /** Creates the provider; called by {@link java.util.ServiceLoader}. */
  public MemoryStorageProvider() {}

  /** {@inheritDoc} */
  @Override
  public String name() {
    return NAME;
  }

  /**
   * {@inheritDoc}
   *
   * @throws IOException if the named store is already open (as a second process could not open
   *     the same files)
   */
  @Override
  public RaftStorage open(final StorageContext context) throws IOException {
    final String rawBlocking = context.option(MemoryStores.BLOCKING_OPTION, "false").trim();
    if (!rawBlocking.equals("true") && !rawBlocking.equals("false")) {
      throw new IOException("option " + MemoryStores.BLOCKING_OPTION + "=" + rawBlocking + " must be true or false");
    }
    final String name = context.option(MemoryStores.NAME_OPTION, null);
    final MemoryRaftStorage session;
    if (name == null) {
      final DurableStore store =
          new DurableStore("anonymous-" + ANONYMOUS.incrementAndGet() + "-node" + context.nodeId());
      session = store.open(context.nodeId());
    } else if (name.isBlank()) {
      throw new IOException(
          "option " + MemoryStores.NAME_OPTION + "='" + name + "' must not be blank (omit it for a fresh store)");
    } else {
      session = StoreRegistry.durable(name).open(context.nodeId());
    }
    session.blocking(Boolean.parseBoolean(rawBlocking));
    return session;
  }

  @Override
  public String toString() {
    return "MemoryStorageProvider{name=" + NAME + "}";
  }
}
