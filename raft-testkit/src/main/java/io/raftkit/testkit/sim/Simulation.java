package io.raftkit.testkit.sim;

import io.raftkit.api.ChangeMembers;
import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ReadPolicy;
import io.raftkit.api.ServerState;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.Vote;
import io.raftkit.api.error.InvalidRequestException;
import io.raftkit.api.error.LeaseExpiredException;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.error.RaftException;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.InstallSnapshotRequest;
import io.raftkit.api.message.InstallSnapshotResponse;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
import io.raftkit.api.message.ReadIndexRequest;
import io.raftkit.api.message.ReadIndexResponse;
import io.raftkit.api.message.TimeoutNowRequest;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.engine.core.Command;
import io.raftkit.engine.core.Engine;
import io.raftkit.testkit.lincheck.CheckResult;
import io.raftkit.testkit.lincheck.KvModel;
import io.raftkit.testkit.lincheck.LinearizabilityChecker;
import io.raftkit.testkit.lincheck.Operation;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * One deterministic simulated run: real engines, a simulated network (loss, duplication, delay
 * and reordering, partitions), simulated disks (a crash loses unsynced writes or keeps part of
 * them, may tear the last one, and may flip a bit, which checksums catch) and snapshot stores,
 * simulated clocks (drift and jumps) and background membership changes, leadership transfers,
 * snapshots and log purges, all driven from one seed in one thread. The engines' commands are
 * executed as the runtime ({@code RaftNode}) executes them, snapshot streaming included.
 *
 * <p>After every step it checks: at most one leader per term; an index committed anywhere holds
 * the same entry everywhere (and no node truncates a committed entry); a leader commits only what
 * a quorum of every voter set holds durably; every node applies the same entry (same bytes) at
 * the same index, never a damaged record, and reaches the same state there; a snapshot holds the
 * state the nodes had at its last index; no node reads an entry it purged; commit and applied
 * indexes of a running node never go back; a leader takes a lease read only while no leader of a
 * later term has been elected; a restarted node's configuration is the latest in its log. At the end it heals every fault, checks that a leader
 * is elected and commits within 20 election timeouts, reads every key, checks that every running
 * member catches up with the leader's commit index, and checks the whole client history (writes,
 * reads through the log, ReadIndex and lease reads) for linearizability.
 *
 * <p>Not thread-safe; single use.
 */
public final class Simulation {
  private static final long MS = 1_000_000L;

  private final SimConfig cfg;
  private final SplittableRandom random;
  private final PriorityQueue<Event> queue = new PriorityQueue<>();
  private long now;
  private long eventSeq;
  private long traceHash = 1469598103934665603L;
  private long events;
  /** Events run at the current instant: a simulation whose time stops fails instead of hanging. */
  private long eventsAtNow;
  private static final long MAX_EVENTS_AT_ONE_INSTANT = 100_000;
  private final ArrayDeque<String> trace = new ArrayDeque<>();
  private static final int TRACE_LINES = 60;
  private final java.util.EnumSet<InjectedBug> bugs = java.util.EnumSet.noneOf(InjectedBug.class);

  private final Map<Long, Node> nodes = new TreeMap<>();
  private final Map<Long, String> addresses = new TreeMap<>();
  private final Membership membership;
  private final Set<Long> cut = new HashSet<>(); // from * 64 + to
  private boolean faultsOn = true;
  private final long electionMaxNanos;
  private final Stats stats = new Stats();
  private final Set<Long> flippedNodes = new TreeSet<>();
  private Node isolated;
  private long partitionHoldUntil;
  private long isolationTurn;

  // Invariant state.
  private final Map<Long, Long> leaderOfTerm = new HashMap<>();
  /** When the leader of each term was first seen (simulated nanos). */
  private final Map<Long, Long> leaderElectedAt = new HashMap<>();
  private final Map<Long, LogId> committedAt = new HashMap<>();
  private final Map<Long, Rec> appliedAt = new HashMap<>();
  // The state machine's state after each applied index (a digest of the map; equal on every node
  // that got there, by applying entries or by a snapshot), and the membership entries applied:
  // what a snapshot at an index must match.
  private final Map<Long, Long> stateDigestAt = new HashMap<>();
  private final TreeMap<Long, LogId> appliedMemberships = new TreeMap<>();
  private long maxTerm;
  private long maxCommittedIndex;

  // Clients.
  private final List<Client> clients = new ArrayList<>();
  private final List<Operation<KvModel.Input, KvModel.Output>> history = new ArrayList<>();
  private long nextValue = 1;
  private final boolean readHeavy;
  private final long clientTimeoutNanos;

  /** Prepares a run. */
  public Simulation(final SimConfig cfg) {
    this.cfg = cfg;
    this.random = new SplittableRandom(cfg.seed());
    this.electionMaxNanos = cfg.config().electionTimeoutMax().toNanos();
    final Map<Long, String> voters = new TreeMap<>();
    for (long id = 1; id <= cfg.poolSize(); id++) {
      addresses.put(id, "sim" + id);
      if (id <= cfg.nodes()) {
        voters.put(id, "sim" + id);
      }
    }
    this.membership = Membership.ofVoters(voters);
    this.readHeavy = random.nextInt(3) == 0 || !cfg.config().checkQuorum() && random.nextBoolean();
    this.clientTimeoutNanos = electionMaxNanos * (random.nextBoolean() ? 3 : 10);
  }

  /**
   * Switches a known bug on in every engine of this run (for the simulator's self-test).
   *
   * @return this simulation
   */
  public Simulation withBug(final InjectedBug bug) {
    bugs.add(bug);
    return this;
  }

  /**
   * Runs the simulation.
   *
   * @return what happened
   * @throws SimulationFailure if an invariant breaks, the cluster does not recover, or the history
   *     is not linearizable
   */
  public SimResult run() {
    for (long id = 1; id <= cfg.poolSize(); id++) {
      final Node n = new Node(id);
      nodes.put(id, n);
      n.boot();
    }
    step(nodes.get(1L), e -> e.handleInitialize(membership, new InitToken()));
    final int readers = readHeavy ? 2 : 0;
    for (int c = 0; c < cfg.clients() + readers; c++) {
      final Client client = new Client(c);
      client.readOnly = c >= cfg.clients();
      clients.add(client);
      at(now + random.nextLong(1, 50) * MS, "client", client::next);
    }
    if (cfg.crashes() || cfg.partitions()) {
      at(now + cfg.faultEveryMillis() * MS, "fault", this::fault);
    }
    if (cfg.membershipEveryMillis() > 0) {
      at(now + cfg.membershipEveryMillis() * MS, "reconfigure", this::reconfigure);
    }
    if (cfg.transferEveryMillis() > 0) {
      at(now + cfg.transferEveryMillis() * MS, "transfer", this::transfer);
    }
    if (cfg.clockJumps()) {
      at(now + random.nextLong(100, 600) * MS, "clock-jump", this::clockJump);
    }
    if (cfg.snapshotEveryMillis() > 0) {
      at(now + cfg.snapshotEveryMillis() * MS, "snapshot-activity", this::snapshotActivity);
    }
    final long faultEnd = cfg.durationMillis() * MS;
    runUntil(faultEnd);

    // Heal everything; the cluster must elect a leader and commit within 20 election timeouts.
    faultsOn = false;
    clearCut();
    for (final Node n : nodes.values()) {
      n.pausedUntil = Math.min(n.pausedUntil, now);
    }
    for (final Node n : nodes.values()) {
      if (!n.up && !n.failed && !n.decommissioned) {
        n.boot();
      }
    }
    reviveMembers();
    final long healedAt = now;
    final long liveness = 20 * electionMaxNanos;
    final long[] committedBefore = {maxCommitted()};
    runUntilCondition(healedAt + liveness,
        () -> leader() != null && maxCommitted() > committedBefore[0] && leader().engine.committed().term()
            == leader().engine.vote().term());
    if (leader() == null && !flippedNodes.isEmpty() && nodes.values().stream().anyMatch(n -> n.failed)
        && !quorumOfEveryVoterSetUp()) {
      // Nodes were lost for good (damaged synced records) and with them a majority of a voter
      // set of the latest membership: no leader can be elected, by design. Safety and
      // linearizability are still demanded. (While a majority of every voter set is up, liveness
      // is demanded: a node left out of an uncommitted C(new) campaigns, see Engine.isElectable.)
      note("no leader after healing with a voter set's majority lost for good: liveness not required");
      stopClients();
      return finish(false);
    }
    if (leader() == null) {
      throw failure("no leader within 20 election timeouts after healing; " + describe());
    }
    // Stop the clients, settle, then read every key.
    stopClients();
    return finish(true);
  }

  /** Whether a majority of every voter set of the latest membership any running node holds is up. */
  private boolean quorumOfEveryVoterSetUp() {
    io.raftkit.api.StoredMembership latest = null;
    for (final Node n : nodes.values()) {
      if (n.up && !n.failed) {
        final io.raftkit.api.StoredMembership m = n.engine.effectiveMembership();
        if (latest == null || m.logId().index() > latest.logId().index()) {
          latest = m;
        }
      }
    }
    if (latest == null || latest.isEmpty()) {
      return false;
    }
    for (final java.util.Set<Long> voters : latest.membership().configs()) {
      long upCount = voters.stream().filter(id -> {
        final Node n = nodes.get(id);
        return n != null && n.up && !n.failed;
      }).count();
      if (upCount * 2 <= voters.size()) {
        return false;
      }
    }
    return true;
  }

  /** Stops the clients, lets their operations settle, and gives up on the rest (unknown). */
  private void stopClients() {
    for (final Client c : clients) {
      c.stopped = true;
    }
    runUntilCondition(now + 20 * electionMaxNanos, () -> clients.stream().allMatch(c -> c.op == null));
    for (final Client c : clients) {
      if (c.op != null) {
        c.giveUp();
      }
    }
  }

  private SimResult finish(final boolean readEveryKey) {
    final long liveness = 20 * electionMaxNanos;
    final Client reader = new Client(clients.size());
    clients.add(reader);
    for (int k = 0; k < cfg.keys() && readEveryKey; k++) {
      reader.start(KvModel.Input.get(key(k)), null);
      runUntilCondition(now + liveness, () -> reader.op == null);
      if (reader.op != null) {
        throw failure("the final read of " + key(k) + " did not complete after healing; " + describe());
      }
    }
    if (readEveryKey) {
      awaitCatchUp(liveness);
    }
    final CheckResult lin = LinearizabilityChecker.check(KvModel.INSTANCE, history, Duration.ofSeconds(60));
    if (!lin.ok()) {
      throw failure("history is not linearizable: " + lin.detail());
    }
    return new SimResult(cfg.seed(), traceHash, events, stats.acknowledged, stats.unknown, maxTerm, stats.crashes,
        stats.partitions, stats.membershipChanges, stats.transfers, stats.leaseReads, stats.readIndexReads,
        stats.clockJumps, stats.tornWrites, stats.corruptionsDetected, stats.snapshotsBuilt, stats.snapshotsStreamed,
        stats.snapshotsInstalled, stats.logPurges, stats.snapshotsRestored, stats.crashesWhileReceivingSnapshot,
        stats.caughtUpAfterReceiveCrash, stats.snapshotStatesChecked, lin);
  }

