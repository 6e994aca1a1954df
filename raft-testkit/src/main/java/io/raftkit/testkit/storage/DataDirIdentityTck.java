package io.raftkit.testkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Vote;
import io.raftkit.api.spi.DataDirIdentity;
import io.raftkit.api.spi.Providers;
import io.raftkit.api.spi.RaftStorage;
import io.raftkit.api.spi.StorageContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * For storage providers that keep a node's data in a directory and record whose it is with
 * {@link DataDirIdentity}: a directory of another node id or another cluster is refused, saying
 * what it found and what it was given, and is left as it was.
 *
 * <pre>{@code
 * class MyDataDirIdentityTest extends DataDirIdentityTck {
 *   @Override
 *   protected String providerName() {
 *     return "my";
 *   }
 * }
 * }</pre>
 */
public abstract class DataDirIdentityTck {

  private Path dir;

  /** For subclasses. */
  protected DataDirIdentityTck() {}

  /** Creates the data directory of the case (JUnit's {@code @TempDir} cannot reach into this module). */
  @BeforeEach
  public final void createDir() throws IOException {
    dir = Files.createTempDirectory("raftkit-identity-tck-");
  }

  /** Deletes it. */
  @AfterEach
  public final void deleteDir() throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (final Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /**
   * The name of the storage provider under test.
   *
   * @return the name
   */
  protected abstract String providerName();

  /**
   * The provider options.
   *
   * @return the options; none by default
   */
  protected Map<String, String> options() {
    return Map.of();
  }

  private RaftStorage open(final long nodeId, final String clusterId) throws IOException {
    return Providers.storage(providerName()).open(new StorageContext(nodeId, clusterId, dir, options()));
  }

  /** Node 1 of cluster alpha votes for itself in term 7, and closes. */
  private void claimAsNodeOneOfAlpha() throws IOException {
    try (RaftStorage s = open(1, "alpha")) {
      s.saveVote(new Vote(7, 1, false));
    }
  }

  /** The directory still opens as node 1 of alpha, with its vote. */
  private void assertStillNodeOneOfAlpha() throws IOException {
    try (RaftStorage s = open(1, "alpha")) {
      assertThat(s.readVote()).isEqualTo(new Vote(7, 1, false));
    }
  }

  /** Conformance case: a new directory is recorded as the opening node's, and reopens as it. */
  @Test
  public void shouldRecordWhoseDirectoryItIsAndReopenForTheSameNode() throws IOException {
    claimAsNodeOneOfAlpha();

    assertThat(Files.readString(dir.resolve(DataDirIdentity.FILE_NAME), StandardCharsets.UTF_8))
        .contains("nodeId=1\n", "clusterId=alpha\n");
    assertStillNodeOneOfAlpha();
  }

  /** Conformance case: another node id is refused, naming both ids; the data stays. */
  @Test
  public void shouldRefuseTheDirectoryOfAnotherNode() throws IOException {
    claimAsNodeOneOfAlpha();

    assertThatThrownBy(() -> open(2, "alpha"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("belongs to nodeId=1 of clusterId=alpha")
        .hasMessageContaining("started as nodeId=2 of clusterId=alpha")
        .hasMessageContaining(dir.toString());
    assertStillNodeOneOfAlpha();
  }

  /** Conformance case: another cluster id is refused, naming both ids; the data stays. */
  @Test
  public void shouldRefuseTheDirectoryOfAnotherCluster() throws IOException {
    claimAsNodeOneOfAlpha();

    assertThatThrownBy(() -> open(1, "beta"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("belongs to nodeId=1 of clusterId=alpha")
        .hasMessageContaining("started as nodeId=1 of clusterId=beta")
        .hasMessageContaining("another cluster's data");
    assertStillNodeOneOfAlpha();
  }

  /**
   * Conformance case: a directory written before identities were recorded is adopted by the
   * first node that opens it, and then refused to others.
   */
  @Test
  public void shouldAdoptADirectoryWithoutIdentityThenHoldToIt() throws IOException {
    claimAsNodeOneOfAlpha();
    Files.delete(dir.resolve(DataDirIdentity.FILE_NAME));

    assertStillNodeOneOfAlpha();
    assertThat(dir.resolve(DataDirIdentity.FILE_NAME)).exists();
    assertThatThrownBy(() -> open(3, "alpha")).isInstanceOf(IOException.class).hasMessageContaining("nodeId=3");
  }

  /** Conformance case: an unreadable identity file is refused, naming the file. */
  @Test
  public void shouldRefuseACorruptIdentityFile() throws IOException {
    claimAsNodeOneOfAlpha();
    final Path file = dir.resolve(DataDirIdentity.FILE_NAME);
    Files.writeString(file, "nodeId=1\n", StandardCharsets.UTF_8);

    assertThatThrownBy(() -> open(1, "alpha"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("corrupt identity file=" + file);
    Files.writeString(file, "garbage\n", StandardCharsets.UTF_8);
    assertThatThrownBy(() -> open(1, "alpha"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("corrupt identity file=" + file);
  }
}
