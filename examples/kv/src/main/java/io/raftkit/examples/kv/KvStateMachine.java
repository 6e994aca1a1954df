package io.raftkit.examples.kv;

import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.spi.StateMachine;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicated key-value map. Volatile: {@link #lastApplied()} is {@link LogId#ZERO} at start,
 * so the engine replays the whole log into it (the engine takes no snapshots yet, so the log is
 * complete and a node with durable storage recovers its data on restart).
 *
 * <p>Deterministic: the result and the new state depend only on the entries applied. {@link
 * #apply} runs on the node's apply thread; {@link #get}, {@link #lastApplied()} and {@link
 * #snapshot()} may be called from any thread and see a state that may lag the cluster (a local,
 * possibly stale read).
 */
final class KvStateMachine implements StateMachine<KvResult> {
  private static final Logger LOG = LoggerFactory.getLogger(KvStateMachine.class);

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

  /** A sorted copy of the local map; possibly stale. */
  Map<String, String> snapshot() {
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