  /**
   * Every running member of the leader's membership applies up to the leader's commit index
   * within {@code deadline}: a node that fell behind the leader's purged log gets the snapshot.
   */
  private void awaitCatchUp(final long deadline) {
    final Node l = leader();
    if (l == null) {
      throw failure("no leader after the final reads; " + describe());
    }
    final long target = l.engine.committed().index();
    final List<Node> members = new ArrayList<>();
    for (final Long id : l.engine.effectiveMembership().membership().nodes().keySet()) {
      members.add(nodes.get(id));
    }
    runUntilCondition(now + deadline, () -> members.stream().allMatch(n -> !n.up || n.applied.index() >= target));
    for (final Node n : members) {
      if (n.up && n.applied.index() < target) {
        throw failure("node " + n.id + " has applied " + n.applied + ", not the commit index " + target
            + " of leader " + l.id + ", 20 election timeouts after healing; " + describe());
      }
      if (n.up && n.lostHalfReceivedSnapshot) {
        stats.caughtUpAfterReceiveCrash++;
      }
    }
  }

  /** Counters for {@link SimResult}. */
  private static final class Stats {
    long acknowledged;
    long unknown;
    long crashes;
    long partitions;
    long pauses;
    long membershipChanges;
    long transfers;
    long leaseReads;
    long readIndexReads;
    long clockJumps;
    long tornWrites;
    long corruptionsDetected;
    long snapshotsBuilt;
    long snapshotsStreamed;
    long snapshotsInstalled;
    long logPurges;
    long snapshotsRestored;
    long crashesWhileReceivingSnapshot;
    long caughtUpAfterReceiveCrash;
    long snapshotStatesChecked;
  }

  // ---------------------------------------------------------------------------------------------
  // Event loop.

  private record Event(long time, long seq, String what, Runnable action) implements Comparable<Event> {
    @Override
    public int compareTo(final Event o) {
      final int t = Long.compare(time, o.time);
      return t != 0 ? t : Long.compare(seq, o.seq);
    }
  }

  private void at(final long time, final String what, final Runnable action) {
    queue.add(new Event(Math.max(time, now), eventSeq++, what, action));
  }

  private void runUntil(final long end) {
    while (!queue.isEmpty() && queue.peek().time <= end) {
      runOne();
    }
    now = Math.max(now, end);
  }

  private void runUntilCondition(final long end, final java.util.function.BooleanSupplier done) {
    while (!done.getAsBoolean() && !queue.isEmpty() && queue.peek().time <= end) {
      runOne();
    }
  }

  private void runOne() {
    final Event e = queue.poll();
    if (e.time == now) {
      if (++eventsAtNow > MAX_EVENTS_AT_ONE_INSTANT) {
        throw failure("time stopped: " + eventsAtNow + " events at t=" + now / MS
            + "ms (a timer that fires without moving its deadline?)");
      }
    } else {
      eventsAtNow = 0;
    }
    now = e.time;
    events++;
    traceHash = (traceHash ^ e.time) * 1099511628211L;
    traceHash = (traceHash ^ e.what.hashCode()) * 1099511628211L;
    if (trace.size() == TRACE_LINES) {
      trace.pollFirst();
    }
    trace.addLast(String.format("%9.3fms %s", e.time / 1e6, e.what));
    e.action.run();
  }

  /** Runs one engine handler on a node, dispatches what it emits, checks the invariants. */
  private void step(final Node n, final Consumer<Engine> handler) {
    if (!n.up) {
      return;
    }
    if (now < n.pausedUntil) {
      // A paused process (GC, SIGSTOP): what reaches it waits, in order, until it resumes.
      final int inc = n.incarnation;
      at(n.pausedUntil, "deferred " + n.id, () -> {
        if (n.incarnation == inc) {
          step(n, handler);
        }
      });
      return;
    }
    final Engine e = n.engine;
    final Membership before = e.state() == ServerState.LEADER ? e.effectiveMembership().membership() : null;
    try {
      e.tick(n.clock());
      handler.accept(e);
      e.endBatch();
    } catch (final RuntimeException ex) {
      if (ex instanceof NotLeaderException) {
        throw ex;
      }
      final SimulationFailure f = failure("node " + n.id + " engine threw " + ex);
      f.initCause(ex);
      throw f;
    }
    n.dispatch();
    check(n, before);
    n.scheduleTick();
  }

  // ---------------------------------------------------------------------------------------------
  // Faults.

  private void fault() {
    if (!faultsOn) {
      return;
    }
    final int roll = random.nextInt(9);
    final int drawn = roll == 8 ? 6 : roll >= 6 ? 4 : roll; // crashes twice as likely as others
    // A split along a membership change holds for a while: the other partitions wait.
    final int choice = drawn <= 3 && now < partitionHoldUntil ? -1 : drawn;
    final List<Long> ids = new ArrayList<>(nodes.keySet());
    if (choice == 0 && cfg.partitions()) {
      // Symmetric split into two random groups.
      clearCut();
      final Set<Long> side = new HashSet<>();
      for (final Long id : ids) {
        if (random.nextBoolean()) {
          side.add(id);
        }
      }
      for (final Long a : ids) {
        for (final Long b : ids) {
          if (side.contains(a) != side.contains(b)) {
            cut.add(a * 64 + b);
          }
        }
      }
      stats.partitions++;
    } else if (choice == 1 && cfg.partitions()) {
      // Isolate the leader.
      final Node l = leader();
      if (l != null) {
        clearCut();
        for (final Long b : ids) {
          if (b != l.id) {
            cut.add(l.id * 64 + b);
            cut.add(b * 64 + l.id);
          }
        }
        stats.partitions++;
      }
    } else if (choice == 2 && cfg.partitions()) {
      // One-way: a random link stops carrying messages in one direction.
      final long a = ids.get(random.nextInt(ids.size()));
      final long b = ids.get(random.nextInt(ids.size()));
      if (a != b) {
        cut.add(a * 64 + b);
        stats.partitions++;
      }
    } else if (choice == 3 && cfg.partitions()) {
      note("heal");
      clearCut();
    } else if (choice == 4 && cfg.crashes()) {
      // Prefer a node with writes not yet synced: that is where durability bugs show.
      Node victim = nodes.get(ids.get(random.nextInt(ids.size())));
      for (final Node n : nodes.values()) {
        if (n.up && !n.ioQueue.isEmpty() && random.nextBoolean()) {
          victim = n;
        }
      }
      if (random.nextInt(3) == 0 && leader() != null) {
        victim = leader();
      }
      if (victim.up && canCrash(victim)) {
        crash(victim, "crash node " + victim.id, false);
      }
    } else if (choice == 6) {
      // Pause a node (often the leader) for longer than an election timeout.
      final Node l = leader();
      final Node victim = l != null && random.nextBoolean() ? l : nodes.get(ids.get(random.nextInt(ids.size())));
      if (victim.up && now >= victim.pausedUntil) {
        final long pause = random.nextLong(50, 1_500) * MS;
        victim.pausedUntil = now + pause;
        note("pause node " + victim.id + " for " + pause / MS + "ms");
        stats.pauses++;
      }
    } else if (choice == 5) {
      for (final Node n : nodes.values()) {
        if (!n.up && !n.failed && !n.decommissioned) {
          note("restart node " + n.id);
          n.boot();
          break;
        }
      }
    }
    if (choice >= 0 && choice <= 2 && !cut.isEmpty()) {
      note("cut links " + cutDescription());
    }
    at(now + (cfg.faultEveryMillis() / 2 + random.nextLong(cfg.faultEveryMillis())) * MS, "fault", this::fault);
  }

  /**
   * Whether {@code victim} may go down while keeping a majority of every voter set of the latest
   * membership up: the runs stay busy, and liveness after healing stays a fair demand.
   */
  private boolean canCrash(final Node victim) {
    for (final Set<Long> voters : latestMembership().configs()) {
      int down = 0;
      for (final Long id : voters) {
        final Node x = nodes.get(id);
        if (!x.up || x == victim) {
          down++;
        }
      }
      if (down > (voters.size() - 1) / 2) {
        return false;
      }
    }
    return true;
  }

  /** The membership of the highest index any running node holds. */
  private Membership latestMembership() {
    StoredMembership best = null;
    for (final Node n : nodes.values()) {
      if (n.up) {
        final StoredMembership m = n.engine.effectiveMembership();
        if (!m.isEmpty() && (best == null || m.logId().index() > best.logId().index())) {
          best = m;
        }
      }
    }
    return best == null ? membership : best.membership();
  }

  private void crash(final Node victim, final String why, final boolean quickReboot) {
    note(why);
    victim.crash(cfg.diskFaults());
    stats.crashes++;
    if (quickReboot || random.nextBoolean()) {
      // A quick reboot: the node is back while the election it took part in is still going.
      final int inc = victim.incarnation;
      at(now + random.nextLong(1, quickReboot ? 20 : 100) * MS, "reboot " + victim.id, () -> {
        if (faultsOn && !victim.up && !victim.decommissioned && victim.incarnation == inc) {
          victim.boot();
        }
      });
    }
  }

  /**
   * Crashes {@code n} right now with probability {@code p}, if crashes are on and a minority is
   * down: a fault aimed at the moments durability bugs need (a reply sent, a commit counted)
   * while writes are not yet synced.
   */
  private void maybeCrashAt(final Node n, final double p, final String moment, final boolean quickReboot) {
    if (!faultsOn || !cfg.crashes() || n.ioQueue.isEmpty() || random.nextDouble() >= p) {
      return;
    }
    crashSoon(n, moment + " with unsynced writes", quickReboot);
  }

  private void crashSoon(final Node n, final String moment, final boolean quickReboot) {
    if (!canCrash(n)) {
      return;
    }
    final int inc = n.incarnation;
    at(now, "crash " + n.id + " " + moment, () -> {
      if (n.up && n.incarnation == inc && canCrash(n)) {
        crash(n, "crash node " + n.id + " " + moment, quickReboot);
      }
    });
  }

  /**
   * The Figure 8 schedule's fault: cuts every link of {@code n} and lets the node isolated before
   * it rejoin, so that leaders of successive terms hold entries the others lack (§5.4.2). Aimed at
   * a leader right after its election (its blank entry stays on its own disk) or right after it
   * counts a commit (before the followers learn of it). An isolation lasts at most {@code
   * maxNanos}.
   */
  private void isolateInTurn(final Node n, final long afterNanos, final long maxNanos, final String why) {
    final int inc = n.incarnation;
    at(now + afterNanos, "isolate " + n.id, () -> {
      if (!faultsOn || n.incarnation != inc || isolated == n) {
        return;
      }
      if (isolated != null) {
        rejoin(isolated);
      }
      note("isolate node " + n.id + " " + why);
      for (final Long b : nodes.keySet()) {
        if (b != n.id) {
          cut.add(n.id * 64 + b);
          cut.add(b * 64 + n.id);
        }
      }
      isolated = n;
      stats.partitions++;
      final long turn = ++isolationTurn;
      at(now + maxNanos, "rejoin " + n.id, () -> {
        if (isolationTurn == turn && isolated == n) {
          rejoin(n);
        }
      });
    });
  }

