package io.raftkit.testkit.sim;

import io.raftkit.api.Entry;
import io.raftkit.api.EntryKind;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.RaftRequest;
import io.raftkit.api.message.RaftResponse;
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
import java.util.function.Consumer;

/**
 * One deterministic simulated run: {@link SimConfig#nodes()} real engines, a simulated network
 * (loss, duplication, delay and reordering, partitions), simulated disks (a crash loses every
 * write not yet synced) and a simulated clock, all driven from one seed in one thread.
 *
 * <p>After every step it checks: at most one leader per term; an index committed anywhere holds
 * the same entry everywhere (and no node truncates a committed entry); every node applies the
 * same entry at the same index; commit and applied indexes of a running node never go back. At
 * the end it heals every fault, checks that a leader is elected and commits within 20 election
 * timeouts, reads every key, and checks the whole client history for linearizability.
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
  private final ArrayDeque<String> trace = new ArrayDeque<>();
  private static final int TRACE_LINES = 60;
  private final java.util.EnumSet<InjectedBug> bugs = java.util.EnumSet.noneOf(InjectedBug.class);

  private final Map<Long, Node> nodes = new TreeMap<>();
  private final Membership membership;
  private final Set<Long> cut = new HashSet<>(); // from * 64 + to
  private boolean faultsOn = true;
  private long crashCount;
  private long partitionCount;
  private long pauseCount;

  // Invariant state.
  private final Map<Long, Long> leaderOfTerm = new HashMap<>();
  private final Map<Long, LogId> committedAt = new HashMap<>();
  private final Map<Long, LogId> appliedAt = new HashMap<>();
  private long maxTerm;

  // Clients.
  private final List<Client> clients = new ArrayList<>();
  private final List<Operation<KvModel.Input, KvModel.Output>> history = new ArrayList<>();
  private long nextValue = 1;
  private long acknowledged;
  private long unknown;

  /** Prepares a run. */
  public Simulation(final SimConfig cfg) {
    this.cfg = cfg;
    this.random = new SplittableRandom(cfg.seed());
    final Map<Long, String> addresses = new TreeMap<>();
    for (long id = 1; id <= cfg.nodes(); id++) {
      addresses.put(id, "sim" + id);
    }
    this.membership = Membership.ofVoters(addresses);
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
    for (long id = 1; id <= cfg.nodes(); id++) {
      final Node n = new Node(id);
      nodes.put(id, n);
      n.boot();
    }
    step(nodes.get(1L), e -> e.handleInitialize(membership, new InitToken()));
    for (int c = 0; c < cfg.clients(); c++) {
      final Client client = new Client(c);
      clients.add(client);
      at(now + random.nextLong(1, 50) * MS, "client", client::next);
    }
    if (cfg.crashes() || cfg.partitions()) {
      at(now + cfg.faultEveryMillis() * MS, "fault", this::fault);
    }
    final long faultEnd = cfg.durationMillis() * MS;
    runUntil(faultEnd);

    // Heal everything; the cluster must elect a leader and commit within 20 election timeouts.
    faultsOn = false;
    cut.clear();
    for (final Node n : nodes.values()) {
      n.pausedUntil = Math.min(n.pausedUntil, now);
    }
    for (final Node n : nodes.values()) {
      if (!n.up) {
        n.boot();
      }
    }
    final long healedAt = now;
    final long liveness = 20 * cfg.config().electionTimeoutMax().toNanos();
    final long[] committedBefore = {maxCommitted()};
    runUntilCondition(healedAt + liveness,
        () -> leader() != null && maxCommitted() > committedBefore[0] && leader().engine.committed().term()
            == leader().engine.vote().term());
    if (leader() == null) {
      throw failure("no leader within 20 election timeouts after healing; " + describe());
    }
    // Stop the clients, settle, then read every key.
    for (final Client c : clients) {
      c.stopped = true;
    }
    runUntilCondition(now + liveness, () -> clients.stream().allMatch(c -> c.op == null));
    for (final Client c : clients) {
      if (c.op != null) {
        c.giveUp();
      }
    }
    final Client reader = new Client(clients.size());
    clients.add(reader);
    for (int k = 0; k < cfg.keys(); k++) {
      reader.start(KvModel.Input.get(key(k)));
      runUntilCondition(now + liveness, () -> reader.op == null);
      if (reader.op != null) {
        throw failure("the final read of " + key(k) + " did not complete after healing; " + describe());
      }
    }
    final CheckResult lin = LinearizabilityChecker.check(KvModel.INSTANCE, history, Duration.ofSeconds(60));
    if (!lin.ok()) {
      throw failure("history is not linearizable: " + lin.detail());
    }
    return new SimResult(cfg.seed(), traceHash, events, acknowledged, unknown, maxTerm, crashCount,
        partitionCount, lin);
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
    try {
      e.tick(now);
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
    check(n);
    n.scheduleTick();
  }

  // ---------------------------------------------------------------------------------------------
  // Faults.

  private void fault() {
    if (!faultsOn) {
      return;
    }
    final int down = (int) nodes.values().stream().filter(x -> !x.up).count();
    final int maxDown = (cfg.nodes() - 1) / 2;
    final int roll = random.nextInt(9);
    final int choice = roll == 8 ? 6 : roll >= 6 ? 4 : roll; // crashes twice as likely as others
    final List<Long> ids = new ArrayList<>(nodes.keySet());
    if (choice == 0 && cfg.partitions()) {
      // Symmetric split into two random groups.
      cut.clear();
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
      partitionCount++;
    } else if (choice == 1 && cfg.partitions()) {
      // Isolate the leader.
      final Node l = leader();
      if (l != null) {
        cut.clear();
        for (final Long b : ids) {
          if (b != l.id) {
            cut.add(l.id * 64 + b);
            cut.add(b * 64 + l.id);
          }
        }
        partitionCount++;
      }
    } else if (choice == 2 && cfg.partitions()) {
      // One-way: a random link stops carrying messages in one direction.
      final long a = ids.get(random.nextInt(ids.size()));
      final long b = ids.get(random.nextInt(ids.size()));
      if (a != b) {
        cut.add(a * 64 + b);
        partitionCount++;
      }
    } else if (choice == 3) {
      note("heal");
      cut.clear();
    } else if (choice == 4 && cfg.crashes() && down < maxDown) {
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
      if (victim.up) {
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
        pauseCount++;
      }
    } else if (choice == 5) {
      for (final Node n : nodes.values()) {
        if (!n.up) {
          note("restart node " + n.id);
          n.boot();
          break;
        }
      }
    }
    if (choice <= 2 && !cut.isEmpty()) {
      note("cut links " + cutDescription());
    }
    at(now + (cfg.faultEveryMillis() / 2 + random.nextLong(cfg.faultEveryMillis())) * MS, "fault", this::fault);
  }

  private void crash(final Node victim, final String why, final boolean quickReboot) {
    note(why);
    victim.crash();
    crashCount++;
    if (quickReboot || random.nextBoolean()) {
      // A quick reboot: the node is back while the election it took part in is still going.
      final int inc = victim.incarnation;
      at(now + random.nextLong(1, quickReboot ? 20 : 100) * MS, "reboot " + victim.id, () -> {
        if (faultsOn && !victim.up && victim.incarnation == inc) {
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
    final long down = nodes.values().stream().filter(x -> !x.up).count();
    if (down >= (cfg.nodes() - 1) / 2) {
      return;
    }
    final int inc = n.incarnation;
    at(now, "crash " + n.id + " " + moment, () -> {
      if (n.up && n.incarnation == inc) {
        crash(n, "crash node " + n.id + " " + moment + " with unsynced writes", quickReboot);
      }
    });
  }

  private void note(final String what) {
    if (trace.size() == TRACE_LINES) {
      trace.pollFirst();
    }
    trace.addLast(String.format("%9.3fms   ** %s", now / 1e6, what));
  }

  private String cutDescription() {
    final List<String> links = new ArrayList<>();
    for (final Long l : new java.util.TreeSet<>(cut)) {
      links.add((l / 64) + "->" + (l % 64));
    }
    return String.join(" ", links);
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
            case TIMEOUT_NOW -> e.handleTimeoutNow(from.id, (io.raftkit.api.message.TimeoutNowRequest) request, reply);
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
    at(now + delay(), "response " + response.kind() + " " + r.responder + "->" + r.origin.id + " t" + response.term()
        + (response instanceof AppendResponse a ? (a.success() ? " ok@" + a.matchIndex() : " conflict@" + a.conflictIndex())
            : (((VoteResponse) response).granted() ? " granted" : " refused")), () -> {
      if (r.settled[0] || !r.origin.up || r.origin.incarnation != r.incarnation || !linkUp(r.responder, r.origin.id)) {
        return;
      }
      r.settled[0] = true;
      step(r.origin, e -> r.onResponse.accept(response));
    });
  }

  private record InitToken() {}

  // ---------------------------------------------------------------------------------------------
  // Nodes.

  private final class Node {
    final long id;
    boolean up;
    int incarnation;
    Engine engine;
    // The disk: what survives a crash.
    final ArrayList<Entry> durableLog = new ArrayList<>();
    Vote durableVote = Vote.NONE;
    LogId durableCommitted = LogId.ZERO;
    // Volatile state of the current incarnation.
    final ArrayList<Entry> memLog = new ArrayList<>();
    final ArrayDeque<Command> ioQueue = new ArrayDeque<>();
    boolean ioScheduled;
    long ioDone;
    final ArrayDeque<Command> held = new ArrayDeque<>();
    final Map<String, Long> kv = new HashMap<>();
    LogId applied = LogId.ZERO;
    long lastCommitted;
    final Map<Long, List<ClientCall>> pending = new HashMap<>();
    long tickGeneration;
    long pausedUntil;

    Node(final long id) {
      this.id = id;
    }

    void boot() {
      up = true;
      incarnation++;
      memLog.clear();
      memLog.addAll(durableLog);
      ioQueue.clear();
      ioScheduled = false;
      ioDone = 0;
      held.clear();
      kv.clear();
      applied = LogId.ZERO;
      lastCommitted = 0;
      pending.clear();
      engine = new Engine(id, cfg.config(), new SplittableRandom(cfg.seed() * 1_000_003L + id * 7919L + incarnation),
          durableVote, LogId.ZERO, durableCommitted, LogId.ZERO);
      for (final InjectedBug bug : bugs) {
        engine.injectBug(io.raftkit.engine.core.KnownBug.valueOf(bug.name()));
      }
      for (final Entry e : durableLog) {
        engine.recoverEntry(e);
      }
      engine.start(now);
      dispatch();
      scheduleTick();
    }

    void crash() {
      up = false;
      pausedUntil = 0;
      // Unsynced writes (the IO queue) are lost; synced ones are on the durable log.
      for (final List<ClientCall> calls : pending.values()) {
        for (final ClientCall call : calls) {
          call.client.nodeLost(call);
        }
      }
      pending.clear();
    }

    void scheduleTick() {
      final long deadline = engine.nextDeadlineNanos();
      if (deadline == Long.MAX_VALUE) {
        return;
      }
      final long gen = ++tickGeneration;
      final int inc = incarnation;
      at(deadline, "tick " + id, () -> {
        if (up && incarnation == inc && tickGeneration == gen) {
          step(this, e -> { });
        }
      });
    }

    void dispatch() {
      final List<Command> out = new ArrayList<>();
      engine.drainCommands(out);
      for (final Command c : out) {
        final long await = c.awaitIo();
        if (await > ioDone || (await > 0 && !held.isEmpty())) {
          held.addLast(c);
        } else {
          execute(c);
        }
      }
    }

    void execute(final Command c) {
      switch (c.kind()) {
        case APPEND_ENTRIES -> {
          final List<Entry> entries = ((Command.AppendEntries) c).entries();
          if (!entries.isEmpty() && entries.get(0).index() != memLog.size() + 1) {
            throw failure("node " + id + " appends " + entries.get(0).logId() + " after last index " + memLog.size());
          }
          memLog.addAll(entries);
          queueIo(c);
        }
        case TRUNCATE_LOG -> {
          final long from = ((Command.TruncateLog) c).fromIndex();
          for (long i = from; i <= memLog.size(); i++) {
            final LogId mine = memLog.get((int) i - 1).logId();
            if (mine.equals(committedAt.get(i))) {
              throw failure("node " + id + " truncates committed entry " + mine);
            }
          }
          while (memLog.size() >= from) {
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
          final List<Entry> entries = new ArrayList<>(memLog.subList((int) a.fromIndex() - 1, (int) a.toIndex() - 1));
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
        case READ_READY, READ_FAILED, COMPLETE, FAIL -> {
          // the simulated clients read through the log; no read is registered
        }
      }
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

    /** Group commit: writes and syncs everything queued, then reports the last sequence done. */
    void completeIo() {
      ioScheduled = false;
      long maxSeq = 0;
      while (!ioQueue.isEmpty()) {
        final Command c = ioQueue.pollFirst();
        switch (c.kind()) {
          case APPEND_ENTRIES -> {
            final Command.AppendEntries a = (Command.AppendEntries) c;
            durableLog.addAll(a.entries());
            maxSeq = a.ioSeq();
          }
          case TRUNCATE_LOG -> {
            final Command.TruncateLog t = (Command.TruncateLog) c;
            while (durableLog.size() >= t.fromIndex()) {
              durableLog.remove(durableLog.size() - 1);
            }
            maxSeq = t.ioSeq();
          }
          case SAVE_VOTE -> {
            final Command.SaveVote v = (Command.SaveVote) c;
            durableVote = v.vote();
            maxSeq = v.ioSeq();
          }
          case SAVE_COMMITTED -> durableCommitted = ((Command.SaveCommitted) c).committed();
          default -> throw new IllegalStateException("not IO: " + c);
        }
      }
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
    }

    void apply(final LogId upTo) {
      for (long i = applied.index() + 1; i <= upTo.index(); i++) {
        if (i > durableLog.size()) {
          throw failure("node " + id + " applies index " + i + " which is not durable (durable last="
              + durableLog.size() + ")");
        }
        final Entry entry = durableLog.get((int) i - 1);
        final LogId first = appliedAt.putIfAbsent(i, entry.logId());
        if (first != null && !first.equals(entry.logId())) {
          throw failure("node " + id + " applies " + entry.logId() + " at index " + i + " where another applied "
              + first);
        }
        final KvModel.Output output = entry.kind() == EntryKind.NORMAL ? applyKv(entry.payload()) : null;
        applied = entry.logId();
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
      final KvModel.Step<Long, KvModel.Output> s = KvModel.INSTANCE.apply(kv.get(in.key()), in);
      if (s.state() == null) {
        kv.remove(in.key());
      } else {
        kv.put(in.key(), s.state());
      }
      return s.output();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Invariants.

  private void check(final Node n) {
    final Engine e = n.engine;
    maxTerm = Math.max(maxTerm, e.vote().term());
    if (e.state() == ServerState.LEADER) {
      final Long other = leaderOfTerm.putIfAbsent(e.vote().term(), n.id);
      if (other != null && other != n.id) {
        throw failure("two leaders in term " + e.vote().term() + ": nodes " + other + " and " + n.id);
      }
    }
    final long committed = e.committed().index();
    if (committed < n.lastCommitted) {
      throw failure("node " + n.id + " commit index went back from " + n.lastCommitted + " to " + committed);
    }
    if (committed > n.lastCommitted && e.state() == ServerState.LEADER) {
      maybeCrashAt(n, 0.1, "after counting a commit", false);
    }
    for (long i = n.lastCommitted + 1; i <= committed; i++) {
      if (i > n.memLog.size()) {
        throw failure("node " + n.id + " committed index " + i + " beyond its log of " + n.memLog.size());
      }
      final LogId mine = n.memLog.get((int) i - 1).logId();
      final LogId first = committedAt.putIfAbsent(i, mine);
      if (first != null && !first.equals(mine)) {
        throw failure("index " + i + " committed as " + first + " elsewhere but as " + mine + " on node " + n.id);
      }
    }
    n.lastCommitted = committed;
    if (n.applied.index() > committed) {
      throw failure("node " + n.id + " applied " + n.applied + " beyond its commit index " + committed);
    }
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
      b.append("\n  node ").append(n.id).append(n.up ? " " + n.engine.state() : " DOWN")
          .append(" vote=").append(n.up ? n.engine.vote() : n.durableVote)
          .append(" last=").append(n.up ? n.engine.lastLogId() : "-")
          .append(" committed=").append(n.up ? n.engine.committed() : "-");
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

  private final class Client {
    final int id;
    long leaderHint;
    KvModel.Input op;
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
      final String k = key(random.nextInt(cfg.keys()));
      final int kind = random.nextInt(3);
      final KvModel.Input in = switch (kind) {
        case 0 -> KvModel.Input.put(k, nextValue++);
        case 1 -> KvModel.Input.get(k);
        default -> KvModel.Input.cas(k, random.nextBoolean() ? null : random.nextLong(1, Math.max(2, nextValue)),
            nextValue++);
      };
      start(in);
    }

    void start(final KvModel.Input in) {
      op = in;
      opId++;
      callNanos = now;
      final long mine = opId;
      at(now + cfg.config().electionTimeoutMax().toNanos() * 10, "client-timeout", () -> {
        if (op != null && opId == mine) {
          giveUp();
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
          try {
            final LogId id = e.handleClientWrite(encode(op));
            target.pending.computeIfAbsent(id.index(), x -> new ArrayList<>()).add(new ClientCall(this, mine, id));
          } catch (final NotLeaderException ex) {
            leaderHint = ex.leaderId() != 0 ? ex.leaderId() : 1 + random.nextInt(cfg.nodes());
            at(now + 10 * MS, "retry", () -> {
              if (op != null && opId == mine) {
                submit();
              }
            });
          }
        });
      });
    }

    void retryElsewhere() {
      leaderHint = 1 + random.nextInt(cfg.nodes());
      final long mine = opId;
      at(now + 20 * MS, "retry", () -> {
        if (op != null && opId == mine) {
          submit();
        }
      });
    }

    void completed(final ClientCall call, final KvModel.Output output) {
      if (op == null || call.opId != opId) {
        return; // settled already (given up): stays unknown
      }
      history.add(Operation.completed(id, callNanos, now, op, output));
      acknowledged++;
      op = null;
      at(now + random.nextLong(0, 20 * MS), "client", this::next);
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
      unknown++;
      op = null;
      at(now + random.nextLong(0, 20 * MS), "client", this::next);
    }
  }
}
