package io.raftkit.examples.kv;

import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.spi.SnapshotSource;
import io.raftkit.api.spi.StateMachine;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicated key-value map. Volatile: {@link #lastApplied()} is {@link LogId#ZERO} at start,
 * so the engine restores it from the latest snapshot, if any, and replays the log after it; a node
 * with durable storage recovers its data on restart.
 *
 * <p>Snapshots: {@link #snapshot()} copies the map on the apply thread (O(keys); a persistent map
 * would make it O(1), which this example does not need) and writes the copy as a format tag, the
 * last applied id, the key count and each key and value as UTF-8 with its length.
 *
 * <p>Deterministic: the result and the new state depend only on the entries applied. {@link
 * #apply} runs on the node's apply thread; {@link #get}, {@link #lastApplied()} and {@link
 * #snapshot()} may be called from any thread and see a state that may lag the cluster (a local,
 * possibly stale read).
 */
final class KvStateMachine implements StateMachine<KvResult> {
  private static final Logger LOG = LoggerFactory.getLogger(KvStateMachine.class);

  private static final int SNAPSHOT_FORMAT = 0x4B560001;
  private static final int MAX_STRING_BYTES = 64 << 20;

  private final Map<String, String> data = new ConcurrentHashMap<>();
  private volatile LogId lastApplied = LogId.ZERO;

  @Override
  public LogId lastApplied() {
    return lastApplied;
  }

  @Override
  public synchronized KvResult apply(final Entry entry) { // synchronized: digest() sees whole entries
    try {
      if (entry.kind() != EntryKind.NORMAL) {
        return null;
      }
      final KvCommand command;
      try {
        command = KvCommand.decode(entry.payload());
      } catch (final IllegalArgumentException e) {
        // Deterministic too: every replica skips the same entry the same way.
        LOG.warn("entry {} is not a key-value command and changes nothing: {}", entry.logId(), e.getMessage());
        return null;
      }
      return apply(command);
    } finally {
      lastApplied = entry.logId();
    }
  }

  /** Applies one command to the map. */
  KvResult apply(final KvCommand command) {
    final String key = command.key();
    switch (command.op()) {
      case PUT:
        return new KvResult(true, data.put(key, command.value()));
      case DELETE:
        final String previous = data.remove(key);
        return new KvResult(previous != null, previous);
      case CAS:
        final String current = data.get(key);
        if (Objects.equals(current, command.expected())) {
          data.put(key, command.value());
          return new KvResult(true, command.value());
        }
        return new KvResult(false, current);
      case GET:
        final String value = data.get(key);
        return new KvResult(value != null, value);
      default:
        throw new IllegalStateException("unknown op=" + command.op());
    }
  }

  /** The local value of {@code key}, or {@code null}; possibly stale. */
  String get(final String key) {
    return data.get(key);
  }

  @Override
  public synchronized SnapshotSource snapshot() {
    final LogId at = lastApplied;
    final Map<String, String> copy = new TreeMap<>(data);
    return out -> {
      final DataOutputStream d = new DataOutputStream(out);
      d.writeInt(SNAPSHOT_FORMAT);
      d.writeLong(at.term());
      d.writeLong(at.index());
      d.writeInt(copy.size());
      for (final Map.Entry<String, String> e : copy.entrySet()) {
        writeString(d, e.getKey());
        writeString(d, e.getValue());
      }
      d.flush();
    };
  }

  @Override
  public synchronized void restore(final SnapshotMeta meta, final InputStream in) throws IOException {
    final DataInputStream d = new DataInputStream(in);
    final int format = d.readInt();
    if (format != SNAPSHOT_FORMAT) {
      throw new IOException("snapshot " + meta.snapshotId() + " is not a key-value snapshot (format tag "
          + Integer.toHexString(format) + ")");
    }
    final LogId at = LogId.of(d.readLong(), d.readLong());
    if (!at.equals(meta.lastLogId())) {
      throw new IOException("snapshot " + meta.snapshotId() + " holds the map at " + at + " but says " + meta.lastLogId());
    }
    final int keys = d.readInt();
    if (keys < 0) {
      throw new IOException("snapshot " + meta.snapshotId() + " has a negative key count " + keys);
    }
    final Map<String, String> restored = new java.util.HashMap<>();
    for (int i = 0; i < keys; i++) {
      restored.put(readString(d), readString(d));
    }
    if (d.read() != -1) {
      throw new IOException("snapshot " + meta.snapshotId() + " has bytes after its " + keys + " keys");
    }
    data.clear();
    data.putAll(restored);
    lastApplied = at;
  }

  private static void writeString(final DataOutputStream d, final String s) throws IOException {
    final byte[] b = s.getBytes(StandardCharsets.UTF_8);
    d.writeInt(b.length);
    d.write(b);
  }

  private static String readString(final DataInputStream d) throws IOException {
    final int n = d.readInt();
    if (n < 0 || n > MAX_STRING_BYTES) {
      throw new IOException("a key or value of " + n + " bytes in a snapshot (at most " + MAX_STRING_BYTES + ")");
    }
    final byte[] b = new byte[n];
    d.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  /** A sorted copy of the local map; possibly stale. */
  Map<String, String> copy() {
    return new TreeMap<>(data);
  }

  /**
   * A digest of the local state: SHA-256 over the sorted entries (each key and value as its UTF-8
   * length and bytes), with the last applied log id and the key count, taken between two entries.
   * Equal on every replica that applied the same entries (what the chaos test compares).
   */
  synchronized Digest digest() {
    final java.security.MessageDigest sha;
    try {
      sha = java.security.MessageDigest.getInstance("SHA-256");
    } catch (final java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    final Map<String, String> sorted = new TreeMap<>(data);
    final java.nio.ByteBuffer len = java.nio.ByteBuffer.allocate(4);
    for (final Map.Entry<String, String> e : sorted.entrySet()) {
      for (final String s : new String[] {e.getKey(), e.getValue()}) {
        final byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        sha.update(len.clear().putInt(b.length).array());
        sha.update(b);
      }
    }
    return new Digest(lastApplied, sorted.size(), java.util.HexFormat.of().formatHex(sha.digest()));
  }

  /**
   * What {@link #digest()} returns.
   *
   * @param lastApplied the last entry applied
   * @param keys the number of keys
   * @param sha256 the hex SHA-256 of the sorted entries
   */
  record Digest(LogId lastApplied, int keys, String sha256) {
    /** As the JSON body of {@code GET /admin/digest} on node {@code nodeId}. */
    Map<String, Object> toJson(final long nodeId) {
      final Map<String, Object> out = new java.util.LinkedHashMap<>();
      out.put("node", nodeId);
      final Map<String, Object> applied = new java.util.LinkedHashMap<>();
      applied.put("term", lastApplied.term());
      applied.put("index", lastApplied.index());
      out.put("last_applied", applied);
      out.put("keys", keys);
      out.put("sha256", sha256);
      return out;
    }
  }

  /** The number of keys in the local map. */
  int size() {
    return data.size();
  }
}