  private void rejoin(final Node n) {
    note("node " + n.id + " rejoins");
    for (final Long b : nodes.keySet()) {
      cut.remove(n.id * 64 + b);
      cut.remove(b * 64 + n.id);
    }
    isolated = null;
  }

  /**
   * A membership change in the background, on the leader: add or remove learners, add or remove
   * one or two voters, or replace the voter set, keeping 3 to 7 voters. Nodes the committed
   * membership no longer holds are stopped (an operator decommissions them; their disk is kept),
   * and come back when a change adds them again.
   */
  private void reconfigure() {
    if (!faultsOn) {
      return;
    }
    at(now + (cfg.membershipEveryMillis() / 2 + random.nextLong(cfg.membershipEveryMillis())) * MS, "reconfigure",
        this::reconfigure);
    final Node l = leader();
    if (l == null || now < l.pausedUntil) {
      return;
    }
    final StoredMembership sm = l.engine.effectiveMembership();
    if (sm.isEmpty() || sm.membership().isJoint() || sm.logId().index() > l.engine.committed().index()) {
      return;
    }
    final Membership m = sm.membership();
    reviveMembers();
    for (final Node n : nodes.values()) {
      if (n.up && n != l && !m.contains(n.id)) {
        note("decommission node " + n.id + " (not in " + m.configs() + ")");
        n.crash(false);
        n.decommissioned = true;
      }
    }
    final List<Long> voters = new ArrayList<>(m.configs().get(0));
    final List<Long> learners = new ArrayList<>(m.learnerIds());
    final List<Long> outsiders = new ArrayList<>();
    for (final Long id : nodes.keySet()) {
      if (!m.contains(id)) {
        outsiders.add(id);
      }
    }
    final List<Long> members = new ArrayList<>(m.nodes().keySet());
    final ChangeMembers change;
    final Set<Long> added = new TreeSet<>();
    switch (random.nextInt(6)) {
      case 0 -> {
        if (outsiders.isEmpty()) {
          return;
        }
        added.addAll(pick(outsiders, 1 + random.nextInt(2)));
        change = new ChangeMembers.AddNodes(addressesOf(added));
      }
      case 1 -> {
        final List<Long> candidates = new ArrayList<>(learners);
        candidates.addAll(outsiders);
        final int n = Math.min(candidates.size(), Math.min(7 - voters.size(), 1 + random.nextInt(2)));
        if (n <= 0) {
          return;
        }
        added.addAll(pick(candidates, n));
        change = new ChangeMembers.AddVoters(addressesOf(added));
      }
      case 2 -> {
        final int n = Math.min(voters.size() - 3, 1 + random.nextInt(2));
        if (n <= 0) {
          return;
        }
        change = new ChangeMembers.RemoveVoters(new TreeSet<>(pick(voters, n)));
      }
      case 3 -> {
        if (learners.isEmpty()) {
          return;
        }
        change = new ChangeMembers.RemoveNodes(new TreeSet<>(pick(learners, 1)));
      }
      default -> {
        // Replace the voter set with 3..7 members: often two or more voters at once.
        if (members.size() < 3) {
          return;
        }
        final int n = 3 + random.nextInt(Math.min(7, members.size()) - 2);
        final Set<Long> target = new TreeSet<>(pick(members, n));
        if (target.equals(m.configs().get(0))) {
          return;
        }
        change = new ChangeMembers.ReplaceAllVoters(target);
      }
    }
    final boolean retain = random.nextBoolean();
    for (final Long id : added) {
      final Node n = nodes.get(id);
      n.decommissioned = false;
      if (!n.up && !n.failed) {
        note("start node " + id + " to add it");
        n.boot();
      }
    }
    step(l, e -> {
      try {
        e.handleChangeMembership(change, retain, new ControlToken());
        note("membership change " + change + (retain ? " (retain)" : "") + " on node " + l.id);
        stats.membershipChanges++;
        final Membership joint = e.effectiveMembership().membership();
        if (joint.isJoint() && cfg.partitions()) {
          splitAlong(l, joint.configs().get(1));
        }
      } catch (final RaftException ex) {
        note("membership change refused: " + ex.getMessage());
      }
    });
  }

  /**
   * Splits the cluster while a joint change is in flight: the leader and just a majority of the
   * new voter set on one side, everyone else on the other. Only joint consensus keeps the two
   * sides from both deciding (§6): the other side may hold a majority of the old voter set.
   */
  private void splitAlong(final Node l, final Set<Long> newVoters) {
    if (!newVoters.contains(l.id)) {
      return;
    }
    // The leader's side takes the voters new to the change first, so that the other side keeps
    // as much of the old voter set as it can.
    final Set<Long> oldVoters = l.engine.effectiveMembership().membership().configs().get(0);
    final List<Long> others = new ArrayList<>();
    final List<Long> fresh = new ArrayList<>();
    for (final Long id : newVoters) {
      if (id != l.id) {
        (oldVoters.contains(id) ? others : fresh).add(id);
      }
    }
    final List<Long> order = new ArrayList<>(pick(fresh, fresh.size()));
    order.addAll(pick(others, others.size()));
    final Set<Long> side = new TreeSet<>(order.subList(0, newVoters.size() / 2));
    side.add(l.id);
    at(now + random.nextLong(0, 5 * MS), "split", () -> {
      if (!faultsOn) {
        return;
      }
      clearCut();
      for (final Long a : nodes.keySet()) {
        for (final Long b : nodes.keySet()) {
          if (side.contains(a) != side.contains(b)) {
            cut.add(a * 64 + b);
          }
        }
      }
      stats.partitions++;
      partitionHoldUntil = now + random.nextLong(500, 1_500) * MS;
      note("split " + side + " from the rest while a joint change is in flight");
    });
  }

  /** Starts the decommissioned nodes that some running node's membership holds again. */
  private void reviveMembers() {
    final Set<Long> members = new TreeSet<>();
    for (final Node n : nodes.values()) {
      if (n.up && !n.engine.effectiveMembership().isEmpty()) {
        members.addAll(n.engine.effectiveMembership().membership().nodes().keySet());
      }
    }
    for (final Long id : members) {
      final Node n = nodes.get(id);
      if (n.decommissioned && !n.up && !n.failed) {
        n.decommissioned = false;
        note("start node " + id + ": a membership holds it again");
        n.boot();
      }
    }
  }

  private List<Long> pick(final List<Long> from, final int n) {
    final List<Long> copy = new ArrayList<>(from);
    for (int i = copy.size() - 1; i > 0; i--) {
      final int j = random.nextInt(i + 1);
      final Long t = copy.get(i);
      copy.set(i, copy.get(j));
      copy.set(j, t);
    }
    return copy.subList(0, Math.min(n, copy.size()));
  }

  private Map<Long, String> addressesOf(final Set<Long> ids) {
    final Map<Long, String> m = new TreeMap<>();
    for (final Long id : ids) {
      m.put(id, addresses.get(id));
    }
    return m;
  }

  /** A leadership transfer in the background, from the leader to a random voter. */
  private void transfer() {
    if (!faultsOn) {
      return;
    }
    at(now + (cfg.transferEveryMillis() / 2 + random.nextLong(cfg.transferEveryMillis())) * MS, "transfer",
        this::transfer);
    final Node l = leader();
    if (l == null || now < l.pausedUntil) {
      return;
    }
    final List<Long> voters = new ArrayList<>(l.engine.effectiveMembership().membership().voterIds());
    voters.remove(l.id);
    if (voters.isEmpty()) {
      return;
    }
    final long target = voters.get(random.nextInt(voters.size()));
    step(l, e -> {
      try {
        e.handleTransferLeader(target, new ControlToken());
        note("transfer leadership " + l.id + " -> " + target);
        stats.transfers++;
      } catch (final RaftException ex) {
        note("transfer refused: " + ex.getMessage());
      }
    });
  }

  /**
   * Snapshots and purges in the background, as an operator's {@code trigger().snapshot()} and
   * {@code trigger().purgeLog(n)}, on the leader half the time (its purges are what sends
   * followers that were cut off or down a snapshot), else on a random running node: build a
   * snapshot now (half the time), or purge the log up to what its latest snapshot covers (2 in 3)
   * or up to a random index below.
   */
  private void snapshotActivity() {
    if (!faultsOn) {
      return;
    }
    at(now + (cfg.snapshotEveryMillis() / 2 + random.nextLong(cfg.snapshotEveryMillis())) * MS, "snapshot-activity",
        this::snapshotActivity);
    final Node l = leader();
    final Node n = l != null && random.nextBoolean() ? l : nodes.get(1L + random.nextInt(nodes.size()));
    if (!n.up) {
      return;
    }
    if (random.nextBoolean()) {
      note("trigger a snapshot on node " + n.id);
      step(n, e -> e.handleTriggerSnapshot(new ControlToken()));
      return;
    }
    final boolean all = random.nextInt(3) != 0;
    final long draw = random.nextLong(Long.MAX_VALUE);
    step(n, e -> {
      final long limit = Math.min(e.snapshotLogId().index(), e.lastApplied().index());
      final long purged = e.purgedLogId().index();
      if (limit > purged) {
        final long upTo = all ? limit : purged + 1 + draw % (limit - purged);
        note("purge node " + n.id + "'s log up to " + upTo);
        e.handlePurgeLog(upTo);
      }
    });
  }

  /**
   * A forward clock jump on a random node: up to 200 ms on the leader (a fast leader clock only
   * shortens its lease), up to {@link SimConfig#MAX_VOTER_JUMP_MILLIS} and at most once per two
   * maximum election timeouts on any other node (the bound the lease assumes).
   */
  private void clockJump() {
    if (!faultsOn) {
      return;
    }
    at(now + random.nextLong(100, 600) * MS, "clock-jump", this::clockJump);
    final Node n = nodes.get(1L + random.nextInt(nodes.size()));
    final boolean leader = n.up && n.engine.state() == ServerState.LEADER;
    final long jump;
    if (leader) {
      jump = random.nextLong(1, 200) * MS;
    } else if (now - n.lastVoterJump >= 2 * electionMaxNanos) {
      jump = random.nextLong(1, SimConfig.MAX_VOTER_JUMP_MILLIS * MS + 1);
      n.lastVoterJump = now;
    } else {
      return;
    }
    note(String.format("clock of node %d jumps %.3fms ahead%s", n.id, jump / 1e6, leader ? " (leader)" : ""));
    n.jumpClock(jump);
    stats.clockJumps++;
  }

  private void note(final String what) {
    if (trace.size() == TRACE_LINES) {
      trace.pollFirst();
    }
    trace.addLast(String.format("%9.3fms   ** %s", now / 1e6, what));
  }

  private String cutDescription() {
    final List<String> links = new ArrayList<>();
    for (final Long l : new TreeSet<>(cut)) {
      links.add((l / 64) + "->" + (l % 64));
    }
    return String.join(" ", links);
  }

  private void clearCut() {
    cut.clear();
    isolated = null;
  }

  private boolean linkUp(final long from, final long to) {
    return !cut.contains(from * 64 + to);
  }

  private long delay() {
    return random.nextLong(0, cfg.maxDelayMillis() * MS + 1);
  }

  private boolean dropped() {
    return faultsOn && random.nextDouble() < cfg.dropRate();
  }

