package io.raftkit.engine.core;

import io.raftkit.api.ChangeMembers;
import io.raftkit.api.Config;
import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ReadPolicy;
import io.raftkit.api.ServerState;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.Vote;
import io.raftkit.api.error.AlreadyInitializedException;
import io.raftkit.api.error.InvalidRequestException;
import io.raftkit.api.error.LeadershipTransferException;
import io.raftkit.api.error.LeaseExpiredException;
import io.raftkit.api.error.NotAMemberException;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.error.RaftException;
import io.raftkit.api.error.ShutdownException;
import io.raftkit.api.error.UnreachableException;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.InstallSnapshotRequest;
import io.raftkit.api.message.InstallSnapshotResponse;
import io.raftkit.api.message.ReadIndexRequest;
import io.raftkit.api.message.ReadIndexResponse;
import io.raftkit.api.message.TimeoutNowRequest;
import io.raftkit.api.message.TimeoutNowResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The deterministic Raft core of one node.
 *
 * <p>Feed it events through the {@code handle*} methods and {@link #tick(long)}, then take the
 * {@link Command}s it emitted with {@link #drainCommands(List)}. Call {@link #endBatch()} after a
 * batch of events so the leader sends what the batch made ready (many client writes, one append
 * request per follower).
 *
 * <p><b>Not thread-safe:</b> one thread owns an engine. It never blocks, reads no clock (time
 * comes in through {@link #tick(long)}) and draws randomness only from the generator it was
 * given.
 *
 * <p>Any {@link IllegalStateException} thrown from a handler is a safety violation (for example
 * a request that would truncate a committed entry): the caller must stop the node.
 */
public final class Engine {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

  private final long nodeId;
  private final Config config;
  private final long electionMinNanos;
  private final long electionMaxNanos;
  private final long heartbeatNanos;
  private final long commitLingerNanos;
  private final RandomGenerator random;

  private final ArrayList<Command> out = new ArrayList<>();
  private final LogTracker log = new LogTracker();
  /** Membership entries in the log, oldest first; index 0 may be the one below the log. */
  private final ArrayList<StoredMembership> memberships = new ArrayList<>();

  private StoredMembership effective = StoredMembership.EMPTY;
  private Vote vote;
  private ServerState state = ServerState.LEARNER;
  private long leaderId;
  private long now;
  private boolean started;

  private LogId committed;
  private LogId flushed;
  private long applySubmitted;
  private LogId lastApplied;

  // IO: sequence numbers of log-writer work, and the log id each leaves the log at.
  private long ioSeq;
  private long ioDone;
  private long voteSeq;
  private final ArrayDeque<IoRecord> ioRecords = new ArrayDeque<>();
  private Command.AppendEntries openAppend;
  /** The size of the last local append batch: the capacity of the next one's list. */
  private int lastAppendBatch = 4;

  // Timers, in the caller's nanoseconds; Long.MAX_VALUE when off.
  private long electionDeadline = Long.MAX_VALUE;
  private long heartbeatDeadline = Long.MAX_VALUE;
  /** The earliest {@link Progress#commitDueNanos} of any follower (leader only). */
  private long commitDeadline = Long.MAX_VALUE;
  private long quorumCheckDeadline = Long.MAX_VALUE;
  private long lastLeaderContact;
  private boolean heardFromLeader;

  // Candidate.
  private boolean preVoting;
  private long electionTerm;
  private final Set<Long> granted = new HashSet<>();

  // Leader.
  private final TreeMap<Long, Progress> progress = new TreeMap<>();
  private boolean replicationDirty;
  private long[] scratch = new long[8];

  // Heartbeat rounds: reads are confirmed, and the lease measured, by the round a quorum acked.
  private long heartbeatRound;
  private final TreeMap<Long, Long> roundSentAt = new TreeMap<>();
  private boolean roundWanted;
  private final ArrayList<PendingRead> pendingReads = new ArrayList<>();

  // Follower reads: reads of this batch to ask the leader about, batches waiting for its answer,
  // and reads that have their read index and wait for the state machine.
  private final ArrayList<PendingRead> remoteReadsToSend = new ArrayList<>();
  private final TreeMap<Long, List<PendingRead>> remoteReadBatches = new TreeMap<>();
  private long remoteReadBatchSeq;
  private final ArrayList<PendingRead> followerReads = new ArrayList<>();

  // Snapshots: the latest durable one here, a build in progress and who waits for it.
  private SnapshotMeta snapshot;
  private boolean snapshotBuilding;
  private boolean snapshotUnsupported;
  private final ArrayList<Object> snapshotWaiters = new ArrayList<>();
  private final ArrayList<Object> snapshotNextWaiters = new ArrayList<>();

  // A membership change in progress on this leader.
  private PendingChange pendingChange;

  // A leadership transfer this node started: it survives stepping down, until it is settled.
  private long transferTarget;
  private long transferDeadline = Long.MAX_VALUE;
  private Object transferReplyTo;
  private boolean timeoutNowSent;

  // Runtime switches.
  private boolean heartbeatEnabled = true;
  private boolean electionEnabled = true;

  // Test-only: bugs the simulator must catch.
  private final java.util.EnumSet<KnownBug> bugs = java.util.EnumSet.noneOf(KnownBug.class);

  /**
   * Creates the engine of a node from its recovered durable state. Before {@link #start(long)},
   * feed the entries of the log after {@code purged} with {@link #recoverEntry(Entry)}.
   *
   * @param nodeId this node
   * @param config the validated config
   * @param random the only source of randomness (election timeouts)
   * @param vote the saved vote
   * @param purged the last purged log id
   * @param committedHint the saved commit hint
   * @param lastApplied what the state machine reports as applied
   */
  public Engine(
      final long nodeId,
      final Config config,
      final RandomGenerator random,
      final Vote vote,
      final LogId purged,
      final LogId committedHint,
      final LogId lastApplied) {
    this.nodeId = nodeId;
    this.config = config;
    this.random = random;
    this.electionMinNanos = config.electionTimeoutMin().toNanos();
    this.electionMaxNanos = config.electionTimeoutMax().toNanos();
    this.heartbeatNanos = config.heartbeatInterval().toNanos();
    this.commitLingerNanos = config.commitLinger().toNanos();
    this.vote = vote;
    this.log.purgeUpTo(purged);
    this.committed = max(committedHint, lastApplied);
    this.lastApplied = lastApplied;
    this.applySubmitted = lastApplied.index();
    this.flushed = purged;
  }

  /** Tells the engine of one entry of the recovered log, in order, before {@link #start(long)}. */
  public void recoverEntry(final Entry entry) {
    if (started) {
      throw new IllegalStateException("recoverEntry after start");
    }
    if (entry.index() != log.lastIndex() + 1) {
      throw new IllegalStateException(
          "recovered entry " + entry.logId() + " does not follow last index=" + log.lastIndex());
    }
    log.append(entry.term(), entry.payload().length);
    if (entry.kind() == EntryKind.MEMBERSHIP) {
      memberships.add(new StoredMembership(entry.logId(), entry.membership()));
    }
  }

  /**
   * Tells the engine of the membership below the log (from a snapshot), before {@link
   * #start(long)}. Ignored if the recovered log already holds that entry or an older base is
   * not older than it.
   */
  public void recoverBaseMembership(final StoredMembership base) {
    if (base.isEmpty()) {
      return;
    }
    for (final StoredMembership m : memberships) {
      if (m.logId().index() == base.logId().index()) {
        return;
      }
    }
    int at = 0;
    while (at < memberships.size() && memberships.get(at).logId().index() < base.logId().index()) {
      at++;
    }
    memberships.add(at, base);
  }

  /**
   * Tells the engine of the latest snapshot in storage, before {@link #start(long)}. The state
   * machine was restored from it, or is past it; everything it holds is committed.
   */
  public void recoverSnapshot(final SnapshotMeta meta) {
    if (started) {
      throw new IllegalStateException("recoverSnapshot after start");
    }
    snapshot = meta;
    recoverBaseMembership(meta.membership());
    committed = max(committed, meta.lastLogId());
  }

  /**
   * Starts the engine at time {@code nowNanos}: the recovered log counts as durable, the commit
   * index is clamped to it, and committed entries the state machine has not applied are applied.
   */
  public void start(final long nowNanos) {
    this.now = nowNanos;
    this.started = true;
    final LogId last = log.lastLogId();
    this.flushed = last;
    // The hint may name an entry the durable log does not hold: SaveCommitted can be written
    // before a truncation and append it covers are synced, and a crash then leaves the old
    // (uncommitted) entry at that index. Trust the hint only if the log holds that very entry
    // (Log Matching, §5.3, vouches for the prefix); else fall back to what the state machine
    // applied, which was committed.
    if (committed.index() > lastApplied.index() && committed.index() > log.purgedLogId().index()
        && log.termAt(committed.index()) != committed.term()) {
      committed = lastApplied;
    }
    if (committed.index() > last.index()) {
      committed = last;
    }
    if (committed.index() > 0 && log.termAt(committed.index()) >= 0) {
      committed = log.logIdAt(committed.index());
    }
    effective = memberships.isEmpty() ? StoredMembership.EMPTY : memberships.get(memberships.size() - 1);
    if (bugs.contains(KnownBug.FORGET_JOINT_CONFIG_ON_RESTART) && !effective.isEmpty() && effective.membership().isJoint()) {
      effective = new StoredMembership(effective.logId(),
          new Membership(List.of(effective.membership().configs().get(1)), effective.membership().nodes()));
    }
    becomeFollower(vote.term(), 0);
    maybeApply();
    LOG.info("[node {}] started: vote={} last={} committed={} applied={} membership={}",
        nodeId, vote, last, committed, lastApplied, effective.membership());
  }

  /**
   * Switches a known Raft bug on. Only for the simulator's self-test, which proves that it
   * catches each of them; never call it anywhere else.
   */
  public void injectBug(final KnownBug bug) {
    LOG.warn("[node {}] known bug {} switched on: for simulator self-tests only", nodeId, bug);
    bugs.add(bug);
  }

  // ---------------------------------------------------------------------------------------------
  // Accessors (for the runtime's metrics and for tests).

  /** This node's id. */
  public long nodeId() {
    return nodeId;
  }

  /** The current role. */
  public ServerState state() {
    return state;
  }

  /** The current vote. */
  public Vote vote() {
    return vote;
  }

  /** The known leader of the current term, or 0. */
  public long leaderId() {
    return leaderId;
  }

  /** The last log id (durable or not). */
  public LogId lastLogId() {
    return log.lastLogId();
  }

  /** The last log id known durable. */
  public LogId flushedLogId() {
    return flushed;
  }

  /** The last committed log id. */
  public LogId committed() {
    return committed;
  }

  /** The last log id the state machine applied, as reported with {@link #handleApplied}. */
  public LogId lastApplied() {
    return lastApplied;
  }

  /** The last purged log id. */
  public LogId purgedLogId() {
    return log.purgedLogId();
  }

  /** The last log id of the latest snapshot here, or {@link LogId#ZERO}. */
  public LogId snapshotLogId() {
    return snapshot == null ? LogId.ZERO : snapshot.lastLogId();
  }

  /**
   * The membership in force at {@code index}: the latest membership entry at or below it. For
   * the runtime's apply thread, which records it in the snapshots it builds.
   */
  public StoredMembership membershipAt(final long index) {
    StoredMembership found = StoredMembership.EMPTY;
    for (final StoredMembership m : memberships) {
      if (m.logId().index() <= index) {
        found = m;
      }
    }
    return found;
  }

  /**
   * On a leader, when the latest heartbeat round acknowledged by a quorum was sent (in the
   * caller's nanoseconds); 0 if none yet or not a leader.
   */
  public long quorumAckNanos() {
    if (state != ServerState.LEADER) {
      return 0;
    }
    final Long sent = roundSentAt.get(quorumRound());
    return sent == null ? 0 : sent;
  }

  /** The effective (latest) membership. */
  public StoredMembership effectiveMembership() {
    return effective;
  }

  /** The last IO sequence number issued. */
  public long ioSeq() {
    return ioSeq;
  }

  /** On a leader, each follower's match index; empty otherwise. */
  public Map<Long, Long> replication() {
    if (progress.isEmpty()) {
      return Map.of();
    }
    final TreeMap<Long, Long> m = new TreeMap<>();
    for (final Progress p : progress.values()) {
      m.put(p.nodeId, p.matchIndex);
    }
    return Collections.unmodifiableMap(m);
  }

  /** The earliest time at which {@link #tick(long)} has something to do. */
  public long nextDeadlineNanos() {
    return Math.min(Math.min(Math.min(electionDeadline, transferDeadline), Math.min(heartbeatDeadline, quorumCheckDeadline)),
        commitDeadline);
  }

  /** Moves the emitted commands to {@code dst}, in order. */
  public void drainCommands(final List<Command> dst) {
    dst.addAll(out);
    out.clear();
    if (openAppend != null) {
      lastAppendBatch = Math.max(4, Math.min(openAppend.entries().size(), 8192));
      openAppend = null;
    }
  }

  /** The commands emitted and not yet drained (a view, for tests). */
  public List<Command> pendingCommands() {
    return Collections.unmodifiableList(out);
  }

  // ---------------------------------------------------------------------------------------------
  // Time.

  /** Advances time and fires the timers that are due: election, heartbeat, quorum check. */
  public void tick(final long nowNanos) {
    this.now = nowNanos;
    if (now >= transferDeadline) {
      settleTransfer(new LeadershipTransferException("node " + nodeId + ": leadership transfer to node "
          + transferTarget + " did not complete within " + 2 * electionMaxNanos / 1_000_000
          + " ms; this node resumes (current leader " + leaderId + ")"));
    }
    switch (state) {
      case LEADER -> {
        if (now >= heartbeatDeadline) {
          heartbeatDeadline = now + heartbeatNanos;
          if (heartbeatEnabled) {
            broadcastHeartbeats();
          }
          for (final Progress p : progress.values()) {
            replicateTo(p);
          }
        }
        if (now >= commitDeadline) {
          // Commit-only updates held back by commitLinger whose time has come.
          commitDeadline = Long.MAX_VALUE;
          for (final Progress p : progress.values()) {
            replicateTo(p);
          }
        }
        if (now >= quorumCheckDeadline) {
          if (quorumActive()) {
            quorumCheckDeadline = now + electionMinNanos;
          } else {
            LOG.warn("[node {}] leader of term {} has not heard from a quorum for {} ms; stepping down",
                nodeId, vote.term(), electionMaxNanos / 1_000_000);
            becomeFollower(vote.term(), 0);
          }
        }
      }
      case FOLLOWER, CANDIDATE -> {
        if (now >= electionDeadline && electionEnabled) {
          startElection(config.preVote());
        }
      }
      case LEARNER, SHUTDOWN -> {
        // no timers
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Client requests.

  /**
   * Forms a new cluster with this node's log: appends {@code membership} as entry 1.
   *
   * @param replyTo the token a {@link Command.Reply} will carry once the entry is durable
   * @throws AlreadyInitializedException if the node has a log or a vote
   * @throws NotAMemberException if this node is not a voter of {@code membership}
   */
  public void handleInitialize(final Membership membership, final Object replyTo) {
    if (log.lastIndex() != 0 || vote.term() != 0 || !effective.isEmpty()) {
      throw new AlreadyInitializedException(
          "node " + nodeId + " is already initialized: last log id=" + log.lastLogId() + ", vote=" + vote
              + ", membership=" + effective.membership());
    }
    if (!membership.isVoter(nodeId)) {
      throw new NotAMemberException(
          "node " + nodeId + " must be a voter of the membership it initializes: " + membership);
    }
    appendLocal(Entry.membership(LogId.of(0, 1), membership));
    out.add(new Command.Reply(replyTo, null, ioSeq));
    // Campaign at once rather than after a full election timeout.
    electionDeadline = now;
  }

  /**
   * Appends a client command to the leader's log. Replication is sent by {@link #endBatch()}.
   *
   * @return the log id the command will have if it commits
   * @throws NotLeaderException if this node is not the leader
   */
  public LogId handleClientWrite(final byte[] payload) {
    if (state != ServerState.LEADER || transferTarget != 0) {
      throw notLeader();
    }
    final LogId id = LogId.of(vote.term(), log.lastIndex() + 1);
    appendLocal(Entry.normal(id, payload));
    replicationDirty = true;
    return id;
  }

  /** The error a non-leader answers client requests with. */
  public NotLeaderException notLeader() {
    // While handing leadership over, point clients at the target.
    final long leader = state == ServerState.LEADER && transferTarget != 0 ? transferTarget
        : leaderId == nodeId ? 0 : leaderId;
    final String address = addressOf(leader);
    return new NotLeaderException(nodeId, leader, address);
  }

  /**
   * Registers a linearizable read; a {@link Command.ReadReady} or {@link Command.ReadFailed} with
   * {@code replyTo} follows, now or later.
   */
  public void handleRead(final ReadPolicy policy, final Object replyTo) {
    if (state != ServerState.LEADER) {
      if ((state == ServerState.FOLLOWER || state == ServerState.LEARNER) && leaderId != 0 && leaderId != nodeId) {
        // A follower or learner asks the leader for a read index, whatever the policy: a lease
        // is the leader's alone. Reads of one batch share one request (see endBatch).
        remoteReadsToSend.add(new PendingRead(replyTo, -1, 0, false));
        return;
      }
      out.add(new Command.ReadFailed(replyTo, notLeader()));
      return;
    }
    long needed = 0;
    if (policy == ReadPolicy.LEASE) {
      final String why = leaseProblem();
      if (why != null) {
        out.add(new Command.ReadFailed(replyTo, new LeaseExpiredException("node " + nodeId + ": " + why)));
        return;
      }
    } else {
      // A round sent after this read arrived proves we were still the leader when it arrived.
      needed = heartbeatRound + 1;
      roundWanted = true;
    }
    pendingReads.add(
        new PendingRead(replyTo, committed.term() == vote.term() ? committed.index() : -1, needed, false));
    checkReads();
  }

  /**
   * Handles a follower's or learner's request for a read index: a leader answers with its commit
   * index once a heartbeat round sent after the request arrived is acknowledged by a quorum
   * (and it has committed an entry of its term); anyone else answers no, naming the leader.
   *
   * @param replyTo the token the {@link Command.Reply} will carry
   */
  public void handleReadIndexRequest(final long from, final ReadIndexRequest req, final Object replyTo) {
    if (state != ServerState.LEADER || req.term() > vote.term()) {
      out.add(new Command.Reply(replyTo,
          new ReadIndexResponse(vote.term(), false, 0, leaderId == nodeId ? 0 : leaderId), 0));
      return;
    }
    roundWanted = true;
    pendingReads.add(new PendingRead(replyTo, committed.term() == vote.term() ? committed.index() : -1,
        heartbeatRound + 1, true));
    checkReads();
  }

  /** The leader answered the read-index request of reads batch {@code batch}. */
  public void handleReadIndexResponse(final long batch, final ReadIndexResponse resp) {
    final List<PendingRead> reads = remoteReadBatches.remove(batch);
    if (reads == null) {
      return;
    }
    if (!resp.success()) {
      final long hint = resp.leaderHint();
      final String address = addressOf(hint);
      for (final PendingRead r : reads) {
        out.add(new Command.ReadFailed(r.replyTo, new NotLeaderException(nodeId, hint, address)));
      }
      return;
    }
    for (final PendingRead r : reads) {
      r.readIndex = resp.readIndex();
      followerReads.add(r);
    }
    checkFollowerReads();
  }

  /** The read-index request of reads batch {@code batch} failed (the leader did not answer). */
  public void handleReadIndexFailure(final long batch, final String why) {
    final List<PendingRead> reads = remoteReadBatches.remove(batch);
    if (reads == null) {
      return;
    }
    for (final PendingRead r : reads) {
      out.add(new Command.ReadFailed(r.replyTo, new UnreachableException(
          "node " + nodeId + " could not get a read index from the leader: " + why)));
    }
  }

  /** The address of member {@code id} in the effective membership, or null (unknown, or id 0). */
  private String addressOf(final long id) {
    return id == 0 || effective.isEmpty() ? null : effective.membership().address(id);
  }

  private void checkFollowerReads() {
    if (followerReads.isEmpty()) {
      return;
    }
    final java.util.Iterator<PendingRead> it = followerReads.iterator();
    while (it.hasNext()) {
      final PendingRead r = it.next();
      if (lastApplied.index() >= r.readIndex) {
        final long term = log.termAt(r.readIndex);
        out.add(new Command.ReadReady(r.replyTo, LogId.of(term < 0 ? lastApplied.term() : term, r.readIndex)));
        it.remove();
      }
    }
  }

  private void sendRemoteReads() {
    if (remoteReadsToSend.isEmpty()) {
      return;
    }
    if (leaderId == 0 || leaderId == nodeId || state == ServerState.LEADER || addressOf(leaderId) == null) {
      // No leader, or one this node cannot reach yet (it learned the leader from an append before
      // it holds the membership that names the leader's address).
      for (final PendingRead r : remoteReadsToSend) {
        out.add(new Command.ReadFailed(r.replyTo, notLeader()));
      }
    } else {
      final long batch = ++remoteReadBatchSeq;
      remoteReadBatches.put(batch, new ArrayList<>(remoteReadsToSend));
      out.add(new Command.SendReadIndex(leaderId, new ReadIndexRequest(vote.term(), nodeId), batch));
    }
    remoteReadsToSend.clear();
  }

  /** Why a lease read cannot be served now, or {@code null} if the lease holds. */
  private String leaseProblem() {
    if (bugs.contains(KnownBug.LEASE_READ_WITHOUT_CHECK_QUORUM)) {
      return null;
    }
    if (!config.checkQuorum()) {
      return "lease reads need checkQuorum=true: without it voters may elect another leader at once";
    }
    if (transferTarget != 0) {
      // The target's vote requests pass the voters' lease: another leader may be elected at once.
      return "leadership transfer to node " + transferTarget + " in progress";
    }
    final long round = quorumRound();
    if (round == heartbeatRound && isSoleVoter()) {
      return null;
    }
    final Long sentAt = roundSentAt.get(round);
    final long lease = electionMinNanos - electionMinNanos / 10;
    if (sentAt == null || now - sentAt >= lease) {
      return "no quorum acknowledged a heartbeat within the lease of " + lease / 1_000_000 + " ms"
          + (sentAt == null ? "" : " (last quorum round sent " + (now - sentAt) / 1_000_000 + " ms ago)");
    }
    return null;
  }

  private boolean isSoleVoter() {
    for (final Set<Long> voters : effective.membership().configs()) {
      if (voters.size() != 1 || !voters.contains(nodeId)) {
        return false;
      }
    }
    return true;
  }

  /** The latest heartbeat round a quorum of every voter set has answered (the leader counts). */
  private long quorumRound() {
    long round = Long.MAX_VALUE;
    for (final Set<Long> voters : effective.membership().configs()) {
      final int n = voters.size();
      if (scratch.length < n) {
        scratch = new long[n];
      }
      int k = 0;
      for (final Long id : voters) {
        final Progress p = progress.get(id);
        scratch[k++] = id == nodeId ? heartbeatRound : p == null ? 0 : p.ackedRound;
      }
      Arrays.sort(scratch, 0, n);
      round = Math.min(round, scratch[n - (n / 2 + 1)]);
    }
    return round;
  }

  /** Completes the reads that are confirmed and applied. */
  private void checkReads() {
    if (pendingReads.isEmpty() || state != ServerState.LEADER) {
      return;
    }
    final long confirmed = quorumRound();
    roundSentAt.headMap(confirmed).clear();
    final java.util.Iterator<PendingRead> it = pendingReads.iterator();
    while (it.hasNext()) {
      final PendingRead r = it.next();
      if (r.readIndex < 0) {
        if (committed.term() != vote.term()) {
          continue; // the leader has not committed in its term yet: its commit index may be stale
        }
        r.readIndex = committed.index();
      }
      if (r.remote && r.neededRound <= confirmed) {
        // The asking node waits for its own state machine; this one need not have applied.
        out.add(new Command.Reply(r.replyTo, new ReadIndexResponse(vote.term(), true, r.readIndex, 0), 0));
        it.remove();
      } else if (r.neededRound <= confirmed && lastApplied.index() >= r.readIndex) {
        out.add(new Command.ReadReady(r.replyTo, LogId.of(log.termAt(r.readIndex) < 0 ? committed.term()
            : log.termAt(r.readIndex), r.readIndex)));
        it.remove();
      }
    }
  }

  /**
   * Starts a membership change (a leader only). A voter change appends C(old,new); once it commits
   * the leader appends C(new), and a {@link Command.Complete} with C(new)'s log id follows when
   * that commits. A learner change is one entry.
   *
   * @throws NotLeaderException on a non-leader
   * @throws InvalidRequestException if a change is in progress, the leader has not committed in
   *     its term yet, or the change is invalid
   */
  public void handleChangeMembership(final ChangeMembers change, final boolean retain, final Object replyTo) {
    if (state != ServerState.LEADER) {
      throw notLeader();
    }
    if (committed.term() != vote.term()) {
      // The single-server-change bug (Ongaro, raft-dev 2015): a configuration entry appended
      // before an entry of the current term commits can be lost together with a concurrent one.
      throw new InvalidRequestException("node " + nodeId + " has not yet committed an entry of its term "
          + vote.term() + "; retry the membership change shortly");
    }
    if (pendingChange != null || effective.membership().isJoint() || effective.logId().index() > committed.index()) {
      throw new InvalidRequestException("a membership change is in progress: effective=" + effective.membership()
          + " at " + effective.logId() + ", committed=" + committed);
    }
    final Membership current = effective.membership();
    final Membership target;
    try {
      target = change.apply(current, retain);
    } catch (final IllegalArgumentException e) {
      throw new InvalidRequestException("membership change " + change + " refused: " + e.getMessage());
    }
    final LogId id = LogId.of(vote.term(), log.lastIndex() + 1);
    if (target.configs().get(0).equals(current.configs().get(0))) {
      appendLocal(Entry.membership(id, target));
      pendingChange = new PendingChange(replyTo, target, id.index());
    } else {
      final java.util.TreeMap<Long, String> union = new java.util.TreeMap<>(current.nodes());
      union.putAll(target.nodes());
      final Membership joint = new Membership(List.of(current.configs().get(0), target.configs().get(0)), union);
      appendLocal(Entry.membership(id, joint));
      pendingChange = new PendingChange(replyTo, target, -1);
    }
    replicationDirty = true;
    advanceCommit();
  }

  /**
   * Moves a membership change on after a commit: a committed joint config is followed by C(new);
   * a committed final config completes the change, and a leader that is no longer a voter steps
   * down. A leader that inherits a committed joint config finishes it too.
   */
  private void advanceMembershipChange() {
    if (state != ServerState.LEADER || effective.logId().index() > committed.index()) {
      return;
    }
    final Membership m = effective.membership();
    if (m.isJoint()) {
      final Membership target = pendingChange != null && pendingChange.target != null
          ? pendingChange.target
          : new Membership(List.of(m.configs().get(1)), m.nodes());
      final LogId id = LogId.of(vote.term(), log.lastIndex() + 1);
      appendLocal(Entry.membership(id, target));
      if (pendingChange != null) {
        pendingChange.finalIndex = id.index();
      }
      replicationDirty = true;
      return;
    }
    if (pendingChange != null && pendingChange.finalIndex > 0 && pendingChange.finalIndex <= committed.index()) {
      out.add(new Command.Complete(pendingChange.replyTo, log.logIdAt(pendingChange.finalIndex)));
      pendingChange = null;
    }
    if (!m.isVoter(nodeId)) {
      LOG.info("[node {}] is not a voter of the committed membership {}; steps down", nodeId, m);
      becomeFollower(vote.term(), 0);
    }
  }

  /** The node is stopping: every pending read fails with a {@link ShutdownException}. */
  public void handleShutdown() {
    final ArrayList<PendingRead> all = new ArrayList<>(pendingReads);
    all.addAll(remoteReadsToSend);
    all.addAll(followerReads);
    for (final List<PendingRead> batch : remoteReadBatches.values()) {
      all.addAll(batch);
    }
    for (final PendingRead r : all) {
      if (r.remote) {
        out.add(new Command.Reply(r.replyTo, new ReadIndexResponse(vote.term(), false, 0, 0), 0));
      } else {
        out.add(new Command.ReadFailed(r.replyTo, new ShutdownException("node " + nodeId + " is closed; read abandoned")));
      }
    }
    pendingReads.clear();
    remoteReadsToSend.clear();
    followerReads.clear();
    remoteReadBatches.clear();
    final ShutdownException closed = new ShutdownException("node " + nodeId + " is closed; snapshot abandoned");
    for (final Object w : snapshotWaiters) {
      out.add(new Command.Fail(w, closed));
    }
    for (final Object w : snapshotNextWaiters) {
      out.add(new Command.Fail(w, closed));
    }
    snapshotWaiters.clear();
    snapshotNextWaiters.clear();
    settleTransfer(new ShutdownException("node " + nodeId + " is closed; leadership transfer abandoned"));
    state = ServerState.SHUTDOWN;
  }

  private void failReads() {
    if (pendingReads.isEmpty()) {
      return;
    }
    for (final PendingRead r : pendingReads) {
      if (r.remote) {
        out.add(new Command.Reply(r.replyTo,
            new ReadIndexResponse(vote.term(), false, 0, leaderId == nodeId ? 0 : leaderId), 0));
      } else {
        out.add(new Command.ReadFailed(r.replyTo, notLeader()));
      }
    }
    pendingReads.clear();
  }

  /**
   * Starts an election now, without a pre-vote.
   *
   * @throws NotAMemberException if this node is not a voter
   */
  public void handleTriggerElect() {
    if (!isElectable()) {
      throw new NotAMemberException("node " + nodeId + " is not a voter and cannot stand for election");
    }
    startElection(false);
  }

  /**
   * Sends a round of heartbeats now.
   *
   * @throws NotLeaderException if this node is not the leader
   */
  public void handleTriggerHeartbeat() {
    if (state != ServerState.LEADER) {
      throw notLeader();
    }
    broadcastHeartbeats();
  }

  /**
   * Starts handing leadership over to {@code target}; a {@link Command.Complete} (or {@link
   * Command.Fail}) with {@code replyTo} follows when this node sees the target lead (or gives up).
   *
   * @throws NotLeaderException on a non-leader
   * @throws InvalidRequestException if the target is not a voter or a transfer is in progress
   */
  public void handleTransferLeader(final long target, final Object replyTo) {
    if (state != ServerState.LEADER) {
      throw notLeader();
    }
    if (target == nodeId) {
      out.add(new Command.Complete(replyTo, null));
      return;
    }
    if (!effective.membership().isVoter(target)) {
      throw new InvalidRequestException("node " + target + " is not a voter of " + effective.membership()
          + "; leadership can only go to a voter");
    }
    if (transferTarget != 0) {
      throw new InvalidRequestException("a leadership transfer to node " + transferTarget + " is in progress");
    }
    LOG.info("[node {}] hands leadership of term {} over to node {}", nodeId, vote.term(), target);
    transferTarget = target;
    transferReplyTo = replyTo;
    transferDeadline = now + 2 * electionMaxNanos;
    timeoutNowSent = false;
    maybeSendTimeoutNow();
  }

  private void maybeSendTimeoutNow() {
    if (transferTarget == 0 || timeoutNowSent || state != ServerState.LEADER) {
      return;
    }
    final Progress p = progress.get(transferTarget);
    if (p != null && p.matchIndex >= log.lastIndex()) {
      timeoutNowSent = true;
      out.add(new Command.SendTimeoutNow(transferTarget, new TimeoutNowRequest(vote.term(), nodeId)));
    } else if (p != null) {
      replicateTo(p);
    }
  }

  private void settleTransfer(final io.raftkit.api.error.RaftException error) {
    if (transferTarget == 0) {
      return;
    }
    out.add(error == null ? new Command.Complete(transferReplyTo, null) : new Command.Fail(transferReplyTo, error));
    transferTarget = 0;
    transferReplyTo = null;
    transferDeadline = Long.MAX_VALUE;
    timeoutNowSent = false;
  }

  /**
   * Handles TimeoutNow: a voter told by its current leader campaigns at once, without a
   * pre-vote, and its vote requests carry the transfer flag so that voters let them through
   * their lease.
   */
  public void handleTimeoutNow(final long from, final TimeoutNowRequest req, final Object replyTo) {
    final boolean accept = req.term() == vote.term() && from == leaderId && state == ServerState.FOLLOWER
        && effective.membership().isVoter(nodeId);
    out.add(new Command.Reply(replyTo, new TimeoutNowResponse(vote.term(), accept), 0));
    if (accept) {
      LOG.info("[node {}] takes over leadership from node {} (TimeoutNow in term {})", nodeId, from, req.term());
      startElection(false, true);
    }
  }

  /** Turns the leader's periodic heartbeats on or off. */
  public void setHeartbeatEnabled(final boolean enabled) {
    heartbeatEnabled = enabled;
  }

  /** Turns the election timer on or off. */
  public void setElectionEnabled(final boolean enabled) {
    electionEnabled = enabled;
  }

  private void broadcastHeartbeats() {
    heartbeatRound++;
    roundSentAt.put(heartbeatRound, now);
    // Rounds below the one a quorum answered will never be needed again.
    roundSentAt.headMap(quorumRound()).clear();
    roundWanted = false;
    for (final Progress p : progress.values()) {
      sendHeartbeat(p);
    }
    checkReads();
  }

  /** Ends a batch of events: the leader sends what the batch made ready. */
  public void endBatch() {
    sendRemoteReads();
    if (state == ServerState.LEADER && roundWanted) {
      broadcastHeartbeats();
    }
    if (state == ServerState.LEADER && replicationDirty) {
      replicationDirty = false;
      for (final Progress p : progress.values()) {
        replicateTo(p);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // IO completions.

  /** The log writer has made every IO up to {@code seq} durable. */
  public void handleIoDone(final long seq) {
    if (seq <= ioDone) {
      return;
    }
    if (seq > ioSeq) {
      throw new IllegalStateException("io seq=" + seq + " done but only " + ioSeq + " issued");
    }
    ioDone = seq;
    while (!ioRecords.isEmpty() && ioRecords.peekFirst().seq <= seq) {
      final LogId after = ioRecords.pollFirst().logId;
      if (after != null) {
        flushed = after;
      }
    }
    switch (state) {
      case LEADER -> advanceCommit();
      case CANDIDATE -> checkElectionWon();
      default -> {
        // followers apply below
      }
    }
    maybeApply();
  }

  /** The state machine has applied every entry up to {@code applied}. */
  public void handleApplied(final LogId applied) {
    if (applied.index() > lastApplied.index()) {
      lastApplied = applied;
      checkReads();
      checkFollowerReads();
      maybeBuildSnapshot();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Election (§5.2, thesis §9.6 for pre-vote, thesis §6.2 for check-quorum).

  private void startElection(final boolean pre) {
    startElection(pre, false);
  }

  private void startElection(final boolean pre, final boolean transfer) {
    if (!isElectable()) {
      becomeFollower(vote.term(), 0);
      return;
    }
    state = ServerState.CANDIDATE;
    leaderId = 0;
    preVoting = pre;
    granted.clear();
    granted.add(nodeId);
    electionTerm = vote.term() + 1;
    long await = 0;
    if (!pre) {
      vote = new Vote(electionTerm, nodeId, false);
      await = saveVote();
    }
    resetElectionTimer();
    LOG.info("[node {}] starts {} for term {} with last log {}",
        nodeId, pre ? "pre-vote" : "election", electionTerm, log.lastLogId());
    final VoteRequest request = new VoteRequest(electionTerm, nodeId, log.lastLogId(), pre, transfer);
    for (final Long voter : effective.membership().voterIds()) {
      if (voter != nodeId) {
        out.add(new Command.SendVote(voter, request, await));
      }
    }
    checkElectionWon();
  }

  private void checkElectionWon() {
    if (state != ServerState.CANDIDATE || !effective.membership().isQuorum(granted)) {
      return;
    }
    if (preVoting) {
      startElection(false);
    } else if (ioDone >= voteSeq) {
      // Our own vote counts only once it is durable: otherwise a crash could let us vote twice.
      becomeLeader();
    }
  }

  /**
   * Handles a vote or pre-vote request.
   *
   * @param replyTo the token the {@link Command.Reply} will carry
   */
  public void handleVoteRequest(final long from, final VoteRequest req, final Object replyTo) {
    final boolean logOk = req.lastLogId().isAtLeast(log.lastLogId())
        || bugs.contains(KnownBug.VOTE_WITHOUT_UP_TO_DATE_CHECK);
    // While we hear from a leader, ignore candidates (thesis §4.2.3): a partitioned node that
    // comes back must not depose a healthy leader.
    final boolean inLease = config.checkQuorum()
        && (state == ServerState.LEADER
            || (leaderId != 0 && heardFromLeader && now - lastLeaderContact < electionMinNanos));
    if (req.preVote()) {
      final boolean grant = req.term() > vote.term() && logOk && !inLease;
      out.add(new Command.Reply(replyTo, new VoteResponse(vote.term(), grant, true), 0));
      return;
    }
    if (req.term() < vote.term()) {
      out.add(new Command.Reply(replyTo, new VoteResponse(vote.term(), false, false), 0));
      return;
    }
    if (req.term() > vote.term()) {
      if (inLease && !req.leadershipTransfer()) {
        out.add(new Command.Reply(replyTo, new VoteResponse(vote.term(), false, false), 0));
        return;
      }
      becomeFollower(req.term(), 0);
    }
    // Same term now. Grant if we have not voted for another, and the log is up to date (§5.4.1).
    final boolean free = !vote.hasVoted() || vote.votedFor() == req.candidateId()
        || bugs.contains(KnownBug.DOUBLE_VOTE);
    final boolean grant = free && logOk && (!vote.committed() || bugs.contains(KnownBug.DOUBLE_VOTE));
    if (grant) {
      if (vote.votedFor() != req.candidateId()) {
        vote = new Vote(vote.term(), req.candidateId(), false);
        saveVote();
      }
      resetElectionTimer();
    }
    // The reply waits for the vote (and any term change) to be durable (§5.2, thesis §3.8).
    final long await = grant && !bugs.contains(KnownBug.VOTE_REPLY_BEFORE_DURABLE) ? ioSeq : 0;
    out.add(new Command.Reply(replyTo, new VoteResponse(vote.term(), grant, false), await));
  }

  /** Handles the response to a vote or pre-vote request this node sent. */
  public void handleVoteResponse(final long from, final VoteResponse resp) {
    if (resp.term() > vote.term() && !(resp.preVote() && resp.granted())) {
      becomeFollower(resp.term(), 0);
      return;
    }
    if (state != ServerState.CANDIDATE || resp.preVote() != preVoting || !resp.granted()) {
      return;
    }
    if (!preVoting && resp.term() != vote.term()) {
      return;
    }
    if (!effective.membership().isVoter(from)) {
      return;
    }
    granted.add(from);
    checkElectionWon();
  }

  private void becomeLeader() {
    LOG.info("[node {}] became leader of term {} with last log {}", nodeId, vote.term(), log.lastLogId());
    state = ServerState.LEADER;
    leaderId = nodeId;
    vote = new Vote(vote.term(), nodeId, true);
    electionDeadline = Long.MAX_VALUE;
    granted.clear();
    progress.clear();
    final long next = log.lastIndex() + 1;
    for (final Long member : effective.membership().nodes().keySet()) {
      if (member != nodeId) {
        progress.put(member, new Progress(member, next, now));
      }
    }
    // A blank entry of the new term lets the leader commit entries of earlier terms (§5.4.2).
    appendLocal(Entry.blank(LogId.of(vote.term(), next)));
    heartbeatDeadline = now + heartbeatNanos;
    quorumCheckDeadline = config.checkQuorum() ? now + electionMaxNanos : Long.MAX_VALUE;
    commitDeadline = Long.MAX_VALUE;
    pendingChange = null;
    if (transferTarget != 0) {
      settleTransfer(new LeadershipTransferException("node " + nodeId + " is leader again in term " + vote.term()
          + "; the transfer to node " + transferTarget + " did not happen"));
    }
    advanceCommit();
    for (final Progress p : progress.values()) {
      replicateTo(p);
    }
  }

  private void becomeFollower(final long term, final long leader) {
    if (term > vote.term()) {
      vote = leader == 0 ? new Vote(term, 0, false) : new Vote(term, leader, true);
      saveVote();
    }
    failReads();
    if (pendingChange != null) {
      // Its entry is in the log and may still commit under the next leader (which then finishes
      // a joint change): the outcome is unknown, and "not the leader" would invite a retry that
      // is not safe (a second removal, an "already a member" refusal).
      out.add(new Command.Fail(pendingChange.replyTo, new io.raftkit.api.error.OutcomeUnknownException(
          "node " + nodeId + " stopped leading (term " + term + ") while changing the membership to "
              + pendingChange.target + ": its entry is in the log and may still commit under the next"
              + " leader; read the membership to know")));
      pendingChange = null;
    }
    roundWanted = false;
    roundSentAt.clear();
    state = isElectable() ? ServerState.FOLLOWER : ServerState.LEARNER;
    leaderId = leader;
    preVoting = false;
    granted.clear();
    progress.clear();
    heartbeatDeadline = Long.MAX_VALUE;
    quorumCheckDeadline = Long.MAX_VALUE;
    commitDeadline = Long.MAX_VALUE;
    resetElectionTimer();
  }

  private void resetElectionTimer() {
    if (state == ServerState.FOLLOWER || state == ServerState.CANDIDATE) {
      electionDeadline = now + random.nextLong(electionMinNanos, electionMaxNanos);
    } else {
      electionDeadline = Long.MAX_VALUE;
    }
  }

  private boolean quorumActive() {
    final Set<Long> active = new HashSet<>();
    active.add(nodeId);
    for (final Progress p : progress.values()) {
      if (now - p.lastAckNanos < electionMaxNanos) {
        active.add(p.nodeId);
      }
    }
    return effective.membership().isQuorum(active);
  }

  // ---------------------------------------------------------------------------------------------
  // Replication, follower side (§5.3).

  /**
   * Handles an append request from a leader.
   *
   * @param replyTo the token the {@link Command.Reply} will carry
   */
  public void handleAppendRequest(final long from, final AppendRequest req, final Object replyTo) {
    if (req.term() < vote.term()) {
      // Reply false if term < currentTerm (§5.1).
      out.add(new Command.Reply(replyTo, AppendResponse.conflict(vote.term(), 0), 0));
      return;
    }
    if (state == ServerState.LEADER && req.term() == vote.term()) {
      throw new IllegalStateException(
          "node " + nodeId + " is leader of term " + vote.term() + " but node " + req.leaderId()
              + " sent an append of the same term: two leaders in one term");
    }
    acceptLeader(req.term(), req.leaderId());

    LogId prev = req.prevLogId();
    List<Entry> entries = req.entries();
    final LogId purged = log.purgedLogId();
    if (prev.index() < purged.index()) {
      // Everything up to the purged id is committed, so it matches the leader's log: skip it.
      final int skip = (int) Math.min(entries.size(), purged.index() - prev.index());
      entries = entries.subList(skip, entries.size());
      prev = purged;
      if (req.lastLogId().index() < purged.index()) {
        out.add(new Command.Reply(replyTo, AppendResponse.success(vote.term(), req.lastLogId().index()), ioSeq));
        return;
      }
    }
    if (prev.index() > log.lastIndex()) {
      out.add(new Command.Reply(replyTo, AppendResponse.conflict(vote.term(), log.lastIndex() + 1), 0));
      return;
    }
    final long localTerm = log.termAt(prev.index());
    if (localTerm != prev.term() && !bugs.contains(KnownBug.SKIP_PREV_TERM_CHECK)) {
      // Fast back-off: skip the whole conflicting term at once.
      final long hint = Math.max(committed.index() + 1, log.firstIndexOfTermAt(prev.index()));
      out.add(new Command.Reply(replyTo, AppendResponse.conflict(vote.term(), hint), 0));
      return;
    }
    // prev matches. Skip entries we already have; truncate at the first conflict (§5.3).
    int i = 0;
    while (i < entries.size()) {
      final Entry e = entries.get(i);
      if (e.index() > log.lastIndex()) {
        break;
      }
      if (log.termAt(e.index()) != e.term()) {
        truncateLog(e.index());
        break;
      }
      i++;
    }
    if (i == entries.size() && bugs.contains(KnownBug.TRUNCATE_AFTER_STALE_APPEND)
        && log.lastIndex() > req.lastLogId().index()) {
      truncateLog(req.lastLogId().index() + 1);
    }
    for (; i < entries.size(); i++) {
      appendLocal(entries.get(i));
    }
    final long matchIndex = req.lastLogId().index();
    final long newCommit = bugs.contains(KnownBug.FOLLOWER_COMMIT_BEYOND_MATCH)
        ? Math.min(req.leaderCommit(), log.lastIndex())
        : Math.min(req.leaderCommit(), matchIndex);
    if (newCommit > committed.index()) {
      commitTo(log.logIdAt(newCommit));
    }
    // The success reply waits for everything up to matchIndex to be durable.
    final long await = bugs.contains(KnownBug.APPEND_REPLY_BEFORE_DURABLE) ? 0 : ioSeq;
    out.add(new Command.Reply(replyTo, AppendResponse.success(vote.term(), matchIndex), await));
  }

  /** A request of a leader of term {@code term} (at least ours) arrived: follow it. */
  private void acceptLeader(final long term, final long leader) {
    if (term > vote.term() || state != ServerState.FOLLOWER && state != ServerState.LEARNER
        || leaderId != leader) {
      becomeFollower(term, leader);
      if (vote.votedFor() != leader || !vote.committed()) {
        // Same term: the leader is established; recording it needs no IO (see Vote).
        vote = new Vote(vote.term(), leader, true);
      }
    }
    heardFromLeader = true;
    lastLeaderContact = now;
    resetElectionTimer();
    if (transferTarget != 0) {
      if (leader == transferTarget) {
        settleTransfer(null);
      } else {
        settleTransfer(new LeadershipTransferException("node " + nodeId + ": node " + leader
            + " became leader, not the transfer target node " + transferTarget));
      }
    }
  }

  private void truncateLog(final long fromIndex) {
    if (fromIndex <= committed.index() && bugs.isEmpty()) {
      throw new IllegalStateException(
          "node " + nodeId + " was asked to truncate the log from index " + fromIndex
              + " but entries up to " + committed + " are committed");
    }
    LOG.info("[node {}] truncates its log from index {} (last was {})", nodeId, fromIndex, log.lastLogId());
    log.truncateFrom(fromIndex);
    while (!memberships.isEmpty() && memberships.get(memberships.size() - 1).logId().index() >= fromIndex) {
      memberships.remove(memberships.size() - 1);
    }
    final LogId newLast = log.lastLogId();
    if (flushed.index() >= fromIndex) {
      flushed = newLast;
    }
    for (final IoRecord r : ioRecords) {
      if (r.logId != null && r.logId.index() >= fromIndex) {
        r.logId = newLast;
      }
    }
    ioRecords.addLast(new IoRecord(++ioSeq, newLast));
    out.add(new Command.TruncateLog(fromIndex, ioSeq));
    openAppend = null;
    onEffectiveMembershipMaybeChanged();
  }

  // ---------------------------------------------------------------------------------------------
  // Replication, leader side.

  /**
   * Handles the response to an append request this node sent.
   *
   * @param epoch the epoch the request was sent with ({@link Command.SendAppend#epoch()})
   */
  public void handleAppendResponse(final long from, final AppendResponse resp, final long epoch) {
    if (resp.term() > vote.term()) {
      LOG.info("[node {}] sees term {} from node {}; steps down", nodeId, resp.term(), from);
      becomeFollower(resp.term(), 0);
      return;
    }
    if (state != ServerState.LEADER || resp.term() != vote.term()) {
      return;
    }
    final Progress p = progress.get(from);
    if (p == null) {
      return;
    }
    p.lastAckNanos = now;
    if (epoch < 0 && -1 - epoch > p.ackedRound) {
      p.ackedRound = -1 - epoch;
      checkReads();
    }
    if (p.snapshotting) {
      // A heartbeat answered while the snapshot streams: it counts for reads and the quorum
      // check, but the follower's log says nothing until the snapshot is in.
      return;
    }
    if (resp.success()) {
      if (resp.matchIndex() > p.matchIndex) {
        p.matchIndex = Math.min(resp.matchIndex(), log.lastIndex());
        advanceCommit();
      }
      if (p.nextIndex <= p.matchIndex) {
        p.nextIndex = p.matchIndex + 1;
      }
      if (epoch >= 0 && epoch == p.epoch) {
        p.inflight = Math.max(0, p.inflight - 1);
        p.pipeline = true;
      }
    } else if (epoch < 0 || epoch == p.epoch) {
      p.reset(Math.min(resp.conflictIndex(), log.lastIndex() + 1));
    }
    replicateTo(p);
    if (from == transferTarget) {
      maybeSendTimeoutNow();
    }
  }

  /** An append request this node sent failed (unreachable, timed out). */
  public void handleAppendFailure(final long target, final long epoch) {
    final Progress p = state == ServerState.LEADER ? progress.get(target) : null;
    if (p == null || epoch < 0 || epoch != p.epoch) {
      return;
    }
    p.reset(p.matchIndex + 1);
    // Do not hammer an unreachable peer: appends resume after a heartbeat interval.
    p.backoffUntilNanos = now + heartbeatNanos;
  }

  private void replicateTo(final Progress p) {
    if (state != ServerState.LEADER) {
      // A handler that stepped down on the way (a commit of the configuration that removes this
      // node, say) still holds the Progress it looked up: nothing is sent any more, and no
      // commit-only append is scheduled (its deadline would never be cleared by a non-leader's
      // tick, and the simulator's clock would stop there).
      return;
    }
    if (now < p.backoffUntilNanos || p.snapshotting) {
      return;
    }
    final int window = p.pipeline ? config.maxInflightAppends() : 1;
    final long last = log.lastIndex();
    while (p.inflight < window && p.nextIndex <= last) {
      final long from = p.nextIndex;
      if (from <= log.purgedLogId().index()) {
        // The follower needs entries this node has purged: it gets the snapshot instead (§7).
        LOG.info("[node {}] follower {} needs index {} but the log is purged up to {}; sending snapshot {}",
            nodeId, p.nodeId, from, log.purgedLogId(), snapshotLogId());
        p.snapshotting = true;
        out.add(new Command.SendSnapshot(p.nodeId, vote.term()));
        return;
      }
      long to = from;
      long bytes = 0;
      while (to <= last && to - from < config.maxEntriesPerAppend()) {
        bytes += log.sizeAt(to);
        to++;
        if (bytes >= config.maxBytesPerAppend()) {
          break;
        }
      }
      out.add(new Command.SendAppend(
          p.nodeId, vote.term(), log.logIdAt(from - 1), from, to, committed.index(), p.epoch));
      p.nextIndex = to;
      p.inflight++;
      p.sentCommit = committed.index();
      p.commitDueNanos = Long.MAX_VALUE;
    }
    if (p.inflight == 0 && p.sentCommit < Math.min(committed.index(), p.matchIndex)) {
      // The follower has nothing in flight to carry the new commit index. Tell it with an empty
      // append, after commitLinger: the next append, which carries it anyway, usually comes first.
      if (p.commitDueNanos == Long.MAX_VALUE) {
        p.commitDueNanos = now + commitLingerNanos;
      }
      if (now >= p.commitDueNanos) {
        sendHeartbeat(p);
      } else {
        commitDeadline = Math.min(commitDeadline, p.commitDueNanos);
      }
    }
  }

  private void sendHeartbeat(final Progress p) {
    final long at = Math.max(p.matchIndex, log.purgedLogId().index());
    out.add(new Command.SendAppend(
        p.nodeId, vote.term(), log.logIdAt(at), at + 1, at + 1, committed.index(), -1 - heartbeatRound));
    p.sentCommit = committed.index();
    p.commitDueNanos = Long.MAX_VALUE;
  }

  /**
   * Commits the highest index a quorum of every voter set has durable, if it is of the current
   * term (§5.4.2, Figure 8). The leader's own log counts only up to what it has flushed.
   */
  private void advanceCommit() {
    if (state != ServerState.LEADER) {
      return;
    }
    long candidate = Long.MAX_VALUE;
    for (final Set<Long> voters : effective.membership().configs()) {
      final int n = voters.size();
      if (scratch.length < n) {
        scratch = new long[n];
      }
      int k = 0;
      for (final Long id : voters) {
        if (id == nodeId) {
          scratch[k++] = bugs.contains(KnownBug.LEADER_COUNTS_SELF_BEFORE_SYNC) ? log.lastIndex() : flushed.index();
        } else {
          final Progress p = progress.get(id);
          scratch[k++] = p == null ? 0 : p.matchIndex;
        }
      }
      Arrays.sort(scratch, 0, n);
      // n/2 + 1 voters hold at least scratch[n - (n/2 + 1)].
      candidate = Math.min(candidate, scratch[n - (n / 2 + 1)]);
    }
    if (candidate > committed.index()
        && (log.termAt(candidate) == vote.term() || bugs.contains(KnownBug.COMMIT_PREVIOUS_TERM_BY_COUNTING))) {
      commitTo(log.logIdAt(candidate));
      replicationDirty = true;
      checkReads();
    }
  }

  private void commitTo(final LogId id) {
    committed = id;
    maybeApply();
    advanceMembershipChange();
    refreshFollowerRole();
  }

  /**
   * Applies what is both committed and durable here. The commit hint saved for restarts is the
   * same point, so it never names an entry a crash could still take away.
   */
  private void maybeApply() {
    final long upTo = Math.min(committed.index(), flushed.index());
    if (upTo > applySubmitted) {
      applySubmitted = upTo;
      final LogId id = log.logIdAt(upTo);
      out.add(new Command.SaveCommitted(id));
      out.add(new Command.Apply(id));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots and log compaction (§7).

  /**
   * Builds a snapshot now; a {@link Command.Complete} with the {@link SnapshotMeta} (or a {@link
   * Command.Fail}) with {@code replyTo} follows.
   */
  public void handleTriggerSnapshot(final Object replyTo) {
    if (snapshotUnsupported) {
      out.add(new Command.Fail(replyTo, new InvalidRequestException(
          "node " + nodeId + ": the state machine does not build snapshots (StateMachine.snapshot())")));
      return;
    }
    if (lastApplied.index() == 0) {
      out.add(new Command.Fail(replyTo, new InvalidRequestException(
          "node " + nodeId + " has applied nothing yet: there is nothing to snapshot")));
      return;
    }
    if (snapshotBuilding) {
      // The build in progress may have captured less than what is applied now: build again.
      snapshotNextWaiters.add(replyTo);
      return;
    }
    if (snapshot != null && snapshot.lastLogId().index() >= lastApplied.index()) {
      out.add(new Command.Complete(replyTo, snapshot));
      return;
    }
    snapshotWaiters.add(replyTo);
    startSnapshotBuild();
  }

  private void maybeBuildSnapshot() {
    final long every = config.snapshotPolicy().logsSinceLast();
    if (every == 0 || snapshotBuilding || snapshotUnsupported) {
      return;
    }
    if (lastApplied.index() - snapshotLogId().index() >= every) {
      startSnapshotBuild();
    }
  }

  private void startSnapshotBuild() {
    snapshotBuilding = true;
    out.add(new Command.BuildSnapshot());
  }

  /**
   * The runtime built a snapshot and made it durable, or abandoned the build ({@code meta} null)
   * because the store already held one at least as new. The log is purged behind the latest
   * snapshot, keeping {@link Config#maxInSnapshotLogToKeep()} entries.
   */
  public void handleSnapshotBuilt(final SnapshotMeta meta) {
    snapshotBuilding = false;
    if (meta != null && meta.lastLogId().index() > snapshotLogId().index()) {
      snapshot = meta;
      LOG.info("[node {}] built snapshot {} at {}", nodeId, meta.snapshotId(), meta.lastLogId());
    }
    settleSnapshotWaiters(snapshotWaiters);
    final long keep = config.maxInSnapshotLogToKeep();
    final long upTo = Math.min(snapshotLogId().index(), lastApplied.index()) - keep;
    if (upTo > log.purgedLogId().index()) {
      purgeTo(upTo);
    }
    if (!snapshotNextWaiters.isEmpty()) {
      snapshotWaiters.addAll(snapshotNextWaiters);
      snapshotNextWaiters.clear();
      if (snapshot != null && snapshot.lastLogId().index() >= lastApplied.index()) {
        settleSnapshotWaiters(snapshotWaiters);
      } else {
        startSnapshotBuild();
      }
    } else {
      maybeBuildSnapshot();
    }
  }

  private void settleSnapshotWaiters(final List<Object> waiters) {
    for (final Object w : waiters) {
      if (snapshot == null) {
        out.add(new Command.Fail(w, new InvalidRequestException("node " + nodeId + " has no snapshot")));
      } else {
        out.add(new Command.Complete(w, snapshot));
      }
    }
    waiters.clear();
  }

  /**
   * Building a snapshot failed. If the state machine does not build snapshots ({@code
   * unsupported}), the policy stops trying.
   */
  public void handleSnapshotFailed(final RaftException error, final boolean unsupported) {
    snapshotBuilding = false;
    if (unsupported && !snapshotUnsupported) {
      snapshotUnsupported = true;
      LOG.warn("[node {}] the state machine does not build snapshots: the log is never purged ({})",
          nodeId, error.getMessage());
    } else if (!unsupported) {
      LOG.warn("[node {}] building a snapshot failed: {}", nodeId, error.getMessage());
    }
    for (final Object w : snapshotWaiters) {
      out.add(new Command.Fail(w, error));
    }
    for (final Object w : snapshotNextWaiters) {
      out.add(new Command.Fail(w, error));
    }
    snapshotWaiters.clear();
    snapshotNextWaiters.clear();
  }

  /**
   * Purges the log up to and including {@code upTo} now.
   *
   * @throws InvalidRequestException if {@code upTo} is negative, beyond the latest snapshot or
   *     beyond what the state machine has applied
   */
  public void handlePurgeLog(final long upTo) {
    if (upTo < 0) {
      throw new InvalidRequestException("purgeLog(upTo=" + upTo + ") refused: upTo must be >= 0");
    }
    final long limit = Math.min(snapshotLogId().index(), lastApplied.index());
    if (upTo > limit) {
      throw new InvalidRequestException("purgeLog(upTo=" + upTo + ") refused on node " + nodeId
          + ": the log is never purged beyond the latest snapshot (" + snapshotLogId() + ") or the last applied"
          + " entry (" + lastApplied + ")");
    }
    if (upTo > log.purgedLogId().index()) {
      purgeTo(upTo);
    }
  }

  private void purgeTo(final long index) {
    final LogId id = log.logIdAt(index);
    log.purgeUpTo(id);
    forgetMembershipsBelow(index);
    out.add(new Command.PurgeLog(id));
  }

  /** Keeps, of the memberships at or below {@code index}, only the latest (the base). */
  private void forgetMembershipsBelow(final long index) {
    int base = -1;
    for (int i = 0; i < memberships.size() && memberships.get(i).logId().index() <= index; i++) {
      base = i;
    }
    if (base > 0) {
      memberships.subList(0, base).clear();
    }
  }

  /** The runtime streamed the snapshot ending at {@code last} to {@code target}, which has it. */
  public void handleSnapshotSent(final long target, final long term, final LogId last) {
    final Progress p = state == ServerState.LEADER && term == vote.term() ? progress.get(target) : null;
    if (p == null || !p.snapshotting) {
      return;
    }
    p.snapshotting = false;
    p.lastAckNanos = now;
    if (last.index() > p.matchIndex) {
      p.matchIndex = Math.min(last.index(), log.lastIndex());
    }
    p.reset(last.index() + 1);
    advanceCommit();
    replicateTo(p);
    if (target == transferTarget) {
      maybeSendTimeoutNow();
    }
  }

  /**
   * Streaming a snapshot to {@code target} failed; it is tried again after a heartbeat interval.
   *
   * @param higherTerm the follower's term if it answered with a higher one, else 0
   */
  public void handleSnapshotSendFailed(final long target, final long term, final long higherTerm) {
    if (higherTerm > vote.term()) {
      LOG.info("[node {}] sees term {} from node {} (snapshot); steps down", nodeId, higherTerm, target);
      becomeFollower(higherTerm, 0);
      return;
    }
    final Progress p = state == ServerState.LEADER && term == vote.term() ? progress.get(target) : null;
    if (p == null || !p.snapshotting) {
      return;
    }
    p.snapshotting = false;
    p.backoffUntilNanos = now + heartbeatNanos;
  }

  /**
   * Handles one chunk of a snapshot from a leader: the term is checked as for an append; the
   * runtime writes the chunk ({@link Command.ReceiveSnapshotChunk}).
   *
   * @param replyTo the token the answer will carry
   */
  public void handleInstallSnapshotRequest(final long from, final InstallSnapshotRequest req, final Object replyTo) {
    if (req.term() < vote.term()) {
      out.add(new Command.Reply(replyTo, new InstallSnapshotResponse(vote.term(), 0, false), 0));
      return;
    }
    if (state == ServerState.LEADER && req.term() == vote.term()) {
      throw new IllegalStateException(
          "node " + nodeId + " is leader of term " + vote.term() + " but node " + req.leaderId()
              + " sent a snapshot of the same term: two leaders in one term");
    }
    acceptLeader(req.term(), req.leaderId());
    out.add(new Command.ReceiveSnapshotChunk(req, replyTo));
  }

  /**
   * The runtime has received a whole snapshot and made it durable (the store's latest). If it
   * holds entries this node has not committed, the node installs it: the state machine is
   * replaced, the log is cut at the snapshot (entries after it are kept if the log holds the
   * snapshot's last entry, else the uncommitted tail is dropped). Then the last chunk is answered.
   *
   * @param replyTo the token of the last chunk
   */
  public void handleSnapshotReceived(final SnapshotMeta meta, final Object replyTo) {
    final LogId last = meta.lastLogId();
    if (last.index() > snapshotLogId().index()) {
      snapshot = meta;
    }
    if (last.index() > committed.index() && state != ServerState.LEADER) {
      // (A leader holds every committed entry: it never needs a snapshot from another node.)
      installSnapshot(meta);
    } else {
      LOG.info("[node {}] received snapshot {} at {} but has committed {} already; keeps its log",
          nodeId, meta.snapshotId(), last, committed);
    }
    out.add(new Command.Reply(replyTo, new InstallSnapshotResponse(vote.term(), 0, true), 0));
  }

  private void installSnapshot(final SnapshotMeta meta) {
    final LogId last = meta.lastLogId();
    LOG.info("[node {}] installs snapshot {} at {} (log was {}..{}, committed {})",
        nodeId, meta.snapshotId(), last, log.purgedLogId(), log.lastLogId(), committed);
    // Everything up to `last` is committed. If this log holds `last` itself, Log Matching says
    // it matches the leader's up to there; else its entries after the commit index are
    // uncommitted and conflict (or end early): drop them.
    if (log.termAt(last.index()) != last.term() && log.lastIndex() > committed.index()) {
      truncateLog(Math.max(committed.index(), log.purgedLogId().index()) + 1);
    }
    log.purgeUpTo(last);
    final ArrayList<StoredMembership> kept = new ArrayList<>();
    if (!meta.membership().isEmpty()) {
      kept.add(meta.membership());
    }
    for (final StoredMembership m : memberships) {
      if (m.logId().index() > last.index()) {
        kept.add(m);
      }
    }
    memberships.clear();
    memberships.addAll(kept);
    committed = last;
    applySubmitted = Math.max(applySubmitted, last.index());
    if (flushed.index() < last.index()) {
      flushed = last;
    }
    for (final IoRecord r : ioRecords) {
      if (r.logId != null && r.logId.index() < last.index()) {
        r.logId = last;
      }
    }
    ioRecords.addLast(new IoRecord(++ioSeq, null));
    out.add(new Command.InstallSnapshot(meta, ioSeq));
    openAppend = null;
    onEffectiveMembershipMaybeChanged();
    refreshFollowerRole();
  }

  // ---------------------------------------------------------------------------------------------
  // Local log and IO.

  private void appendLocal(final Entry entry) {
    log.append(entry.term(), entry.payload().length);
    if (openAppend != null && !out.isEmpty() && out.get(out.size() - 1) == openAppend) {
      openAppend.entries().add(entry);
      ioRecords.peekLast().logId = entry.logId();
    } else {
      // Sized like the last batch: growing a list of thousands of entries by doubling was a
      // tenth of the leader's CPU at 256 clients.
      final ArrayList<Entry> list = new ArrayList<>(lastAppendBatch);
      list.add(entry);
      openAppend = new Command.AppendEntries(list, ++ioSeq);
      ioRecords.addLast(new IoRecord(ioSeq, entry.logId()));
      out.add(openAppend);
    }
    if (entry.kind() == EntryKind.MEMBERSHIP) {
      memberships.add(new StoredMembership(entry.logId(), entry.membership()));
      onEffectiveMembershipMaybeChanged();
    }
  }

  private long saveVote() {
    voteSeq = ++ioSeq;
    ioRecords.addLast(new IoRecord(voteSeq, null));
    out.add(new Command.SaveVote(vote, voteSeq));
    return voteSeq;
  }

  private void onEffectiveMembershipMaybeChanged() {
    final StoredMembership latest =
        memberships.isEmpty() ? StoredMembership.EMPTY : memberships.get(memberships.size() - 1);
    if (latest.equals(effective)) {
      return;
    }
    effective = latest;
    LOG.info("[node {}] effective membership is now {} at {}", nodeId, latest.membership(), latest.logId());
    if (state == ServerState.LEADER && !effective.isEmpty()) {
      // Replicate to every member, and only to members: a removed node stops receiving the log.
      progress.keySet().retainAll(effective.membership().nodes().keySet());
      for (final Long member : effective.membership().nodes().keySet()) {
        if (member != nodeId && !progress.containsKey(member)) {
          // Start at the entry that adds it: the first append brings it its membership.
          progress.put(member, new Progress(member, Math.max(1, log.lastIndex()), now));
        }
      }
    }
    refreshFollowerRole();
  }

  /** A follower that can no longer stand for election becomes a learner, and back. */
  private void refreshFollowerRole() {
    if (state == ServerState.FOLLOWER || state == ServerState.LEARNER) {
      final ServerState next = isElectable() ? ServerState.FOLLOWER : ServerState.LEARNER;
      if (next != state) {
        state = next;
        resetElectionTimer();
      }
    }
  }

  /**
   * Whether this node stands for election: a voter of the effective membership, or a voter of a
   * membership at or after the latest one it knows committed while a later one (which leaves it
   * out) is not yet committed. A server leaving the cluster keeps its part until C(new) commits
   * (thesis §4.2.2): it may hold the most up-to-date log, and the voters of C(new) cannot win
   * without its vote then, so it must be able to win (counting only C(new)'s votes), commit
   * C(new) and step down. Without this, losing one voter of an uncommitted C(new) for good could
   * leave a cluster with a majority of both voter sets up and no possible leader.
   */
  private boolean isElectable() {
    if (effective.isEmpty()) {
      return false;
    }
    if (effective.membership().isVoter(nodeId)) {
      return true;
    }
    if (effective.logId().index() <= committed.index()) {
      return false;
    }
    int base = 0;
    for (int i = 0; i < memberships.size(); i++) {
      if (memberships.get(i).logId().index() <= committed.index()) {
        base = i;
      }
    }
    for (int i = base; i < memberships.size(); i++) {
      if (memberships.get(i).membership().isVoter(nodeId)) {
        return true;
      }
    }
    return false;
  }

  private static LogId max(final LogId a, final LogId b) {
    return a.index() >= b.index() ? a : b;
  }

  /** A membership change waiting for its final entry to commit. */
  private static final class PendingChange {
    final Object replyTo;
    final Membership target;
    long finalIndex;

    PendingChange(final Object replyTo, final Membership target, final long finalIndex) {
      this.replyTo = replyTo;
      this.target = target;
      this.finalIndex = finalIndex;
    }
  }

  /** A read waiting for its confirmation round and for the state machine to catch up. */
  private static final class PendingRead {
    final Object replyTo;
    long readIndex;
    final long neededRound;
    /** Asked by a follower or learner: answered with a read-index response, not a local read. */
    final boolean remote;

    PendingRead(final Object replyTo, final long readIndex, final long neededRound, final boolean remote) {
      this.replyTo = replyTo;
      this.readIndex = readIndex;
      this.neededRound = neededRound;
      this.remote = remote;
    }
  }

  /** One log-writer IO and the log id the log is at once it is done ({@code null} for a vote). */
  private static final class IoRecord {
    final long seq;
    LogId logId;

    IoRecord(final long seq, final LogId logId) {
      this.seq = seq;
      this.logId = logId;
    }
  }
}
