package io.raftkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.spi.Providers;
import org.junit.jupiter.api.Test;

/**
 * Checks what cluster tests rely on: on this module's test path {@link java.util.ServiceLoader}
 * finds the transport {@code "local"} of this module and the storage {@code "memory"} of the
 * test-scope storage-memory.
 */
class ProviderWiringTest {

  @Test
  void shouldFindLocalTransportAndMemoryStorage() {
    assertThat(Providers.transport(LocalNetwork.PROVIDER_NAME).name()).isEqualTo("local");
    assertThat(Providers.storage("memory").name()).isEqualTo("memory");
  }
}