  private boolean duplicated() {
    return faultsOn && random.nextDouble() < cfg.duplicateRate();
  }

  // ---------------------------------------------------------------------------------------------
  // Network.

  private long rpcSeq;

  /** Sends a request; exactly one of the callbacks runs (the failure after the RPC timeout). */
  private void send(final Node from, final long to, final RaftRequest request, final Consumer<RaftResponse> onResponse,
      final Runnable onFailure) {
    final long rpc = ++rpcSeq;
    final int incarnation = from.incarnation;
    final boolean[] settled = {false};
    at(now + cfg.config().rpcTimeout().toNanos(), "rpc-timeout " + from.id + "->" + to, () -> {
      if (!settled[0]) {
        settled[0] = true;
        if (from.up && from.incarnation == incarnation) {
          step(from, e -> onFailure.run());
        }
      }
    });
    final int copies = duplicated() ? 2 : 1;
    for (int i = 0; i < copies; i++) {
      if (!linkUp(from.id, to) || dropped()) {
        continue;
      }
      at(now + delay(), "deliver " + request.kind() + " " + from.id + "->" + to + " t" + request.term(), () -> {
        final Node target = nodes.get(to);
        if (!target.up || !linkUp(from.id, to)) {
          return;
        }
        final Reply reply = new Reply(from, incarnation, to, rpc, settled, onResponse);
        step(target, e -> {
          switch (request.kind()) {
            case VOTE -> e.handleVoteRequest(from.id, (VoteRequest) request, reply);
            case APPEND -> e.handleAppendRequest(from.id, (AppendRequest) request, reply);
            case TIMEOUT_NOW -> e.handleTimeoutNow(from.id, (TimeoutNowRequest) request, reply);
            case READ_INDEX -> e.handleReadIndexRequest(from.id, (ReadIndexRequest) request, reply);
            case INSTALL_SNAPSHOT -> e.handleInstallSnapshotRequest(from.id, (InstallSnapshotRequest) request, reply);
          }
        });
      });
    }
  }

  private record Reply(Node origin, int incarnation, long responder, long rpc, boolean[] settled,
      Consumer<RaftResponse> onResponse) {}

  private void respond(final Reply r, final RaftResponse response) {
    if (!linkUp(r.responder, r.origin.id) || dropped()) {
      return;
    }
    final String what;
    if (response instanceof AppendResponse a) {
      what = a.success() ? " ok@" + a.matchIndex() : " conflict@" + a.conflictIndex();
    } else if (response instanceof VoteResponse v) {
      what = v.granted() ? " granted" : " refused";
    } else if (response instanceof InstallSnapshotResponse i) {
      what = i.done() ? " done" : " next@" + i.nextOffset();
    } else {
      what = "";
    }
    at(now + delay(), "response " + response.kind() + " " + r.responder + "->" + r.origin.id + " t" + response.term()
        + what, () -> {
      if (r.settled[0] || !r.origin.up || r.origin.incarnation != r.incarnation || !linkUp(r.responder, r.origin.id)) {
        return;
      }
      r.settled[0] = true;
      step(r.origin, e -> r.onResponse.accept(response));
    });
  }

  private record InitToken() {}

  /** The reply token of membership changes and transfers, whose outcome the simulation ignores. */
  private static final class ControlToken {}

  // ---------------------------------------------------------------------------------------------
  // Disks: checksummed records.

  /**
   * One record of a simulated disk: an entry and the checksum written with it. A torn write or a
   * flipped bit leaves a record whose checksum does not match its bytes.
   */
  private record Rec(Entry entry, int crc) {
    static Rec of(final Entry e) {
      return new Rec(e, crcOf(e));
    }

    boolean intact() {
      return crc == crcOf(entry);
    }
  }

  private static int crcOf(final Entry e) {
    final CRC32C c = new CRC32C();
    final ByteBuffer header = ByteBuffer.allocate(17);
    header.putLong(e.term()).putLong(e.index()).put((byte) e.kind().ordinal()).flip();
    c.update(header);
    c.update(e.payload());
    return (int) c.getValue();
  }

  /** The record as a torn write leaves it: half the payload, or a torn checksum. */
  private static Rec torn(final Entry e) {
    final Rec whole = Rec.of(e);
    if (e.kind() == EntryKind.BLANK || e.payload().length < 2) {
      return new Rec(e, whole.crc ^ 0x5a5a5a5a);
    }
    return new Rec(new Entry(e.logId(), e.kind(), java.util.Arrays.copyOf(e.payload(), e.payload().length / 2)),
        whole.crc);
  }

