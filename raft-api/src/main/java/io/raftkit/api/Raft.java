package io.raftkit.api;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * The handle of one running Raft node: the one public entry point of raftkit.
 *
 * <pre>{@code
 * Raft<String> raft = Raft.<String>builder()
 *     .nodeId(1)
 *     .config(Config.defaults())
 *     .stateMachine(myStateMachine)
 *     .storage("file")
 *     .transport("netty")
 *     .dataDir(Path.of("/var/lib/node1"))
 *     .bindAddress("127.0.0.1:7001")
 *     .build();
 * raft.initialize(Membership.ofVoters(Map.of(1L, "127.0.0.1:7001", ...))).join(); // once, on one node
 * WriteResult<String> r = raft.write("set x=1".getBytes(UTF_8)).join();
 * }</pre>
 *
 * <p>Thread-safe: every method may be called from any thread. Methods never block; results come
 * as futures. Futures are completed on raftkit's threads (the apply thread for writes): attach
 * only quick, non-blocking callbacks, or use the {@code *Async} variants with your own executor.
 *
 * @param <R> what the state machine returns for a write
 */
public interface Raft<R> extends AutoCloseable {

  /** A builder for a node whose state machine returns {@code R}. */
  static <R> RaftBuilder<R> builder() {
    return new RaftBuilder<>();
  }

  /** This node's id. */
  long nodeId();

  /** The address this node's transport listens at. */
  String localAddress();

  /**
   * Forms a new cluster: writes {@code membership} as the first log entry of this node. Call it on
   * one node of a new cluster (calling it on every voter with the same membership is also safe:
   * the others refuse because they have received the log). The node must be a voter of {@code
   * membership}.
   *
   * @return completes once the membership is durable in this node's log; fails with {@link
   *     io.raftkit.api.error.AlreadyInitializedException} if the node has a log or a vote, with
   *     {@link io.raftkit.api.error.NotAMemberException} if it is not a voter of {@code membership}
   */
  CompletableFuture<Void> initialize(Membership membership);

  /**
   * Proposes a command. Only the leader accepts writes.
   *
   * @param command the command; the engine owns the array afterwards (do not modify it)
   * @return completes when the command is committed and applied, with its log id and the state
   *     machine's result; fails with {@link io.raftkit.api.error.NotLeaderException} (naming the
   *     leader, if known) on a non-leader or if the entry was overwritten by another leader,
   *     {@link io.raftkit.api.error.InvalidRequestException} if {@code command} is null or larger
   *     than {@link Config#maxEntryBytes()}, {@link io.raftkit.api.error.OverloadedException} if
   *     {@link Config#maxPendingWrites()} writes are in progress, {@link
   *     io.raftkit.api.error.ShutdownException} if the node is closed or stops
   *     <p><b>Outcomes:</b> a {@code NotLeaderException} means the command was not and will never
   *     be committed (it was refused, or another entry was committed at its index), so it is safe
   *     to retry on the leader. A {@code ShutdownException} for a command already accepted means
   *     the outcome is unknown: it may still be committed by the other nodes. A leader that loses
   *     leadership does not fail its pending writes at once: they complete when their index is
   *     applied on this node, successfully if the entry there is theirs.
   */
  CompletableFuture<WriteResult<R>> write(byte[] command);

  /**
   * Makes a linearizable read possible: completes with a read index once this node's state
   * machine has applied at least up to it. The application then reads its own state machine, and
   * the read reflects every write acknowledged before this call.
   *
   * @param policy how leadership is confirmed
   * @return the read index; fails with {@link io.raftkit.api.error.NotLeaderException} on a
   *     non-leader or if leadership is lost before the read is confirmed, with {@link
   *     io.raftkit.api.error.LeaseExpiredException} for a {@link ReadPolicy#LEASE} read without a
   *     valid lease, with {@link io.raftkit.api.error.ShutdownException} if the node stops
   */
  CompletableFuture<LogId> ensureLinearizable(ReadPolicy policy);

