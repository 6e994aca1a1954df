package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.MS;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.membershipEntry;

import io.raftkit.api.Config;
import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Seeded simulation of 3 to 5 engines under a deterministic in-test harness: messages are
 * delayed, reordered and dropped, nodes are partitioned, IO completes late, and nodes crash and
 * restart from what their IO made durable. After every handler call it checks the safety
 * properties of Figure 3 of the Raft paper:
 *
 * <ul>
 *   <li>Election Safety: at most one leader per term;
 *   <li>State Machine Safety / Log Matching on the committed prefix: an index committed anywhere
 *       holds the same entry everywhere it is committed, nobody truncates a committed entry, and
 *       only committed entries are applied;
 *   <li>Leader Completeness: an entry committed in term T is in the log of every leader of a
 *       later term;
 *   <li>only entries the node has durable are applied, and the commit index of a running node
 *       never decreases.
 * </ul>
 *
 * <p>The harness runs each node's commands as the runtime must: in order, a command waiting for
 * its {@code awaitIo} holding back those after it; IO completes in sequence order, and only
 * completed IO survives a crash (a {@code SaveCommitted} hint survives at once, the worst case its
 * contract allows). A lost append surfaces at the leader as a failure after the RPC timeout.
 *
 * <p>At the end the network heals and the cluster must converge (one leader, every node committed
 * and applied up to the leader's last entry). A failure names the seed; rerun it alone with
 * {@code -Dtest.argLine="-Draftkit.sim.firstSeed=S -Draftkit.sim.seeds=1"}.
 */
class RaftSimulationTest {
  // Overrides for hunting: -Draftkit.sim.seeds=N -Draftkit.sim.firstSeed=S (rerun one seed with
  // seeds=1), -Draftkit.sim.dropRate=MAX, -Draftkit.sim.crashRate=MAX (per node and step).
  private static final int SEEDS = Integer.getInteger("raftkit.sim.seeds", 40);
  private static final long FIRST_SEED = Long.getLong("raftkit.sim.firstSeed", 1);
  /** {@code -Draftkit.sim.traceFromStep=N} prints every message from step N on. */
  private static final long TRACE_FROM = Long.getLong("raftkit.sim.traceFromStep", Long.MAX_VALUE);
  private static final double MAX_DROP_RATE =
      Double.parseDouble(System.getProperty("raftkit.sim.dropRate", "0.15"));
  private static final double MAX_CRASH_RATE =
      Double.parseDouble(System.getProperty("raftkit.sim.crashRate", "0.002"));
  private static final int STEPS = 1500;

  @Test
  void shouldKeepRaftSafetyPropertiesUnderFaults() {
    for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      new Simulation(seed).run(STEPS);
    }
  }

  /** One simulated cluster. Not thread-safe; single use. */
  static final class Simulation {
    private final long seed;
    private final SplittableRandom rnd;
    private final Config config;
    private final Membership membership;
    private final Node[] nodes;
    private final PriorityQueue<Event> events =
        new PriorityQueue<>(Comparator.comparingLong(Event::at).thenComparingLong(Event::seq));
    private final Map<Long, Long> leaderOfTerm = new HashMap<>();
    private final List<Entry> committed = new ArrayList<>();
    /** For each committed index, the term of the leader that committed it first. */
    private final List<Long> commitTerm = new ArrayList<>();
    private final double dropRate;
    private final double crashRate;
    /** The chance per step that a node's log writer finishes some of its IO. */
    private final double ioRate;
    private long now;
    private long step;
    private long eventSeq;
    private long rpcSeq;
    /** Append RPCs sent and neither answered nor timed out. */
    private final Set<Long> outstanding = new HashSet<>();
    private long writes;
    private boolean faults = true;
    private long isolated;
    private long isolatedUntil;

    Simulation(final long seed) {
      this.seed = seed;
      this.rnd = new SplittableRandom(seed);
      final int n = 3 + (int) (seed % 3);
      final long[] ids = new long[n];
      for (int i = 0; i < n; i++) {
        ids[i] = i + 1;
      }
      this.membership = members(ids);
      this.config =
          Engines.configBuilder()
              .maxEntriesPerAppend(1 + rnd.nextInt(8))
              .maxBytesPerAppend(16 + rnd.nextInt(64))
              .maxInflightAppends(1 + rnd.nextInt(3))
              .preVote(seed % 2 == 1)
              .checkQuorum(seed % 4 < 2)
              .rpcTimeout(Duration.ofMillis(80))
              .build();
      this.dropRate = rnd.nextDouble() * MAX_DROP_RATE;
      this.ioRate = 0.1 + rnd.nextDouble() * 0.8;
      this.crashRate = rnd.nextDouble() * MAX_CRASH_RATE;
      this.nodes = new Node[n];
      for (int i = 0; i < n; i++) {
        nodes[i] = new Node(ids[i]);
        nodes[i].durableLog.add(membershipEntry(membership));
        restart(nodes[i]);
      }
    }

    void run(final int steps) {
      try {
        for (step = 0; step < steps; step++) {
          step();
        }
        // Heal and check that the cluster converges.
        faults = false;
        isolated = 0;
        final long deadline = now + 10_000 * MS;
        while (now < deadline && !converged()) {
          step++;
          step();
        }
        check(converged(), "the cluster did not converge within 10 s after healing");
      } catch (final AssertionError | RuntimeException e) {
        throw new AssertionError(
            "seed=" + seed + " step=" + step + " now=" + now / MS + "ms config=" + config + " dropRate="
                + dropRate + ": " + e.getMessage() + "\n" + describe(),
            e);
      }
    }

    private void step() {
      now += (1 + rnd.nextInt(8)) * MS;
      if (faults && isolated == 0 && rnd.nextInt(400) == 0) {
        isolated = 1 + rnd.nextInt(nodes.length);
        isolatedUntil = now + (50 + rnd.nextInt(500)) * MS;
      } else if (isolated != 0 && now >= isolatedUntil) {
        isolated = 0;
      }
      while (!events.isEmpty() && events.peek().at() <= now) {
        deliver(events.poll());
      }
      for (final Node node : nodes) {
        node.engine.tick(now);
        after(node);
      }
      for (final Node node : nodes) {
        if (!node.writer.isEmpty() && rnd.nextDouble() < ioRate) {
          completeIo(node, 1 + rnd.nextInt(node.writer.size()));
        }
      }
      if (faults && rnd.nextDouble() < crashRate * nodes.length) {
        final Node victim = nodes[rnd.nextInt(nodes.length)];
        // Lose everything that was not durable, then recover from storage.
        restart(victim);
      }
      if (faults && rnd.nextInt(10) < 2) {
        for (final Node node : nodes) {
          // Back-pressure, as the runtime's maxPendingWrites: a bounded uncommitted tail.
          if (node.engine.state() == ServerState.LEADER
              && node.engine.lastLogId().index() - node.engine.committed().index() < 64) {
            final int count = 1 + rnd.nextInt(3);
            for (int i = 0; i < count; i++) {
              final byte[] payload = ("w" + (++writes) + "-" + rnd.nextInt(1000)).getBytes(StandardCharsets.UTF_8);
              node.engine.handleClientWrite(payload);
            }
            after(node);
          }
        }
      }
    }

    // -------------------------------------------------------------------------------------------
    // Nodes, storage and IO.

    private void restart(final Node node) {
      node.queue.clear();
      node.writer.clear();
      node.pendingIo.clear();
      node.ioDone = 0;
      node.applied = 0;
      node.log.clear();
      node.log.addAll(node.durableLog);
      final LogId hint = node.durableCommitted;
      node.engine =
          new Engine(node.id, config, rnd.split(), node.durableVote, LogId.ZERO, hint, LogId.ZERO);
      for (final Entry e : node.durableLog) {
        node.engine.recoverEntry(e);
      }
      node.engine.start(now);
      node.committedIndex = 0;
      after(node);
    }

    private void completeIo(final Node node, final int count) {
      long seq = 0;
      for (int i = 0; i < count; i++) {
        seq = node.writer.poll();
      }
      while (!node.pendingIo.isEmpty() && node.pendingIo.peek().ioSeq() <= seq) {
        makeDurable(node, node.pendingIo.poll().command());
      }
      node.ioDone = seq;
      node.engine.handleIoDone(seq);
      after(node);
    }

    private void makeDurable(final Node node, final Command c) {
      switch (c.kind()) {
        case APPEND_ENTRIES -> {
          for (final Entry e : ((Command.AppendEntries) c).entries()) {
            check(e.index() == node.durableLog.size() + 1, "durable append of " + e + " is not contiguous");
            node.durableLog.add(e);
          }
        }
        case TRUNCATE_LOG -> {
          final long from = ((Command.TruncateLog) c).fromIndex();
          while (node.durableLog.size() >= from) {
            node.durableLog.remove(node.durableLog.size() - 1);
          }
        }
        case SAVE_VOTE -> node.durableVote = ((Command.SaveVote) c).vote();
        case SAVE_COMMITTED, SEND_VOTE, SEND_APPEND, REPLY, APPLY ->
            throw new AssertionError("not an IO command: " + c);
      }
    }

    /** After every handler call: end the batch, take the commands, check, run what may run. */
    private void after(final Node node) {
      node.engine.endBatch();
      final List<Command> out = new ArrayList<>();
      node.engine.drainCommands(out);
      for (final Command c : out) {
        accept(node, c);
      }
      checkInvariants(node);
      pump(node);
    }

    /** Mirrors the engine's log at emission time and materializes append requests. */
    private void accept(final Node node, final Command c) {
      switch (c.kind()) {
        case APPEND_ENTRIES -> {
          for (final Entry e : ((Command.AppendEntries) c).entries()) {
            check(e.index() == node.log.size() + 1, node.id + " appends " + e + " after " + node.log.size());
            node.log.add(e);
          }
          node.queue.add(copyOf((Command.AppendEntries) c));
        }
        case TRUNCATE_LOG -> {
          final long from = ((Command.TruncateLog) c).fromIndex();
          check(from > node.committedIndex, node.id + " truncates from " + from + " below its commit");
          for (long i = from; i <= Math.min(node.log.size(), committed.size()); i++) {
            check(
                !node.log.get((int) i - 1).logId().equals(committed.get((int) i - 1).logId()),
                node.id + " truncates committed entry " + committed.get((int) i - 1));
          }
          while (node.log.size() >= from) {
            node.log.remove(node.log.size() - 1);
          }
          node.queue.add(c);
        }
        case SEND_APPEND -> {
          final Command.SendAppend s = (Command.SendAppend) c;
          final LogId prev = s.prevLogId();
          check(
              prev.index() == 0 || node.log.get((int) prev.index() - 1).logId().equals(prev),
              node.id + " sends prev " + prev + " it does not hold");
          final List<Entry> entries =
              new ArrayList<>(node.log.subList((int) s.fromIndex() - 1, (int) s.toIndex() - 1));
          node.queue.add(new Outbound(s.target(), s.toRequest(node.id, entries), s.epoch()));
        }
        case SAVE_VOTE, SAVE_COMMITTED, SEND_VOTE, REPLY, APPLY -> node.queue.add(c);
      }
    }

    private static Command copyOf(final Command.AppendEntries a) {
      return new Command.AppendEntries(List.copyOf(a.entries()), a.ioSeq());
    }

    /** Runs queued commands in order until one waits for IO (and everything after it with it). */
    private void pump(final Node node) {
      while (!node.queue.isEmpty()) {
        final Object head = node.queue.peek();
        if (head instanceof Command c && c.awaitIo() > node.ioDone) {
          return;
        }
        node.queue.poll();
        if (head instanceof Outbound o) {
          send(node.id, o.target(), o.request(), new Token(node.id, o.epoch(), ++rpcSeq));
          continue;
        }
        final Command c = (Command) head;
        switch (c.kind()) {
          case APPEND_ENTRIES -> io(node, c, ((Command.AppendEntries) c).ioSeq());
          case TRUNCATE_LOG -> io(node, c, ((Command.TruncateLog) c).ioSeq());
          case SAVE_VOTE -> io(node, c, ((Command.SaveVote) c).ioSeq());
          // The worst case the contract allows: the hint is durable as soon as it is written.
          case SAVE_COMMITTED -> node.durableCommitted = ((Command.SaveCommitted) c).committed();
          case SEND_VOTE -> {
            final Command.SendVote v = (Command.SendVote) c;
            send(node.id, v.target(), v.request(), new Token(node.id, 0, ++rpcSeq));
          }
          case REPLY -> {
            final Command.Reply r = (Command.Reply) c;
            final Token t = (Token) r.replyTo();
            send(node.id, t.requester(), r.response(), t);
          }
          case APPLY -> apply(node, ((Command.Apply) c).upTo());
          case SEND_APPEND -> throw new AssertionError("materialized in accept");
        }
      }
    }

    private void io(final Node node, final Command c, final long ioSeq) {
      node.writer.add(ioSeq);
      node.pendingIo.add(new PendingIo(ioSeq, c));
    }

    private void apply(final Node node, final LogId upTo) {
      check(upTo.index() > node.applied, node.id + " applies " + upTo + " again after " + node.applied);
      check(upTo.index() <= committed.size(), node.id + " applies uncommitted " + upTo);
      check(
          committed.get((int) upTo.index() - 1).logId().equals(upTo),
          node.id + " applies " + upTo + " but committed is " + committed.get((int) upTo.index() - 1));
      check(upTo.index() <= node.durableLog.size()
              && node.durableLog.get((int) upTo.index() - 1).logId().equals(upTo),
          node.id + " applies " + upTo + " which is not durable");
      node.applied = upTo.index();
      node.engine.handleApplied(upTo);
    }

    // -------------------------------------------------------------------------------------------
    // Network.

    private boolean cut(final long a, final long b) {
      return isolated != 0 && (a == isolated || b == isolated);
    }

    private void send(final long from, final long to, final Object body, final Token token) {
      if (body instanceof AppendRequest) {
        // Like the transport: an append with no answer within the RPC timeout fails.
        outstanding.add(token.rpc());
        schedule(now + config.rpcTimeout().toNanos(), from, new Failure(to, token.epoch(), token.rpc()));
      }
      if (step >= TRACE_FROM) {
        System.out.println("t=" + now / MS + " " + from + " sends " + to + " " + body + " " + token);
      }
      if (cut(from, to) || faults && rnd.nextDouble() < dropRate) {
        return;
      }
      // While healed, a fixed delay keeps every link in order (like one TCP connection).
      final long delay = faults ? 1 + rnd.nextInt(15) : 2;
      schedule(now + delay * MS, to, new Message(from, body, token));
    }

    private void schedule(final long at, final long to, final Object body) {
      events.add(new Event(at, eventSeq++, to, body));
    }

    private void deliver(final Event event) {
      final Node node = nodes[(int) event.to() - 1];
      if (step >= TRACE_FROM) {
        System.out.println("t=" + now / MS + " -> " + event.to() + " " + event.body());
      }
      if (event.body() instanceof Failure f) {
        if (!outstanding.remove(f.rpc())) {
          return;
        }
        node.engine.handleAppendFailure(f.target(), f.epoch());
      } else {
        final Message m = (Message) event.body();
        if (cut(m.from(), event.to())) {
          return;
        }
        if (m.body() instanceof AppendResponse && !outstanding.remove(m.token().rpc())) {
          return; // timed out already: the transport dropped the late answer
        }
        if (m.body() instanceof VoteRequest req) {
          node.engine.handleVoteRequest(m.from(), req, m.token());
        } else if (m.body() instanceof AppendRequest req) {
          node.engine.handleAppendRequest(m.from(), req, m.token());
        } else if (m.body() instanceof VoteResponse resp) {
          node.engine.handleVoteResponse(m.from(), resp);
        } else {
          node.engine.handleAppendResponse(m.from(), (AppendResponse) m.body(), m.token().epoch());
        }
      }
      after(node);
    }

    // -------------------------------------------------------------------------------------------
    // Invariants.

    private void checkInvariants(final Node node) {
      final Engine e = node.engine;
      final LogId last = node.log.isEmpty() ? LogId.ZERO : node.log.get(node.log.size() - 1).logId();
      check(e.lastLogId().equals(last), node.id + " engine last " + e.lastLogId() + " but log last " + last);
      if (e.state() == ServerState.LEADER) {
        final Long other = leaderOfTerm.putIfAbsent(e.vote().term(), node.id);
        check(other == null || other == node.id,
            "two leaders in term " + e.vote().term() + ": " + other + " and " + node.id);
        if (node.leaderTermChecked != e.vote().term()) {
          node.leaderTermChecked = e.vote().term();
          for (int i = 0; i < committed.size(); i++) {
            checkLeaderHolds(node, i + 1);
          }
        }
      }
      final long c = e.committed().index();
      check(c >= node.committedIndex, node.id + " commit went back from " + node.committedIndex + " to " + c);
      check(c <= node.log.size(), node.id + " committed " + c + " beyond its log " + node.log.size());
      if (c > 0) {
        check(node.log.get((int) c - 1).logId().equals(e.committed()),
            node.id + " committed " + e.committed() + " but holds " + node.log.get((int) c - 1));
      }
      for (long i = node.committedIndex + 1; i <= c; i++) {
        final Entry entry = node.log.get((int) i - 1);
        if (i <= committed.size()) {
          check(committed.get((int) i - 1).equals(entry),
              node.id + " committed " + entry + " at " + i + " but " + committed.get((int) i - 1)
                  + " was committed there");
        } else {
          committed.add(entry);
          commitTerm.add(e.state() == ServerState.LEADER ? e.vote().term() : Long.MAX_VALUE);
          for (final Node other : nodes) {
            if (other != null && other.engine != null && other.engine.state() == ServerState.LEADER) {
              checkLeaderHolds(other, i);
            }
          }
        }
      }
      node.committedIndex = c;
    }

    /**
     * Leader Completeness (§5.4.3): an entry committed in term T is in the log of every leader of
     * a term above T.
     */
    private void checkLeaderHolds(final Node leader, final long index) {
      final long term = leader.engine.vote().term();
      if (commitTerm.get((int) index - 1) < term) {
        final Entry entry = committed.get((int) index - 1);
        check(index <= leader.log.size() && leader.log.get((int) index - 1).equals(entry),
            "leader " + leader.id + " of term " + term + " lacks " + entry + " committed in term "
                + commitTerm.get((int) index - 1));
      }
    }

    private boolean converged() {
      Node leader = null;
      for (final Node node : nodes) {
        if (node.engine.state() == ServerState.LEADER
            && (leader == null || node.engine.vote().term() > leader.engine.vote().term())) {
          leader = node;
        }
      }
      if (leader == null) {
        return false;
      }
      final LogId target = leader.engine.lastLogId();
      for (final Node node : nodes) {
        if (!node.engine.committed().equals(target) || node.engine.lastApplied().index() != target.index()) {
          return false;
        }
      }
      return true;
    }

    private String describe() {
      final StringBuilder sb = new StringBuilder();
      for (final Node node : nodes) {
        final Engine e = node.engine;
        sb.append("  node ").append(node.id).append(' ').append(e.state()).append(" vote=").append(e.vote())
            .append(" last=").append(e.lastLogId()).append(" flushed=").append(e.flushedLogId())
            .append(" committed=").append(e.committed()).append(" applied=").append(e.lastApplied())
            .append(" queued=").append(node.queue.size()).append(" writer=").append(node.writer.size())
            .append(" replication=").append(e.replication()).append('\n');
      }
      sb.append("  globally committed: ").append(committed.size()).append(" isolated=").append(isolated);
      return sb.toString();
    }

    private static void check(final boolean ok, final String message) {
      if (!ok) {
        throw new AssertionError(message);
      }
    }
  }

  /** One simulated node: its engine, its storage and the runtime's queues. */
  private static final class Node {
    final long id;
    Engine engine;
    /** The engine's log as its commands describe it (written, maybe not durable). */
    final List<Entry> log = new ArrayList<>();
    /** What survives a crash. */
    final List<Entry> durableLog = new ArrayList<>();
    Vote durableVote = Vote.NONE;
    LogId durableCommitted = LogId.ZERO;
    /** Commands (and materialized append requests) not yet run, in order. */
    final ArrayDeque<Object> queue = new ArrayDeque<>();
    /** IO sequence numbers submitted to the log writer and not yet done. */
    final ArrayDeque<Long> writer = new ArrayDeque<>();
    final ArrayDeque<PendingIo> pendingIo = new ArrayDeque<>();
    long ioDone;
    long applied;
    long committedIndex;
    long leaderTermChecked = -1;

    Node(final long id) {
      this.id = id;
    }
  }

  private record PendingIo(long ioSeq, Command command) {}

  private record Outbound(long target, AppendRequest request, long epoch) {}

  /** Identifies a request: who sent it, its replication epoch, and a unique RPC id. */
  private record Token(long requester, long epoch, long rpc) {}

  private record Message(long from, Object body, Token token) {}

  private record Failure(long target, long epoch, long rpc) {}

  private record Event(long at, long seq, long to, Object body) {}
}
