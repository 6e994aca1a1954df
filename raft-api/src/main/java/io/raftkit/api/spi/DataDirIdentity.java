package io.raftkit.api.spi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * The identity file of a node's data directory, for storage providers: which node of which
 * cluster the directory belongs to, so that a node started on another node's directory, or on a
 * directory of another cluster, refuses to start instead of mixing two logs.
 *
 * <p>The file is {@value #FILE_NAME}, a few lines of text:
 *
 * <pre>
 * # raftkit data directory: do not copy it to another node
 * nodeId=1
 * clusterId=orders
 * </pre>
 *
 * <p>A provider calls {@link #verify} before it changes anything in the directory, and {@link
 * #verifyOrRecord} once it holds the directory's lock (so that of two processes racing for an
 * empty directory, only the one that won the lock records itself). A directory without the file
 * (new, or written by a raftkit version that did not record it) is adopted by the first node that
 * opens it.
 */
public final class DataDirIdentity {

  /** The file's name in the data directory. */
  public static final String FILE_NAME = "IDENTITY";

  private static final String NODE_ID = "nodeId";
  private static final String CLUSTER_ID = "clusterId";

  private DataDirIdentity() {}

  /**
   * Checks the identity file of {@code dir}, if there is one, against {@code context}.
   *
   * @return whether {@code dir} has an identity file (then it names this node and cluster)
   * @throws IOException if it names another node or cluster (the message says which it found and
   *     which this node is), or cannot be read or parsed (the message names the file)
   */
  public static boolean verify(final Path dir, final StorageContext context) throws IOException {
    final Path file = dir.resolve(FILE_NAME);
    final String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (final NoSuchFileException e) {
      return false;
    }
    final Map<String, String> fields = new TreeMap<>();
    for (final String raw : text.split("\n", -1)) {
      final String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      final int eq = line.indexOf('=');
      if (eq <= 0) {
        throw new IOException("corrupt identity file=" + file + ": line '" + line + "' is not key=value");
      }
      fields.put(line.substring(0, eq), line.substring(eq + 1));
    }
    final String nodeId = fields.get(NODE_ID);
    final String clusterId = fields.get(CLUSTER_ID);
    if (nodeId == null || clusterId == null) {
      throw new IOException("corrupt identity file=" + file + ": it needs " + NODE_ID + " and " + CLUSTER_ID
          + " but has " + fields.keySet());
    }
    final boolean sameNode = nodeId.equals(Long.toString(context.nodeId()));
    final boolean sameCluster = clusterId.equals(context.clusterId());
    if (!sameNode || !sameCluster) {
      throw new IOException("data directory " + dir + " belongs to nodeId=" + nodeId + " of clusterId=" + clusterId
          + " (" + file + "), but this node was started as nodeId=" + context.nodeId() + " of clusterId="
          + context.clusterId() + ": refusing to open another "
          + (sameCluster ? "node's" : "cluster's") + " data; give each node its own data directory");
    }
    return true;
  }

  /**
   * Like {@link #verify}, then, if {@code dir} had no identity file, records this node's identity
   * there: atomically (written to a temporary file, forced, renamed) and durably (the directory
   * is forced too). Call it while holding the directory's lock.
   *
   * @throws IOException as {@link #verify} does, or if the file cannot be written
   */
  public static void verifyOrRecord(final Path dir, final StorageContext context) throws IOException {
    if (verify(dir, context)) {
      return;
    }
    if (context.clusterId().chars().anyMatch(Character::isISOControl)) {
      throw new IOException("cannot record clusterId=" + context.clusterId().replaceAll("\\p{Cntrl}", "?")
          + " in " + dir.resolve(FILE_NAME) + ": it contains control characters");
    }
    final byte[] bytes =
        ("# raftkit data directory: do not copy it to another node\n" + NODE_ID + "=" + context.nodeId() + "\n"
                + CLUSTER_ID + "=" + context.clusterId() + "\n")
            .getBytes(StandardCharsets.UTF_8);
    final Path file = dir.resolve(FILE_NAME);
    final Path tmp = dir.resolve(FILE_NAME + ".tmp");
    try (FileChannel ch = FileChannel.open(
        tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      final ByteBuffer buf = ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }
}