  /** The record with one bit flipped, in the payload or in the checksum. */
  private Rec flipped(final Rec r) {
    final Entry e = r.entry;
    if (e.kind() == EntryKind.NORMAL && e.payload().length > 0) {
      final byte[] p = e.payload().clone();
      final int bit = random.nextInt(p.length * 8);
      p[bit / 8] ^= (byte) (1 << (bit % 8));
      return new Rec(new Entry(e.logId(), e.kind(), p), r.crc);
    }
    return new Rec(e, r.crc ^ (1 << random.nextInt(32)));
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots: the state machine's map as bytes, and digests of it.

  /** A snapshot in a node's snapshot store: written atomically, it survives crashes. */
  private record SimSnapshot(SnapshotMeta meta, byte[] bytes) {}

  /** A snapshot being received: lost on a crash (it never became the store's latest). */
  private static final class Receiver {
    final SnapshotMeta meta;
    final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();

    Receiver(final SnapshotMeta meta) {
      this.meta = meta;
    }

    long next() {
      return bytes.size();
    }
  }

  /** The map as snapshot bytes: per key, in key order, its length, its bytes and its value. */
  private static byte[] encodeKv(final Map<String, Long> kv) {
    final TreeMap<String, Long> sorted = new TreeMap<>(kv);
    int size = 0;
    for (final String k : sorted.keySet()) {
      size += 1 + k.getBytes(StandardCharsets.UTF_8).length + 8;
    }
    final ByteBuffer b = ByteBuffer.allocate(size);
    for (final Map.Entry<String, Long> e : sorted.entrySet()) {
      final byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
      b.put((byte) k.length).put(k).putLong(e.getValue());
    }
    return b.array();
  }

  private static Map<String, Long> decodeKv(final byte[] bytes) {
    final Map<String, Long> kv = new HashMap<>();
    final ByteBuffer b = ByteBuffer.wrap(bytes);
    while (b.hasRemaining()) {
      final byte[] k = new byte[b.get()];
      b.get(k);
      kv.put(new String(k, StandardCharsets.UTF_8), b.getLong());
    }
    return kv;
  }

  /**
   * One key's share of a map's digest. A map's digest is the sum of its keys' shares: it does not
   * depend on order, and a write updates it in constant time.
   */
  private static long digestOf(final String key, final long value) {
    long z = key.hashCode() * 0x9E3779B97F4A7C15L + value * 0xC2B2AE3D27D4EB4FL;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static long digestOf(final Map<String, Long> kv) {
    long d = 0;
    for (final Map.Entry<String, Long> e : kv.entrySet()) {
      d += digestOf(e.getKey(), e.getValue());
    }
    return d;
  }

  /**
   * A snapshot must hold what every node held after applying its last index: the same state (a
   * digest of its decoded bytes against the digest recorded when a node applied that index, or
   * got there by another snapshot), the committed entry there, and the last membership entry
   * applied at or below it.
   */
  private void checkSnapshot(final Node n, final SnapshotMeta meta, final byte[] bytes, final String what) {
    final LogId last = meta.lastLogId();
    final long digest;
    try {
      digest = digestOf(decodeKv(bytes));
    } catch (final RuntimeException ex) {
      throw failure("node " + n.id + "'s " + what + " snapshot " + meta.snapshotId() + " at " + last + " holds "
          + bytes.length + " bytes that are not a whole snapshot (" + ex + ")");
    }
    final Long expected = stateDigestAt.putIfAbsent(last.index(), digest);
    if (expected != null && expected != digest) {
      throw failure("node " + n.id + "'s " + what + " snapshot " + meta.snapshotId() + " at " + last
          + " holds another state than the nodes held after applying index " + last.index());
    }
    final LogId committedThere = committedAt.get(last.index());
    if (committedThere != null && !committedThere.equals(last)) {
      throw failure("node " + n.id + "'s " + what + " snapshot " + meta.snapshotId() + " ends at " + last
          + " but " + committedThere + " is committed there");
    }
    final Map.Entry<Long, LogId> m = appliedMemberships.floorEntry(last.index());
    if (m != null && !m.getValue().equals(meta.membership().logId())) {
      throw failure("node " + n.id + "'s " + what + " snapshot " + meta.snapshotId() + " at " + last
          + " holds the membership of " + meta.membership().logId() + " but the last one applied there is "
          + m.getValue());
    }
    stats.snapshotStatesChecked++;
  }

  /**
   * SEND_SNAPSHOT, as the runtime streams it: the store's latest snapshot goes to the target in
   * chunks of at most {@code snapshotMaxChunkSize} bytes, one chunk in flight (the next is sent
   * when the previous one is answered), over the simulated network with its faults. The stream
   * stops as soon as the node is no longer leader of the term; its end goes back to the engine.
   */
  private final class SnapshotStream {
    final Node from;
    final long target;
    final long term;
    final SimSnapshot snapshot;
    final int incarnation;

    SnapshotStream(final Node from, final long target, final long term, final SimSnapshot snapshot) {
      this.from = from;
      this.target = target;
      this.term = term;
      this.snapshot = snapshot;
      this.incarnation = from.incarnation;
    }

    void send(final long offset) {
      if (!from.up || from.incarnation != incarnation) {
        return;
      }
      if (from.engine.state() != ServerState.LEADER || from.engine.vote().term() != term) {
        end(false, 0);
        return;
      }
      final byte[] bytes = snapshot.bytes();
      final int len = (int) Math.min(cfg.config().snapshotMaxChunkSize(), bytes.length - offset);
      final byte[] data = java.util.Arrays.copyOfRange(bytes, (int) offset, (int) offset + len);
      final boolean done = offset + len >= bytes.length;
      Simulation.this.send(from, target, new InstallSnapshotRequest(term, from.id, snapshot.meta(), offset, data, done),
          r -> {
            final InstallSnapshotResponse ir = (InstallSnapshotResponse) r;
            if (ir.term() > term) {
              end(false, ir.term());
            } else if (ir.done()) {
              end(true, 0);
            } else if (done || ir.nextOffset() != offset + len) {
              end(false, 0); // the follower dropped what it had: start again later
            } else {
              send(offset + len);
            }
          },
          () -> end(false, 0));
    }

    void end(final boolean sent, final long higherTerm) {
      if (sent) {
        stats.snapshotsStreamed++;
      }
      at(now, "snapshot-stream " + from.id + "->" + target + (sent ? " done" : " failed"), () -> {
        if (from.up && from.incarnation == incarnation) {
          step(from, e -> {
            if (sent) {
              e.handleSnapshotSent(target, term, snapshot.meta().lastLogId());
            } else {
              e.handleSnapshotSendFailed(target, term, higherTerm);
            }
          });
        }
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Nodes.

  private final class Node {
    final long id;
    boolean up;
    /** A checksum caught damage in synced records: the node never starts again. */
    boolean failed;
    /** Stopped because the committed membership no longer holds it. */
    boolean decommissioned;
    int incarnation;
    Engine engine;
    // The disk: what survives a crash. It holds the records after diskBase (the last purged id);
    // the first syncedRecords of them are known synced (the storage's synced-end marker), the
    // rest were written but not synced.
    final ArrayList<Rec> disk = new ArrayList<>();
    LogId diskBase = LogId.ZERO;
    int syncedRecords;
    Vote durableVote = Vote.NONE;
    LogId durableCommitted = LogId.ZERO;
    /** The snapshot store's latest snapshot (null: empty store). */
    SimSnapshot snap;
    long snapshotSeq;
    /** This node once crashed with a half-received snapshot. */
    boolean lostHalfReceivedSnapshot;
    // The clock: local = localAnchor + (real - realAnchor) * rate; it runs across restarts.
    final double rate;
    long localAnchor;
    long realAnchor;
    long lastVoterJump = Long.MIN_VALUE / 2;
    // Volatile state of the current incarnation.
    /** The log as the engine knows it: the entries after memBase (what the engine purged). */
    final ArrayList<Entry> memLog = new ArrayList<>();
    LogId memBase = LogId.ZERO;
    final ArrayDeque<Command> ioQueue = new ArrayDeque<>();
    boolean ioScheduled;
    long ioDone;
    final ArrayDeque<Command> held = new ArrayDeque<>();
    final Map<String, Long> kv = new HashMap<>();
    long kvDigest;
    LogId applied = LogId.ZERO;
    StoredMembership appliedMembership = StoredMembership.EMPTY;
    /** The snapshot IO thread: its writes run one at a time, in order; it is free from then. */
    long snapshotIoFree;
    Receiver receiver;
    /** The last index of a snapshot install among the commands being executed; 0 if none. */
    long installingUpTo;
    long lastCommitted;
    long ledTerm;
    int countedInTerm;
    final Map<Long, List<ClientCall>> pending = new HashMap<>();
    final List<ReadCall> reads = new ArrayList<>();
    long tickGeneration;
    long pausedUntil;

    Node(final long id) {
      this.id = id;
      this.rate = 1 + (2 * random.nextDouble() - 1) * cfg.maxClockDrift();
      // A clock's origin is arbitrary (System.nanoTime): start each one somewhere else.
      this.localAnchor = random.nextLong(0, 10_000 * MS);
    }

    long clock() {
      return localAnchor + (long) ((now - realAnchor) * rate);
    }

    /** The real time at which this node's clock reads {@code local} (or just after). */
    long realTimeOf(final long local) {
      return realAnchor + (long) Math.ceil((local - localAnchor) / rate) + 1;
    }

    void jumpClock(final long nanos) {
      localAnchor = clock() + nanos;
      realAnchor = now;
      if (up) {
        scheduleTick();
      }
    }

    // The log in memory and on disk, each after its purged prefix. Reading a purged entry is an
    // engine bug: the engine has forgotten it, and a real store may have deleted it.

    long memLast() {
      return memBase.index() + memLog.size();
    }

    Entry memAt(final long index) {
      if (index <= memBase.index() || index > memLast()) {
        throw failure("node " + id + " reads index " + index + " of its log, which holds " + (memBase.index() + 1)
            + ".." + memLast() + (index <= memBase.index() ? " (purged up to " + memBase + ")" : ""));
      }
      return memLog.get((int) (index - memBase.index() - 1));
    }

    /** The engine has forgotten the log up to {@code upTo} (a purge, or an installed snapshot). */
    void purgeMemLog(final LogId upTo) {
      if (upTo.index() <= memBase.index()) {
        return;
      }
      if (upTo.index() <= memLast() && !memAt(upTo.index()).logId().equals(upTo)) {
        throw failure("node " + id + " purges its log up to " + upTo + " but holds " + memAt(upTo.index()).logId()
            + " there");
      }
      memLog.subList(0, (int) Math.min(memLog.size(), upTo.index() - memBase.index())).clear();
      memBase = upTo;
    }

    long diskLast() {
      return diskBase.index() + disk.size();
    }

    long diskSynced() {
      return diskBase.index() + syncedRecords;
    }

    Rec diskAt(final long index) {
      if (index <= diskBase.index() || index > diskLast()) {
        throw failure("node " + id + " reads index " + index + " of its disk, which holds " + (diskBase.index() + 1)
            + ".." + diskLast() + (index <= diskBase.index() ? " (purged up to " + diskBase + ")" : ""));
      }
      return disk.get((int) (index - diskBase.index() - 1));
    }

    void purgeDisk(final LogId upTo) {
      if (upTo.index() <= diskBase.index()) {
        return;
      }
      if (upTo.index() <= diskLast() && !diskAt(upTo.index()).entry.logId().equals(upTo)) {
        throw failure("node " + id + " purges its disk up to " + upTo + " but holds "
            + diskAt(upTo.index()).entry.logId() + " there");
      }
      final int k = (int) Math.min(disk.size(), upTo.index() - diskBase.index());
      disk.subList(0, k).clear();
      syncedRecords = Math.max(0, syncedRecords - k);
      diskBase = upTo;
    }

    void boot() {
      if (failed) {
        return;
      }
      // Recovery reads the log back and checks every record's checksum. Damage past the synced
      // end is a torn write: the log is cut there. Damage in synced records is corruption: the
      // node refuses to start (an operator must rebuild it), so damaged data is never served.
      for (int i = 0; i < disk.size(); i++) {
        if (!disk.get(i).intact()) {
          final long index = diskBase.index() + i + 1;
          if (i >= syncedRecords) {
            note("node " + id + " recovery drops a torn record at index " + index + " and " + (disk.size() - i - 1)
                + " after it");
            while (disk.size() > i) {
              disk.remove(disk.size() - 1);
            }
            stats.tornWrites++;
          } else {
            note("node " + id + " recovery finds a damaged synced record at index " + index + ": node stopped");
            stats.corruptionsDetected++;
            failed = true;
            up = false;
            return;
          }
          break;
        }
      }
      syncedRecords = disk.size();
      up = true;
      incarnation++;
      ioQueue.clear();
      ioScheduled = false;
      ioDone = 0;
      held.clear();
      kv.clear();
      kvDigest = 0;
      applied = LogId.ZERO;
      appliedMembership = StoredMembership.EMPTY;
      snapshotIoFree = 0;
      receiver = null;
      lastCommitted = 0;
      ledTerm = 0;
      pending.clear();
      reads.clear();
      // As the runtime: the state machine (empty here: it is not durable) is restored from the
      // latest snapshot, and the log is cut at the snapshot if it does not go on from it (a crash
      // between a snapshot's install and the purge of the log behind it).
      final SnapshotMeta snapshot = snap == null ? null : snap.meta();
      if (snapshot != null) {
        restore(snap, "restored");
        stats.snapshotsRestored++;
        cutLogAtSnapshot(snapshot.lastLogId());
      }
      if (applied.index() < diskBase.index()) {
        throw failure("node " + id + " restarts with its log purged up to " + diskBase
            + " and no snapshot covering it (latest: " + (snapshot == null ? "none" : snapshot.lastLogId()) + ")");
      }
      memLog.clear();
      for (final Rec r : disk) {
        memLog.add(r.entry);
      }
      memBase = diskBase;
      engine = new Engine(id, cfg.config(), new SplittableRandom(cfg.seed() * 1_000_003L + id * 7919L + incarnation),
          durableVote, diskBase, durableCommitted, applied);
      for (final InjectedBug bug : bugs) {
        engine.injectBug(io.raftkit.engine.core.KnownBug.valueOf(bug.name()));
      }
      for (final Entry e : memLog) {
        engine.recoverEntry(e);
      }
      if (snapshot != null) {
        engine.recoverSnapshot(snapshot);
      }
      appliedMembership = engine.membershipAt(applied.index());
      engine.start(clock());
      checkMembershipRecovered(snapshot);
      dispatch();
      scheduleTick();
    }

    /**
     * A restarted node's configuration is the latest one in its log, committed or not (joint
     * included), else its snapshot's: Raft's rule, which a node that forgot a joint configuration
     * at restart breaks long before it truncates anything.
     */
    void checkMembershipRecovered(final SnapshotMeta snapshot) {
      Membership expected = snapshot == null || snapshot.membership().isEmpty() ? null
          : snapshot.membership().membership();
      for (int i = memLog.size() - 1; i >= 0; i--) {
        if (memLog.get(i).kind() == EntryKind.MEMBERSHIP) {
          expected = memLog.get(i).membership();
          break;
        }
      }
      final Membership actual = engine.effectiveMembership().isEmpty() ? null : engine.effectiveMembership().membership();
      if (expected != null && !expected.equals(actual)) {
        throw failure("node " + id + " restarted with configuration " + actual + " but the latest in its log is "
            + expected);
      }
    }

    /**
     * Makes the disk's log go on from the snapshot ending at {@code s}, as the runtime does at a
     * restart: unchanged if it holds {@code s} itself or is purged beyond it; else it is emptied
     * and starts after {@code s}.
     */
    void cutLogAtSnapshot(final LogId s) {
      if (diskBase.index() >= s.index()) {
        return;
      }
      if (diskLast() >= s.index()) {
        final LogId there = diskAt(s.index()).entry.logId();
        if (there.equals(s)) {
          return;
        }
        note("node " + id + " holds " + there + " where its snapshot ends at " + s + ": the log is dropped");
      } else {
        note("node " + id + "'s log ends at " + diskLast() + " before its snapshot's " + s
            + ": the log starts after the snapshot");
      }
      disk.clear();
      syncedRecords = 0;
      diskBase = s;
    }

    /** Replaces the state machine's state with a snapshot's. */
    void restore(final SimSnapshot s, final String what) {
      checkSnapshot(this, s.meta(), s.bytes(), what);
      kv.clear();
      kv.putAll(decodeKv(s.bytes()));
      kvDigest = digestOf(kv);
      applied = s.meta().lastLogId();
      appliedMembership = s.meta().membership();
    }

    /**
     * The process dies. Without disk faults every unsynced write is lost. With them, a prefix of
     * the unsynced writes may have reached the disk, the next append may be torn, and (on at most
     * a minority of the nodes of a run) a bit of a record may flip. The snapshot store keeps its
     * latest snapshot; a snapshot being built or received is lost.
     */
    void crash(final boolean diskFaults) {
      up = false;
      pausedUntil = 0;
      if (receiver != null) {
        stats.crashesWhileReceivingSnapshot++;
        lostHalfReceivedSnapshot = true;
        note("node " + id + " loses the half-received snapshot " + receiver.meta.snapshotId() + " ("
            + receiver.next() + " bytes)");
        receiver = null;
      }
      if (diskFaults) {
        final int keep = random.nextInt(ioQueue.size() + 1);
        for (int i = 0; i < keep; i++) {
          write(ioQueue.pollFirst());
        }
        if (!ioQueue.isEmpty() && ioQueue.peekFirst() instanceof Command.AppendEntries a && random.nextBoolean()) {
          disk.add(torn(a.entries().get(0)));
        }
        // Flips land in what a quorum holds (the cluster's committed prefix): the node's loss is
        // then the loss of a minority, which Raft survives. (A flip in the only copy of an entry
        // would be data loss no protocol recovers from.)
        final int limit = (int) Math.max(0, Math.min(diskLast(), maxCommittedIndex) - diskBase.index());
        if (limit > 0 && random.nextInt(10) == 0
            && (flippedNodes.contains(id) || flippedNodes.size() < (cfg.nodes() - 1) / 2)) {
          flippedNodes.add(id);
          final int at = random.nextInt(limit);
          note("flip a bit in node " + id + "'s record at index " + (diskBase.index() + at + 1));
          disk.set(at, flipped(disk.get(at)));
        }
      }
      ioQueue.clear();
      for (final List<ClientCall> calls : pending.values()) {
        for (final ClientCall call : calls) {
          call.client.nodeLost(call);
        }
      }
      pending.clear();
      for (final ReadCall r : reads) {
        r.client.readLost(r);
      }
      reads.clear();
    }

    void scheduleTick() {
      final long deadline = engine.nextDeadlineNanos();
      if (deadline == Long.MAX_VALUE) {
        return;
      }
      final long gen = ++tickGeneration;
      final int inc = incarnation;
      at(realTimeOf(deadline), "tick " + id, () -> {
        if (up && incarnation == inc && tickGeneration == gen) {
          step(this, e -> { });
        }
      });
    }

    /**
     * Executes what the engine emitted, until it emits nothing more: applying entries reports
     * back to the engine at once (as the runtime's apply thread enqueues it), which may emit more
     * (reads ready, a snapshot to build).
     */
    void dispatch() {
      final List<Command> out = new ArrayList<>();
      engine.drainCommands(out);
      while (!out.isEmpty()) {
        installingUpTo = 0;
        for (final Command c : out) {
          if (c instanceof Command.InstallSnapshot in) {
            installingUpTo = Math.max(installingUpTo, in.meta().lastLogId().index());
          }
        }
        for (final Command c : out) {
          final long await = c.awaitIo();
          if (await > ioDone || (await > 0 && !held.isEmpty())) {
            held.addLast(c);
          } else {
            execute(c);
          }
        }
        out.clear();
        engine.endBatch();
        engine.drainCommands(out);
      }
    }

    void execute(final Command c) {
      switch (c.kind()) {
        case APPEND_ENTRIES -> {
          final List<Entry> entries = ((Command.AppendEntries) c).entries();
          if (!entries.isEmpty() && entries.get(0).index() != memLast() + 1) {
            throw failure("node " + id + " appends " + entries.get(0).logId() + " after last index " + memLast());
          }
          memLog.addAll(entries);
          queueIo(c);
        }
        case TRUNCATE_LOG -> {
          final long from = ((Command.TruncateLog) c).fromIndex();
          if (from <= memBase.index()) {
            throw failure("node " + id + " truncates its log from index " + from + " but has purged it up to " + memBase);
          }
          // An install of a snapshot emitted with the truncation replaces the entries it covers:
          // dropping them first is no loss, even where they are committed.
          for (long i = Math.max(from, installingUpTo + 1); i <= memLast(); i++) {
            final LogId mine = memAt(i).logId();
            if (mine.equals(committedAt.get(i))) {
              throw failure("node " + id + " truncates committed entry " + mine);
            }
          }
          while (memLast() >= from) {
            memLog.remove(memLog.size() - 1);
          }
          queueIo(c);
        }
        case SAVE_VOTE, SAVE_COMMITTED -> queueIo(c);
        case SEND_VOTE -> {
          final Command.SendVote v = (Command.SendVote) c;
          send(this, v.target(), v.request(), r -> engine.handleVoteResponse(v.target(), (VoteResponse) r), () -> { });
        }
        case SEND_APPEND -> {
          final Command.SendAppend a = (Command.SendAppend) c;
          final List<Entry> entries = new ArrayList<>((int) (a.toIndex() - a.fromIndex()));
          for (long i = a.fromIndex(); i < a.toIndex(); i++) {
            entries.add(memAt(i));
          }
          send(this, a.target(), a.toRequest(id, entries),
              r -> engine.handleAppendResponse(a.target(), (AppendResponse) r, a.epoch()),
              () -> engine.handleAppendFailure(a.target(), a.epoch()));
        }
        case REPLY -> {
          final Command.Reply r = (Command.Reply) c;
          if (r.replyTo() instanceof Reply reply) {
            respond(reply, r.response());
            final boolean voteGranted = r.response() instanceof VoteResponse v && v.granted();
            maybeCrashAt(this, voteGranted ? 0.3 : 0.05, "after a reply", voteGranted);
          }
        }
        case APPLY -> apply(((Command.Apply) c).upTo());
        case SEND_TIMEOUT_NOW -> {
          final Command.SendTimeoutNow t = (Command.SendTimeoutNow) c;
          send(this, t.target(), t.request(), r -> { }, () -> { });
        }
        case READ_READY -> {
          if (((Command.ReadReady) c).replyTo() instanceof ReadCall call && reads.remove(call)) {
            if (call.policy == ReadPolicy.LEASE && call.leaseTerm > 0) {
              checkLeaseHeld(this, call);
            }
            call.client.readDone(call, kv.get(call.key));
            if (call.policy == ReadPolicy.LEASE && faultsOn && cfg.partitions() && random.nextInt(20) == 0) {
              // Cut a leader off right after it serves a lease read: it must stop before another
              // leader can be elected and write.
              isolateInTurn(this, 0, random.nextLong(300, 1_500) * MS, "right after it served a lease read");
            }
          }
        }
        case READ_FAILED -> {
          final Command.ReadFailed f = (Command.ReadFailed) c;
          if (f.replyTo() instanceof ReadCall call && reads.remove(call)) {
            call.client.readFailed(call, f.error());
          }
        }
        case COMPLETE, FAIL -> {
          // membership changes, transfers and snapshot triggers: their effect shows in the log,
          // the roles and the snapshot stores
        }
        case SEND_READ_INDEX -> {
          // A follower or learner asks the leader for a read index (follower reads).
          final Command.SendReadIndex r = (Command.SendReadIndex) c;
          send(this, r.target(), r.request(), x -> engine.handleReadIndexResponse(r.batch(), (ReadIndexResponse) x),
              () -> engine.handleReadIndexFailure(r.batch(), "no answer within the RPC timeout"));
        }
        case BUILD_SNAPSHOT -> buildSnapshot();
        case PURGE_LOG -> {
          final LogId upTo = ((Command.PurgeLog) c).upTo();
          if (snap == null || upTo.index() > snap.meta().lastLogId().index() || upTo.index() > applied.index()) {
            throw failure("node " + id + " purges its log up to " + upTo + " beyond its latest durable snapshot ("
                + (snap == null ? "none" : snap.meta().lastLogId()) + ") or what it applied (" + applied + ")");
          }
          purgeMemLog(upTo);
          stats.logPurges++;
          queueIo(c); // the log writer purges the disk, in order with the other IO
        }
        case SEND_SNAPSHOT -> {
          final Command.SendSnapshot s = (Command.SendSnapshot) c;
          if (snap == null) {
            throw failure("node " + id + " must stream a snapshot to node " + s.target() + " (its log is purged up to "
                + memBase + ") but its snapshot store is empty");
          }
          new SnapshotStream(this, s.target(), s.term(), snap).send(0);
        }
        case RECEIVE_SNAPSHOT_CHUNK -> receiveChunk((Command.ReceiveSnapshotChunk) c);
        case INSTALL_SNAPSHOT -> installSnapshot((Command.InstallSnapshot) c);
      }
    }

    /** A disk write and sync takes this long. */
    long ioNanos() {
      return random.nextLong(50_000, cfg.maxIoMillis() * MS + 50_001);
    }

    /** Runs {@code op} on the snapshot IO thread after {@code nanos}, after the ops before it. */
    void snapshotIo(final String what, final long nanos, final Runnable op) {
      snapshotIoFree = Math.max(now, snapshotIoFree) + nanos;
      final int inc = incarnation;
      at(snapshotIoFree, what, () -> {
        if (up && incarnation == inc) {
          op.run();
        }
      });
    }

    /**
     * BUILD_SNAPSHOT, as the runtime: the apply thread captures the state at what it has applied
     * (here at once, since applying is synchronous); the snapshot IO thread writes it and makes it
     * the store's latest, unless a snapshot at least as new arrived from the leader meanwhile, and
     * reports. A crash before the write is durable loses it, and nothing is reported.
     */
    void buildSnapshot() {
      final int inc = incarnation;
      if (applied.index() == 0) {
        at(now, "snapshot-failed " + id, () -> {
          if (up && incarnation == inc) {
            step(this, e -> e.handleSnapshotFailed(new InvalidRequestException(
                "node " + id + " has applied nothing yet: there is nothing to snapshot"), false));
          }
        });
        return;
      }
      final SnapshotMeta meta = new SnapshotMeta(applied, appliedMembership,
          "n" + id + "-t" + applied.term() + "-i" + applied.index() + "-" + (++snapshotSeq));
      final byte[] bytes = encodeKv(kv);
      checkSnapshot(this, meta, bytes, "built");
      snapshotIo("snapshot-write " + id + " " + meta.lastLogId(), ioNanos(), () -> {
        if (snap != null && meta.lastLogId().index() <= snap.meta().lastLogId().index()) {
          step(this, e -> e.handleSnapshotBuilt(null));
          return;
        }
        snap = new SimSnapshot(meta, bytes);
        stats.snapshotsBuilt++;
        step(this, e -> e.handleSnapshotBuilt(meta));
      });
    }

    /**
     * RECEIVE_SNAPSHOT_CHUNK, as the runtime's snapshot IO thread: a chunk at offset 0 abandons a
     * half-received snapshot and starts this one (or answers done if the store holds one at least
     * as new); a chunk that does not continue the current snapshot abandons it and asks for
     * offset 0. The last chunk makes the snapshot durable and the store's latest atomically, then
     * the engine hears of it (and answers). A crash before that loses the half-received snapshot.
     */
    void receiveChunk(final Command.ReceiveSnapshotChunk c) {
      final InstallSnapshotRequest req = c.request();
      final Reply reply = (Reply) c.replyTo();
      final SnapshotMeta meta = req.meta();
      final long nanos = req.done() ? ioNanos() : random.nextLong(10_000, cfg.maxIoMillis() * MS / 4 + 10_001);
      snapshotIo("snapshot-chunk " + id + " " + meta.lastLogId() + "@" + req.offset() + (req.done() ? " last" : ""),
          nanos, () -> {
            if (req.offset() == 0) {
              receiver = null;
              if (snap != null && meta.lastLogId().index() <= snap.meta().lastLogId().index()) {
                respond(reply, new InstallSnapshotResponse(req.term(), 0, true));
                return;
              }
              receiver = new Receiver(meta);
            } else if (receiver == null || !receiver.meta.equals(meta) || receiver.next() != req.offset()) {
              receiver = null;
              respond(reply, new InstallSnapshotResponse(req.term(), 0, false));
              return;
            }
            receiver.bytes.writeBytes(req.data());
            if (!req.done()) {
              respond(reply, new InstallSnapshotResponse(req.term(), receiver.next(), false));
              if (faultsOn && cfg.crashes() && random.nextInt(10) == 0) {
                crashSoon(this, "while receiving snapshot " + meta.snapshotId(), random.nextBoolean());
              }
              return;
            }
            final byte[] bytes = receiver.bytes.toByteArray();
            receiver = null;
            checkSnapshot(this, meta, bytes, "received");
            snap = new SimSnapshot(meta, bytes);
            step(this, e -> e.handleSnapshotReceived(meta, reply));
            if (faultsOn && cfg.crashes() && random.nextInt(8) == 0) {
              // Before the install's log purge is durable: the restart must cut the log itself.
              crashSoon(this, "right after a received snapshot became durable", true);
            }
          });
    }

    /**
     * INSTALL_SNAPSHOT, as the runtime: client writes the snapshot covers can no longer be settled
     * here (their outcome is unknown); the state machine is restored from the store's latest,
     * which must be this snapshot; the log writer purges the log behind it, in order with the
     * other IO, and reports the IO done.
     */
    void installSnapshot(final Command.InstallSnapshot c) {
      final SnapshotMeta meta = c.meta();
      final LogId last = meta.lastLogId();
      if (snap == null || !snap.meta().snapshotId().equals(meta.snapshotId())) {
        throw failure("node " + id + " installs snapshot " + meta.snapshotId() + " but the store's latest is "
            + (snap == null ? "none" : snap.meta().snapshotId()));
      }
      for (final Long index : new TreeSet<>(pending.keySet())) {
        if (index <= last.index()) {
          for (final ClientCall call : pending.remove(index)) {
            call.client.nodeLost(call);
          }
        }
      }
      note("node " + id + " installs snapshot " + meta.snapshotId() + " at " + last + " (log " + memBase + ".."
          + memLast() + ", applied " + applied + ")");
      restore(snap, "installed");
      purgeMemLog(last);
      stats.snapshotsInstalled++;
      queueIo(c);
      engine.handleApplied(applied);
    }

    void queueIo(final Command c) {
      ioQueue.addLast(c);
      if (!ioScheduled) {
        ioScheduled = true;
        final int inc = incarnation;
        at(now + random.nextLong(50_000, cfg.maxIoMillis() * MS + 50_001), "io-done " + id, () -> {
          if (up && incarnation == inc) {
            completeIo();
          }
        });
      }
    }

    /** Writes one log-writer command to the disk (not yet synced); returns its IO sequence. */
    long write(final Command c) {
      switch (c.kind()) {
        case APPEND_ENTRIES -> {
          final Command.AppendEntries a = (Command.AppendEntries) c;
          for (final Entry e : a.entries()) {
            if (e.index() != diskLast() + 1) {
              throw failure("node " + id + " writes " + e.logId() + " after its disk's last index " + diskLast());
            }
            disk.add(Rec.of(e));
          }
          return a.ioSeq();
        }
        case TRUNCATE_LOG -> {
          final Command.TruncateLog t = (Command.TruncateLog) c;
          if (t.fromIndex() <= diskBase.index()) {
            throw failure("node " + id + " truncates its disk from index " + t.fromIndex() + " but purged it up to "
                + diskBase);
          }
          while (diskLast() >= t.fromIndex()) {
            disk.remove(disk.size() - 1);
          }
          syncedRecords = Math.min(syncedRecords, disk.size());
          return t.ioSeq();
        }
        case SAVE_VOTE -> {
          final Command.SaveVote v = (Command.SaveVote) c;
          durableVote = v.vote();
          return v.ioSeq();
        }
        case SAVE_COMMITTED -> {
          durableCommitted = ((Command.SaveCommitted) c).committed();
          return 0;
        }
        case PURGE_LOG -> {
          purgeDisk(((Command.PurgeLog) c).upTo());
          return 0;
        }
        case INSTALL_SNAPSHOT -> {
          final Command.InstallSnapshot in = (Command.InstallSnapshot) c;
          purgeDisk(in.meta().lastLogId());
          return in.ioSeq();
        }
        default -> throw new IllegalStateException("not IO: " + c);
      }
    }

    /** Group commit: writes and syncs everything queued, then reports the last sequence done. */
    void completeIo() {
      ioScheduled = false;
      long maxSeq = 0;
      boolean config = false;
      boolean joint = false;
      while (!ioQueue.isEmpty()) {
        final Command c = ioQueue.pollFirst();
        maxSeq = Math.max(maxSeq, write(c));
        if (c instanceof Command.AppendEntries a) {
          for (final Entry e : a.entries()) {
            config |= e.kind() == EntryKind.MEMBERSHIP;
            joint |= e.kind() == EntryKind.MEMBERSHIP && e.membership().isJoint();
          }
        }
      }
      syncedRecords = disk.size();
      if (maxSeq > 0) {
        final long done = maxSeq;
        step(this, e -> {
          ioDone = done;
          e.handleIoDone(done);
          while (!held.isEmpty() && held.peekFirst().awaitIo() <= ioDone) {
            execute(held.pollFirst());
          }
        });
      }
      if (config && faultsOn && cfg.crashes() && random.nextInt(joint ? 2 : 4) == 0) {
        // A configuration entry just became durable: restarts right now test its recovery.
        crashSoon(this, "right after a configuration entry became durable", true);
      }
    }

    void apply(final LogId upTo) {
      for (long i = applied.index() + 1; i <= upTo.index(); i++) {
        if (i <= diskBase.index()) {
          throw failure("node " + id + " applies index " + i + ", which its disk has purged (up to " + diskBase + ")");
        }
        if (i > diskSynced()) {
          throw failure("node " + id + " applies index " + i + " which is not durable (durable last=" + diskSynced()
              + ")");
        }
        final Rec rec = diskAt(i);
        if (!rec.intact()) {
          throw failure("node " + id + " applies a damaged record at index " + i + ": " + rec.entry);
        }
        final Entry entry = rec.entry;
        final Rec first = appliedAt.putIfAbsent(i, rec);
        if (first != null && (!first.entry.logId().equals(entry.logId()) || first.crc != rec.crc)) {
          throw failure("node " + id + " applies " + entry.logId() + " at index " + i + " where another applied "
              + first.entry.logId() + (first.crc != rec.crc ? " (other bytes)" : ""));
        }
        final KvModel.Output output = entry.kind() == EntryKind.NORMAL ? applyKv(entry.payload()) : null;
        if (entry.kind() == EntryKind.MEMBERSHIP) {
          appliedMembership = new StoredMembership(entry.logId(), entry.membership());
          appliedMemberships.putIfAbsent(i, entry.logId());
        }
        applied = entry.logId();
        final Long state = stateDigestAt.putIfAbsent(i, kvDigest);
        if (state != null && state != kvDigest) {
          throw failure("node " + id + "'s state after applying index " + i + " differs from another node's there");
        }
        final List<ClientCall> calls = pending.remove(i);
        if (calls != null) {
          for (final ClientCall call : calls) {
            if (call.logId.equals(entry.logId())) {
              call.client.completed(call, output);
            } else {
              call.client.rejected(call); // another entry is committed here: this one never will be
            }
          }
        }
      }
      final LogId done = applied;
      engine.handleApplied(done);
    }

    KvModel.Output applyKv(final byte[] payload) {
      final KvModel.Input in = decode(payload);
      final Long before = kv.get(in.key());
      final KvModel.Step<Long, KvModel.Output> s = KvModel.INSTANCE.apply(before, in);
      if (before != null) {
        kvDigest -= digestOf(in.key(), before);
      }
      if (s.state() == null) {
        kv.remove(in.key());
      } else {
        kv.put(in.key(), s.state());
        kvDigest += digestOf(in.key(), s.state());
      }
      return s.output();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Invariants.

  /**
   * A leader takes a lease read (judges its lease valid) only while no other node can have been
   * elected: no leader of a later term may exist at that moment. Checked when the read is served,
   * against the moment the leader took it, so a stale lease is caught whether or not a later
   * write makes the value it returns differ (the linearizability check needs both). Followers
   * serve "lease" reads through the leader's read index; those are not checked here.
   */
  private void checkLeaseHeld(final Node n, final ReadCall call) {
    for (final Map.Entry<Long, Long> e : leaderElectedAt.entrySet()) {
      if (e.getKey() > call.leaseTerm && e.getValue() <= call.takenNanos) {
        throw failure("node " + n.id + " took a lease read at t=" + call.takenNanos / MS + "ms as leader of term "
            + call.leaseTerm + ", but node " + leaderOfTerm.get(e.getKey()) + " was elected leader of term "
            + e.getKey() + " at t=" + e.getValue() / MS + "ms");
      }
    }
  }

  /**
   * Checks the invariants after a step of {@code n}.
   *
   * @param before the effective membership of {@code n} before the step if it was leader, else
   *     null
   */
  private void check(final Node n, final Membership before) {
    final Engine e = n.engine;
    final long term = e.vote().term();
    maxTerm = Math.max(maxTerm, term);
    final boolean leader = e.state() == ServerState.LEADER;
    if (leader) {
      final Long other = leaderOfTerm.putIfAbsent(term, n.id);
      leaderElectedAt.putIfAbsent(term, now);
      if (other != null && other != n.id) {
        throw failure("two leaders in term " + term + ": nodes " + other + " and " + n.id);
      }
    }
    final long committed = e.committed().index();
    if (committed < n.lastCommitted) {
      throw failure("node " + n.id + " commit index went back from " + n.lastCommitted + " to " + committed);
    }
    if (committed > n.lastCommitted && leader) {
      checkDurableOnQuorum(n, e.committed(), before);
      maybeCrashAt(n, 0.25, "after counting a commit", false);
    }
    if (cfg.figure8() && faultsOn && leader) {
      // The Figure 8 schedule: cut off a leader right after its election (its new entries stay on
      // its own disk) or right after it counts a commit (before the followers learn of it).
      if (n.ledTerm != term) {
        n.ledTerm = term;
        n.countedInTerm = 0;
        if (random.nextBoolean()) {
          isolateInTurn(n, random.nextLong(0, 2 * MS), random.nextLong(200, 1_000) * MS, "right after its election");
        }
      } else if (committed > n.lastCommitted && random.nextInt(n.countedInTerm++ == 0 ? 2 : 8) == 0) {
        // Most of all right after its first commit, which may cover entries of earlier terms.
        isolateInTurn(n, 0, random.nextLong(200, 1_000) * MS, "right after counting a commit");
      }
    }
    // Indexes below the node's purged id it no longer holds (purged, or only ever received
    // through a snapshot): the snapshot checks cover them.
    for (long i = Math.max(n.lastCommitted + 1, n.memBase.index()); i <= committed; i++) {
      if (i > n.memLast()) {
        throw failure("node " + n.id + " committed index " + i + " beyond its log of " + n.memLast());
      }
      final LogId mine = i == n.memBase.index() ? n.memBase : n.memAt(i).logId();
      final LogId first = committedAt.putIfAbsent(i, mine);
      if (first != null && !first.equals(mine)) {
        throw failure("index " + i + " committed as " + first + " elsewhere but as " + mine + " on node " + n.id);
      }
    }
    n.lastCommitted = committed;
    maxCommittedIndex = Math.max(maxCommittedIndex, committed);
    if (n.applied.index() > committed) {
      throw failure("node " + n.id + " applied " + n.applied + " beyond its commit index " + committed);
    }
  }

  /**
   * A leader commits only what a quorum of every voter set holds durably (§5.3, with the
   * durability the thesis §3.8 asks of votes and appends): synced on its disk, or covered by its
   * durable snapshot. The voter sets are the leader's before or after the step that counted the
   * commit (the step may have changed them); the check fails only if neither has such a quorum.
   */
  private void checkDurableOnQuorum(final Node l, final LogId c, final Membership before) {
    final Membership after = l.engine.effectiveMembership().membership();
    if (hasDurableQuorum(after, c) || before != null && hasDurableQuorum(before, c)) {
      return;
    }
    final List<Long> holders = new ArrayList<>();
    for (final Node x : nodes.values()) {
      if (holdsDurably(x, c)) {
        holders.add(x.id);
      }
    }
    throw failure("leader " + l.id + " committed " + c + " but only nodes " + holders + " hold it durably; voters "
        + after.configs());
  }

  private boolean hasDurableQuorum(final Membership m, final LogId c) {
    for (final Set<Long> voters : m.configs()) {
      int durable = 0;
      for (final Long id : voters) {
        if (holdsDurably(nodes.get(id), c)) {
          durable++;
        }
      }
      if (durable <= voters.size() / 2) {
        return false;
      }
    }
    return true;
  }

  private static boolean holdsDurably(final Node x, final LogId c) {
    if (x.snap != null && x.snap.meta().lastLogId().index() >= c.index() || x.diskBase.index() >= c.index()) {
      return true;
    }
    return x.diskSynced() >= c.index() && x.diskAt(c.index()).entry.logId().equals(c);
  }

  private Node leader() {
    Node best = null;
    for (final Node n : nodes.values()) {
      if (n.up && n.engine.state() == ServerState.LEADER
          && (best == null || n.engine.vote().term() > best.engine.vote().term())) {
        best = n;
      }
    }
    return best;
  }

  private long maxCommitted() {
    long max = 0;
    for (final Node n : nodes.values()) {
      if (n.up) {
        max = Math.max(max, n.engine.committed().index());
      }
    }
    return max;
  }

  private String describe() {
    final StringBuilder b = new StringBuilder();
    for (final Node n : nodes.values()) {
      b.append("\n  node ").append(n.id)
          .append(n.up ? " " + n.engine.state() : n.failed ? " FAILED" : n.decommissioned ? " DECOMMISSIONED" : " DOWN")
          .append(" vote=").append(n.up ? n.engine.vote() : n.durableVote)
          .append(" last=").append(n.up ? n.engine.lastLogId() : "-")
          .append(" committed=").append(n.up ? n.engine.committed() : "-")
          .append(" applied=").append(n.up ? n.applied : "-")
          .append(" purged=").append(n.up ? n.engine.purgedLogId() : n.diskBase)
          .append(" snapshot=").append(n.snap == null ? "-" : n.snap.meta().lastLogId())
          .append(n.up && !n.engine.effectiveMembership().isEmpty()
              ? " membership=" + n.engine.effectiveMembership().membership().configs() : "")
          .append(String.format(" clock=%+.4f", n.rate - 1));
    }
    b.append("\n  cut=").append(cut.size()).append(" links");
    return b.toString();
  }

  private SimulationFailure failure(final String message) {
    return new SimulationFailure(cfg.seed(), now / MS, message + (bugs.isEmpty() ? "" : " [bugs on: " + bugs + "]")
        + "\nlast events:\n  " + String.join("\n  ", trace) + describe());
  }

  // ---------------------------------------------------------------------------------------------
  // Clients.

  private static String key(final int k) {
    return "k" + k;
  }

  private static byte[] encode(final KvModel.Input in) {
    final byte[] key = in.key().getBytes(StandardCharsets.UTF_8);
    final ByteBuffer b = ByteBuffer.allocate(1 + 1 + key.length + 8 + 1 + 8);
    b.put((byte) in.kind().ordinal()).put((byte) key.length).put(key);
    b.putLong(in.value() == null ? 0 : in.value());
    b.put((byte) (in.expected() == null ? 0 : 1)).putLong(in.expected() == null ? 0 : in.expected());
    return b.array();
  }

  private static KvModel.Input decode(final byte[] payload) {
    final ByteBuffer b = ByteBuffer.wrap(payload);
    final KvModel.Kind kind = KvModel.Kind.values()[b.get()];
    final byte[] key = new byte[b.get()];
    b.get(key);
    final long value = b.getLong();
    final boolean hasExpected = b.get() == 1;
    final long expected = b.getLong();
    final String k = new String(key, StandardCharsets.UTF_8);
    return switch (kind) {
      case PUT -> KvModel.Input.put(k, value);
      case GET -> KvModel.Input.get(k);
      case CAS -> KvModel.Input.cas(k, hasExpected ? expected : null, value);
    };
  }

  private record ClientCall(Client client, long opId, LogId logId) {}

  /** A read registered with an engine (identity matters: a retried read is another call). */
  private static final class ReadCall {
    final Client client;
    final long opId;
    final String key;
    final ReadPolicy policy;
    /** The term of the node it was sent to if that node was leader then, else 0. */
    long leaseTerm;
    /** When that node took it (simulated nanos). */
    long takenNanos;

    ReadCall(final Client client, final long opId, final String key, final ReadPolicy policy) {
      this.client = client;
      this.opId = opId;
      this.key = key;
      this.policy = policy;
    }
  }

  private final class Client {
    final int id;
    long leaderHint;
    KvModel.Input op;
    /** A reader of read-heavy runs: lease and ReadIndex reads only, from whichever node it asks. */
    boolean readOnly;
    /** How a GET is served: {@code null} through the log, else by ReadIndex or lease. */
    ReadPolicy readPolicy;
    long opId;
    long callNanos;
    boolean stopped;

    Client(final int id) {
      this.id = id;
      this.leaderHint = 1;
    }

    void next() {
      if (stopped || op != null) {
        return;
      }
      // In read-heavy runs half of the operations go to three hot keys, and most are lease reads:
      // a stale leader serves them at once, and what it serves soon differs from the new leader's.
      final String k = key(readHeavy && random.nextBoolean() ? random.nextInt(Math.min(3, cfg.keys()))
          : random.nextInt(cfg.keys()));
      final int kind = readOnly ? 1 : readHeavy ? (random.nextInt(5) < 3 ? 1 : 2 * random.nextInt(2)) : random.nextInt(3);
      final KvModel.Input in = switch (kind) {
        case 0 -> KvModel.Input.put(k, nextValue++);
        case 1 -> KvModel.Input.get(k);
        default -> KvModel.Input.cas(k, random.nextBoolean() ? null : random.nextLong(1, Math.max(2, nextValue)),
            nextValue++);
      };
      final int how = readOnly ? 2 : readHeavy ? 1 + random.nextInt(5) : random.nextInt(3);
      if (readHeavy && kind == 1 && (readOnly || random.nextBoolean())) {
        // A client whose view of the leader is stale: it asks some node, maybe a deposed leader.
        leaderHint = 1 + random.nextInt(nodes.size());
      }
      start(in, kind != 1 || how == 0 ? null : how == 1 ? ReadPolicy.READ_INDEX : ReadPolicy.LEASE);
    }

    void start(final KvModel.Input in, final ReadPolicy policy) {
      op = in;
      readPolicy = policy;
      opId++;
      callNanos = now;
      final long mine = opId;
      at(now + clientTimeoutNanos, "client-timeout", () -> {
        if (op != null && opId == mine) {
          giveUp();
          leaderHint = 1 + random.nextInt(nodes.size()); // as a client would: try another node
        }
      });
      submit();
    }

    void submit() {
      final long mine = opId;
      final Node target = nodes.get(leaderHint);
      at(now + random.nextLong(0, MS), "submit", () -> {
        if (op == null || opId != mine) {
          return;
        }
        if (!target.up) {
          retryElsewhere();
          return;
        }
        step(target, e -> {
          if (op == null || opId != mine) {
            return; // settled while the node was paused
          }
          if (op.kind() == KvModel.Kind.GET && readPolicy != null) {
            final ReadCall call = new ReadCall(this, mine, op.key(), readPolicy);
            if (e.state() == ServerState.LEADER) {
              call.leaseTerm = e.vote().term();
              call.takenNanos = now;
            }
            target.reads.add(call);
            e.handleRead(readPolicy, call);
            return;
          }
          try {
            final LogId id = e.handleClientWrite(encode(op));
            target.pending.computeIfAbsent(id.index(), x -> new ArrayList<>()).add(new ClientCall(this, mine, id));
          } catch (final NotLeaderException ex) {
            leaderHint = ex.leaderId() != 0 ? ex.leaderId() : 1 + random.nextInt(nodes.size());
            retryLater(10 * MS);
          }
        });
      });
    }

    void retryLater(final long afterNanos) {
      final long mine = opId;
      at(now + afterNanos, "retry", () -> {
        if (op != null && opId == mine) {
          submit();
        }
      });
    }

    void retryElsewhere() {
      leaderHint = 1 + random.nextInt(nodes.size());
      retryLater(20 * MS);
    }

    void completed(final ClientCall call, final KvModel.Output output) {
      if (op == null || call.opId != opId) {
        return; // settled already (given up): stays unknown
      }
      finish(output);
    }

    void readDone(final ReadCall call, final Long value) {
      if (op == null || call.opId != opId) {
        return;
      }
      if (call.policy == ReadPolicy.LEASE) {
        stats.leaseReads++;
      } else {
        stats.readIndexReads++;
      }
      finish(KvModel.Output.read(value));
    }

    private void finish(final KvModel.Output output) {
      history.add(Operation.completed(id, callNanos, now, op, output));
      stats.acknowledged++;
      op = null;
      at(now + random.nextLong(0, 20 * MS), "client", this::next);
    }

    void readFailed(final ReadCall call, final RaftException error) {
      if (op == null || call.opId != opId) {
        return;
      }
      if (error instanceof NotLeaderException nl) {
        leaderHint = nl.leaderId() != 0 ? nl.leaderId() : 1 + random.nextInt(nodes.size());
      } else if (error instanceof LeaseExpiredException) {
        readPolicy = ReadPolicy.READ_INDEX; // as a client would: fall back to a ReadIndex read
      }
      retryLater(10 * MS);
    }

    /** The node serving the read stopped: a read has no effect, so ask another. */
    void readLost(final ReadCall call) {
      if (op != null && call.opId == opId) {
        retryElsewhere();
      }
    }

    /** The entry was certainly not committed: the operation never happened, so retry it. */
    void rejected(final ClientCall call) {
      if (op != null && call.opId == opId) {
        retryElsewhere();
      }
    }

    /** The node holding the entry crashed: the outcome is unknown; move on. */
    void nodeLost(final ClientCall call) {
      if (op != null && call.opId == opId) {
        giveUp();
      }
    }

    void giveUp() {
      history.add(Operation.unknown(id, callNanos, op));
      stats.unknown++;
      op = null;
      at(now + random.nextLong(0, 20 * MS), "client", this::next);
    }
  }
}
