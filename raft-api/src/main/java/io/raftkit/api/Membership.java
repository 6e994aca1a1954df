package io.raftkit.api;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A cluster configuration: one voter set, or two while a joint-consensus change is in progress
 * (§6 of the Raft paper), plus the address of every node, voters and learners alike.
 *
 * <p>Learners are the nodes that have an address but are in no voter set: they receive the log and
 * never vote. While joint, an election or a commit needs a majority of <em>each</em> voter set.
 *
 * <p>Immutable: the sets and the map are unmodifiable copies, ordered by node id.
 *
 * @param configs one voter set, or two (old, new) while joint; each non-empty
 * @param nodes the address of every member; must include every voter
 */
public record Membership(List<Set<Long>> configs, Map<Long, String> nodes) {

  private static final int FORMAT_VERSION = 1;

  /** Validates and copies the fields. */
  public Membership {
    Objects.requireNonNull(configs, "configs");
    Objects.requireNonNull(nodes, "nodes");
    if (configs.isEmpty() || configs.size() > 2) {
      throw new IllegalArgumentException(
          "configs.size=" + configs.size() + " must be 1 (uniform) or 2 (joint)");
    }
    final List<Set<Long>> copied = new ArrayList<>(configs.size());
    for (final Set<Long> voters : configs) {
      if (voters == null || voters.isEmpty()) {
        throw new IllegalArgumentException("a voter set must not be empty, configs=" + configs);
      }
      final TreeSet<Long> set = new TreeSet<>();
      for (final Long id : voters) {
        checkNodeId(id);
        set.add(id);
      }
      copied.add(Collections.unmodifiableSet(set));
    }
    final TreeMap<Long, String> addresses = new TreeMap<>();
    for (final Map.Entry<Long, String> e : nodes.entrySet()) {
      checkNodeId(e.getKey());
      if (e.getValue() == null || e.getValue().isBlank()) {
        throw new IllegalArgumentException("node " + e.getKey() + " has no address");
      }
      addresses.put(e.getKey(), e.getValue());
    }
    for (final Set<Long> voters : copied) {
      for (final Long id : voters) {
        if (!addresses.containsKey(id)) {
          throw new IllegalArgumentException("voter " + id + " has no address in nodes=" + nodes);
        }
      }
    }
    configs = List.copyOf(copied);
    nodes = Collections.unmodifiableMap(addresses);
  }

  private static void checkNodeId(final Long id) {
    if (id == null || id <= 0) {
      throw new IllegalArgumentException("node id=" + id + " must be > 0");
    }
  }

  /** A uniform membership in which every given node is a voter. */
  public static Membership ofVoters(final Map<Long, String> voters) {
    return new Membership(List.of(voters.keySet()), voters);
  }

  /** Whether a joint change is in progress (two voter sets). */
  public boolean isJoint() {
    return configs.size() == 2;
  }

  /** Every voter of every voter set, ordered by id. */
  public Set<Long> voterIds() {
    if (!isJoint()) {
      return configs.get(0);
    }
    final TreeSet<Long> all = new TreeSet<>(configs.get(0));
    all.addAll(configs.get(1));
    return Collections.unmodifiableSet(all);
  }

  /** The members that vote in no voter set, ordered by id. */
  public Set<Long> learnerIds() {
    final Set<Long> voters = voterIds();
    final LinkedHashSet<Long> learners = new LinkedHashSet<>();
    for (final Long id : nodes.keySet()) {
      if (!voters.contains(id)) {
        learners.add(id);
      }
    }
    return Collections.unmodifiableSet(learners);
  }

