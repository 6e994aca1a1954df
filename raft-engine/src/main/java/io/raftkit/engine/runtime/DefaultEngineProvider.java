package io.raftkit.engine.runtime;

import io.raftkit.api.Raft;
import io.raftkit.api.spi.RaftEngineProvider;
import io.raftkit.api.spi.RaftSetup;
import java.io.IOException;

/** The raft-engine provider, named {@code "default"}. */
public final class DefaultEngineProvider implements RaftEngineProvider {

  /** Public no-argument constructor, for {@link java.util.ServiceLoader}. */
  public DefaultEngineProvider() {}

  @Override
  public String name() {
    return "default";
  }

  @Override
  public <R> Raft<R> start(final RaftSetup<R> setup) throws IOException {
    return RaftNode.start(setup);
  }
}