  /**
   * Changes the membership (a leader only). A change of the voter set goes through joint
   * consensus: C(old,new) commits, then the leader appends C(new); this completes when C(new) is
   * committed. A leader that removes itself keeps leading until then, and then steps down.
   *
   * @param change what to change
   * @param retain whether removed voters stay as learners
   * @return the log id of the final membership entry; fails with {@link
   *     io.raftkit.api.error.NotLeaderException} on a non-leader, with {@link
   *     io.raftkit.api.error.InvalidRequestException} naming the problem if another change is in
   *     progress, the leader has not yet committed an entry of its term, or the change is invalid
   *     (it would leave no voter, names a node that is not a member, ...), with {@link
   *     io.raftkit.api.error.OutcomeUnknownException} if the leader stepped down after appending
   *     the change's entry (it may still commit under the next leader, which then finishes a
   *     joint change: read the membership before retrying)
   */
  CompletableFuture<LogId> changeMembership(ChangeMembers change, boolean retain);

  /**
   * Adds a learner (a leader only).
   *
   * @param nodeId the new node
   * @param address its address
   * @param blocking whether to complete only once the learner has caught up (its lag at most
   *     {@link Config#maxEntriesPerAppend()} entries)
   * @return the log id of the membership entry that added it; fails as {@link #changeMembership}
   *     does (with {@link io.raftkit.api.error.OutcomeUnknownException} if the leader stepped down
   *     after appending the entry)
   */
  CompletableFuture<LogId> addLearner(long nodeId, String address, boolean blocking);

  /** Actions taken on request: start an election, send heartbeats. */
  Trigger trigger();

  /** Switches for heartbeats and elections of this running node. */
  RuntimeConfig runtimeConfig();

  /** The latest metrics of this node. */
  RaftMetrics metrics();

  /**
   * Waits until the metrics satisfy {@code condition}.
   *
   * @return completes with the first metrics that satisfy it (at once if the current ones do);
   *     fails with {@link java.util.concurrent.TimeoutException} after {@code timeout}, with the
   *     last metrics in its message, or with {@link io.raftkit.api.error.ShutdownException} if the
   *     node stops first
   */
  CompletableFuture<RaftMetrics> awaitMetrics(Predicate<RaftMetrics> condition, Duration timeout);

  /**
   * Calls {@code listener} with every new metrics snapshot, on the node's engine thread: it must be
   * quick and must not block. The first call is with the current metrics.
   *
   * @return closing it stops the calls
   */
  AutoCloseable subscribe(java.util.function.Consumer<RaftMetrics> listener);

  /** Waits until this node knows a leader (itself included). See {@link #awaitMetrics}. */
  default CompletableFuture<RaftMetrics> awaitLeader(final Duration timeout) {
    return awaitMetrics(m -> m.currentLeader() != 0, timeout);
  }

  /** Waits until this node's state machine has applied {@code index}. See {@link #awaitMetrics}. */
  default CompletableFuture<RaftMetrics> awaitApplied(final long index, final Duration timeout) {
    return awaitMetrics(m -> m.lastApplied().index() >= index, timeout);
  }

  /** Waits until this node is in {@code state}. See {@link #awaitMetrics}. */
  default CompletableFuture<RaftMetrics> awaitState(final ServerState state, final Duration timeout) {
    return awaitMetrics(m -> m.state() == state, timeout);
  }

  /**
   * Waits until this node's effective membership satisfies {@code condition}. See {@link
   * #awaitMetrics}.
   */
  default CompletableFuture<RaftMetrics> awaitMembership(
      final Predicate<Membership> condition, final Duration timeout) {
    return awaitMetrics(m -> !m.membership().isEmpty() && condition.test(m.membership().membership()), timeout);
  }

  /**
   * Stops the node: fails every pending write and request with {@link
   * io.raftkit.api.error.ShutdownException}, stops its threads, closes the transport and the
   * storage. Idempotent. What was synced to storage stays.
   */
  @Override
  void close();
}