  /** Whether {@code nodeId} is a voter in some voter set. */
  public boolean isVoter(final long nodeId) {
    for (final Set<Long> voters : configs) {
      if (voters.contains(nodeId)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code nodeId} is a member (voter or learner). */
  public boolean contains(final long nodeId) {
    return nodes.containsKey(nodeId);
  }

  /** The address of {@code nodeId}, or {@code null} if it is not a member. */
  public String address(final long nodeId) {
    return nodes.get(nodeId);
  }

  /** Whether {@code granted} holds a majority of every voter set. */
  public boolean isQuorum(final Set<Long> granted) {
    for (final Set<Long> voters : configs) {
      int count = 0;
      for (final Long id : voters) {
        if (granted.contains(id)) {
          count++;
        }
      }
      if (count * 2 <= voters.size()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Encodes this membership. Layout (big-endian):
   *
   * <pre>
   *  +---------+---------+----------------------------------+
   *  | version | nConfig | per config: nVoters, voter ids.. |
   *  |  int    |  int    |   int, long...                   |
   *  +---------+---------+----------------------------------+
   *  | nNodes  | per node: id (long), addrLen (int), UTF-8  |
   *  +---------+--------------------------------------------+
   * </pre>
   */
  public byte[] encode() {
    final List<byte[]> addrs = new ArrayList<>(nodes.size());
    int size = 8;
    for (final Set<Long> voters : configs) {
      size += 4 + 8 * voters.size();
    }
    size += 4;
    for (final String a : nodes.values()) {
      final byte[] b = a.getBytes(StandardCharsets.UTF_8);
      addrs.add(b);
      size += 12 + b.length;
    }
    final ByteBuffer buf = ByteBuffer.allocate(size);
    buf.putInt(FORMAT_VERSION).putInt(configs.size());
    for (final Set<Long> voters : configs) {
      buf.putInt(voters.size());
      for (final Long id : voters) {
        buf.putLong(id);
      }
    }
    buf.putInt(nodes.size());
    int i = 0;
    for (final Long id : nodes.keySet()) {
      final byte[] b = addrs.get(i++);
      buf.putLong(id).putInt(b.length).put(b);
    }
    return buf.array();
  }

  /**
   * Decodes what {@link #encode()} wrote.
   *
   * @throws IllegalArgumentException if the bytes are not a valid membership
   */
  public static Membership decode(final byte[] bytes) {
    try {
      final ByteBuffer buf = ByteBuffer.wrap(bytes);
      final int version = buf.getInt();
      if (version != FORMAT_VERSION) {
        throw new IllegalArgumentException("unknown membership format version=" + version);
      }
      final int nConfigs = buf.getInt();
      if (nConfigs < 1 || nConfigs > 2) {
        throw new IllegalArgumentException("bad membership config count=" + nConfigs);
      }
      final List<Set<Long>> configs = new ArrayList<>(nConfigs);
      for (int c = 0; c < nConfigs; c++) {
        final int n = checkCount(buf.getInt(), buf, 8);
        final Set<Long> voters = new TreeSet<>();
        for (int i = 0; i < n; i++) {
          voters.add(buf.getLong());
        }
        configs.add(voters);
      }
      final int nNodes = checkCount(buf.getInt(), buf, 12);
      final Map<Long, String> nodes = new TreeMap<>();
      for (int i = 0; i < nNodes; i++) {
        final long id = buf.getLong();
        final int len = checkCount(buf.getInt(), buf, 1);
        final byte[] b = new byte[len];
        buf.get(b);
        nodes.put(id, new String(b, StandardCharsets.UTF_8));
      }
      if (buf.hasRemaining()) {
        throw new IllegalArgumentException(buf.remaining() + " trailing bytes after membership");
      }
      return new Membership(configs, nodes);
    } catch (final BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated membership of " + bytes.length + " bytes", e);
    }
  }

  private static int checkCount(final int n, final ByteBuffer buf, final int minBytesEach) {
    if (n < 0 || (long) n * minBytesEach > buf.remaining()) {
      throw new IllegalArgumentException("bad count=" + n + " with " + buf.remaining() + " bytes left");
    }
    return n;
  }

  @Override
  public String toString() {
    return "Membership{voters=" + configs + ", nodes=" + nodes + "}";
  }
}
