package io.raftkit.examples.kv.chaos;

import io.raftkit.examples.kv.chaos.History.Kind;
import io.raftkit.examples.kv.chaos.History.Outcome;
import io.raftkit.testkit.lincheck.CheckResult;
import io.raftkit.testkit.lincheck.KvModel;
import io.raftkit.testkit.lincheck.LinearizabilityChecker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Jepsen-style run against real {@code raft-kv serve} processes (see {@link ChaosCluster}):
 * clients record a {@link History} while a schedule of faults runs (kill -9 of the leader or of a
 * random node and its restart, SIGSTOP pauses longer than the election timeout, partitions through
 * the {@link FaultProxy}s: halves, isolated leader, one-way in and out of the leader), with voter
 * removals and re-additions and snapshot requests in the background. Then everything heals, and
 * the run is judged: the history must be linearizable, no acknowledged write may be lost, and every
 * node's state digest must be equal once they applied the same log. {@link Result} holds the
 * verdicts and the raw data the {@link ChaosReport} turns into figures.
 *
 * <p>The schedule (which fault, which victim, how long) comes from the seed; the timing of real
 * processes does not, so a seed does not replay a run exactly.
 */
final class ChaosRunner {

  /**
   * What to run.
   *
   * @param seed the seed of the schedule and the clients
   * @param nodes how many serve processes
   * @param clients how many concurrent clients
   * @param faultRounds how many faults (round robin: kill, partition, kill, partition, pause); 0 to
   *     run for {@code faultTime}
   * @param faultTime how long the fault phase lasts when {@code faultRounds} is 0
   * @param membershipEvery how often a voter is removed (and re-added a few seconds later)
   * @param snapshotEvery how often a snapshot is requested
   * @param checkLimit the linearizability checker's time limit
   * @param dir where data, logs and the report go
   */
  record Settings(
      long seed, int nodes, int clients, int faultRounds, Duration faultTime, Duration membershipEvery,
      Duration snapshotEvery, Duration checkLimit, Path dir) {}

  /**
   * A fault, from its start to its heal.
   *
   * @param kind {@code kill}, {@code pause}, {@code partition}, {@code membership}
   * @param detail what exactly
   * @param startNanos when it started
   * @param endNanos when it was healed (the killed node restarted, resumed, links opened)
   */
  record FaultWindow(String kind, String detail, long startNanos, long endNanos) {}

  /** A leader kill: when, the leader's term, and when the next leader and the next write came. */
  static final class LeaderKill {
    final long killNanos;
    final long node;
    final long term;
    volatile long electedNanos;

    LeaderKill(final long killNanos, final long node, final long term) {
      this.killNanos = killNanos;
      this.node = node;
      this.term = term;
    }
  }

  /** A restart: when, the commit index to reach, and when the node answered and caught up. */
  static final class Restart {
    final long node;
    final long startNanos;
    final long targetCommit;
    volatile long httpUpNanos;
    volatile long caughtUpNanos;

    Restart(final long node, final long startNanos, final long targetCommit) {
      this.node = node;
      this.startNanos = startNanos;
      this.targetCommit = targetCommit;
    }
  }

  /** A node rejoining (restart, resume, heal): the highest term seen before, and after its window. */
  static final class Rejoin {
    final String kind;
    final String detail;
    final long nanos;
    final long termBefore;
    volatile long termAfter = -1;

    Rejoin(final String kind, final String detail, final long nanos, final long termBefore) {
      this.kind = kind;
      this.detail = detail;
      this.nanos = nanos;
      this.termBefore = termBefore;
    }
  }

  /** Everything a run produced. */
  static final class Result {
    Settings settings;
    long originNanos;
    long faultStartNanos;
    long faultEndNanos;
    long endNanos;
    Map<Long, String> storage = new TreeMap<>();
    List<History.Op> ops = List.of();
    final List<FaultWindow> faults = new CopyOnWriteArrayList<>();
    final List<LeaderKill> leaderKills = new CopyOnWriteArrayList<>();
    final List<Restart> restarts = new CopyOnWriteArrayList<>();
    final List<Rejoin> rejoins = new CopyOnWriteArrayList<>();
    final List<long[]> termTimeline = new CopyOnWriteArrayList<>();
    /** {nanos, voters}: the voter count of the leader's configuration, whenever it changed. */
    final List<long[]> voterTimeline = new CopyOnWriteArrayList<>();
    /** The voter counts of the fault phase, once it is over. */
    VoterTime voterTime;
    final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> snapshotAnswers = new ConcurrentHashMap<>();
    CheckResult linearizability;
    int uniqueWritesChecked;
    final List<String> lostWrites = new ArrayList<>();
    final Map<Long, String> digests = new TreeMap<>();
    boolean digestsEqual;
    long convergedIndex;
    final List<String> problems = new CopyOnWriteArrayList<>();
    /** Answers worth reading that are not problems (refused membership changes), the first 200. */
    final List<String> notes = new CopyOnWriteArrayList<>();
    /** How many notes did not fit. */
    final AtomicInteger notesDropped = new AtomicInteger();

    void note(final String what) {
      if (notes.size() < 200) {
        notes.add(what);
      } else {
        notesDropped.incrementAndGet();
      }
    }

    int count(final String what) {
      final AtomicInteger n = counts.get(what);
      return n == null ? 0 : n.get();
    }

    void bump(final String what) {
      counts.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
    }

    /** Whether every verdict holds. */
    boolean passed() {
      return linearizability != null && linearizability.ok() && lostWrites.isEmpty() && digestsEqual
          && problems.isEmpty();
    }
  }

  private static final Pattern LOG_INDEX = Pattern.compile("\"log_index\":(\\d+)");
  private static final Pattern DIGEST =
      Pattern.compile("\"last_applied\":\\{\"term\":\\d+,\"index\":(\\d+)\\},\"keys\":(\\d+),\"sha256\":\"([0-9a-f]+)\"");
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  /** How long the membership nemesis tries to restore the voters before it notes that it gave up. */
  private static final long RESTORE_NANOS = TimeUnit.SECONDS.toNanos(60);
  /** Below this many voters no voter may fail (a majority of 5 is 3). */
  static final int FEW_VOTERS = 3;
  /** The verdict: the fault phase may spend at most this long (in total) with fewer than {@link #FEW_VOTERS} voters. */
  static final Duration MAX_TIME_BELOW_FEW_VOTERS = Duration.ofSeconds(60);

  /**
   * The voter counts of a stretch of time.
   *
   * @param min the fewest voters seen, -1 if no leader was seen
   * @param nanosBelowFull how long there were fewer voters than nodes
   * @param nanosBelowFew how long there were fewer than {@link #FEW_VOTERS}
   */
  record VoterTime(int min, long nanosBelowFull, long nanosBelowFew) {}

  private final Settings settings;
  private final Random random;
  private final Random membershipRandom;
  private final Random snapshotRandom;
  private final History history = new History();
  private final Result result = new Result();
  private final Map<Long, NodeMetrics> latest = new ConcurrentHashMap<>();
  private final AtomicLong maxTerm = new AtomicLong();
  private final CountDownLatch faultPhaseOver = new CountDownLatch(1);
  private volatile boolean stopped;
  private ChaosCluster cluster;

  ChaosRunner(final Settings settings) {
    this.settings = settings;
    this.random = new Random(settings.seed());
    this.membershipRandom = new Random(settings.seed() + 1);
    this.snapshotRandom = new Random(settings.seed() + 2);
    result.settings = settings;
  }

  /** Runs the whole thing; the verdicts are in the result (and the report). */
  Result run(final java.io.PrintStream log) throws Exception {
    Files.createDirectories(settings.dir());
    result.originNanos = System.nanoTime();
    final List<Thread> background = new ArrayList<>();
    try (ChaosCluster c = new ChaosCluster(settings.dir(), settings.nodes(), ChaosCluster.classPathLauncher())) {
      cluster = c;
      c.nodes().forEach(n -> result.storage.put(n.id(), n.storage()));
      for (final long id : c.ids()) {
        c.start(id, id == 1);
      }
      for (final long id : c.ids()) {
        background.add(daemon("chaos-poll-" + id, () -> poll(id)));
      }
      log.printf("chaos: seed=%d, %d nodes started (data and logs in %s)%n", settings.seed(), settings.nodes(),
          settings.dir());
      awaitHealthy(TimeUnit.SECONDS.toNanos(90));
      log.println("chaos: leader elected, every node a voter; clients start");
      background.add(daemon("chaos-voters", this::sampleVoters));

      final ChaosClients clients = new ChaosClients(c, history, settings.seed(), settings.clients(), result.originNanos);
      clients.start();
      pace(TimeUnit.SECONDS.toNanos(2));

      result.faultStartNanos = System.nanoTime();
      final List<Thread> nemeses = new ArrayList<>();
      nemeses.add(daemon("chaos-membership", this::membershipLoop));
      nemeses.add(daemon("chaos-snapshots", this::snapshotLoop));
      faultLoop(log);
      faultPhaseOver.countDown();
      for (final Thread t : nemeses) {
        t.join(TimeUnit.SECONDS.toMillis(60));
        if (t.isAlive()) {
          result.problems.add(t.getName() + " did not stop within 60 s");
        }
      }
      result.faultEndNanos = System.nanoTime();
      closeRejoins();
      result.voterTime = voterTime(result.voterTimeline, result.faultStartNanos, result.faultEndNanos, c.ids().size());
      final String few = voterProblem(result.voterTime);
      if (few != null) {
        result.problems.add(few);
      }

      log.println("chaos: healing every fault");
      healAll();
      awaitHealthy(TimeUnit.SECONDS.toNanos(120));
      pace(TimeUnit.SECONDS.toNanos(2)); // a healthy tail: clients see the healed cluster
      clients.stop();
      if (clients.failure != null) {
        result.problems.add("a client failed: " + clients.failure);
      }
      log.println("chaos: final reads");
      finalReads(clients, TimeUnit.SECONDS.toNanos(180));
      result.ops = history.ops();
      log.println("chaos: waiting for every node to apply the same log");
      compareDigests(TimeUnit.SECONDS.toNanos(90));
      for (final long id : c.ids()) {
        final NodeMetrics m = latest.get(id);
        if (m != null && m.fatalError() != null) {
          result.problems.add("node " + id + " reports a fatal error: " + m.fatalError());
        }
      }
      log.printf("chaos: checking %d operations for linearizability%n", result.ops.size());
      result.linearizability = LinearizabilityChecker.check(
          KvModel.INSTANCE, History.forChecker(result.ops), settings.checkLimit());
    } catch (final Exception | Error e) {
      result.problems.add("the run failed: " + e);
      throw e;
    } finally {
      stopped = true;
      faultPhaseOver.countDown();
      result.endNanos = System.nanoTime();
      if (result.ops.isEmpty()) {
        result.ops = history.ops();
      }
    }
    return result;
  }

  // ------------------------------------------------------------------ faults

  private void faultLoop(final java.io.PrintStream log) throws Exception {
    final long end = result.faultStartNanos + settings.faultTime().toNanos();
    for (int round = 0; settings.faultRounds() > 0 ? round < settings.faultRounds() : System.nanoTime() < end;
        round++) {
      closeRejoins();
      switch (round % 7) {
        case 0, 2 -> kill(result.count("kill_alone") % 2 == 0);
        case 1, 3 -> partition(result.count("partition_alone") % 4);
        case 4 -> pause(result.count("pause") % 2 == 0);
        case 5 -> killDuringPartition();
        default -> killMajority();
      }
      pace(millis(800, 1200));
      if (round % 7 == 6) {
        log.printf("chaos: %d rounds, %d ops so far, max term %d%n", round + 1, history.size(), maxTerm.get());
      }
    }
  }

  private void kill(final boolean leader) throws Exception {
    final NodeMetrics lead = leaderNow();
    final long victim = leader && lead != null ? lead.node() : randomRunning();
    final boolean isLeader = lead != null && lead.node() == victim;
    final long start = System.nanoTime();
    cluster.kill(victim);
    if (isLeader) {
      result.leaderKills.add(new LeaderKill(start, victim, lead.term()));
    }
    result.bump("kill");
    result.bump("kill_alone");
    result.bump(isLeader ? "kill_leader" : "kill_follower");
    pace(millis(500, 1500));
    final long commit = latest.values().stream().filter(m -> m.node() != victim)
        .mapToLong(NodeMetrics::committed).max().orElse(0);
    final Restart restart = new Restart(victim, System.nanoTime(), commit);
    result.restarts.add(restart);
    cluster.start(victim, false);
    final long end = System.nanoTime();
    result.faults.add(new FaultWindow("kill", "kill -9 node " + victim + (isLeader ? " (leader)" : ""), start, end));
    // The gap before the next fault starts once the node serves again.
    await("node " + victim + " to answer after its restart", TimeUnit.SECONDS.toNanos(60),
        () -> restart.httpUpNanos != 0 ? Boolean.TRUE : null);
    result.rejoins.add(new Rejoin("restart", "node " + victim, System.nanoTime(), maxTerm.get()));
  }

  private void pause(final boolean leader) throws Exception {
    final NodeMetrics lead = leaderNow();
    final long victim = leader && lead != null ? lead.node() : randomRunning();
    final long start = System.nanoTime();
    cluster.pause(victim);
    result.bump("pause");
    pace(millis(1000, 2000));
    cluster.resume(victim);
    result.faults.add(new FaultWindow("pause", "SIGSTOP node " + victim
        + (lead != null && lead.node() == victim ? " (leader)" : ""), start, System.nanoTime()));
    result.rejoins.add(new Rejoin("resume", "node " + victim, System.nanoTime(), maxTerm.get()));
  }

  private void partition(final int kind) throws InterruptedException {
    final List<Long> ids = new ArrayList<>(cluster.ids());
    final NodeMetrics lead = leaderNow();
    final long leader = lead != null ? lead.node() : ids.get(random.nextInt(ids.size()));
    final String detail;
    final long start = System.nanoTime();
    switch (kind) {
      case 0 -> {
        Collections.shuffle(ids, random);
        final Set<Long> minority = new TreeSet<>(ids.subList(0, ids.size() / 2));
        for (final long a : cluster.ids()) {
          for (final long b : cluster.ids()) {
            if (a != b && minority.contains(a) != minority.contains(b)) {
              cluster.cut(a, b);
            }
          }
        }
        final Set<Long> majority = new TreeSet<>(cluster.ids());
        majority.removeAll(minority);
        detail = "halves " + minority + " | " + majority + " (leader " + leader + ")";
      }
      case 1 -> {
        for (final long b : cluster.ids()) {
          if (b != leader) {
            cluster.cut(leader, b);
            cluster.cut(b, leader);
          }
        }
        detail = "isolate leader " + leader;
      }
      case 2 -> {
        for (final long b : cluster.ids()) {
          if (b != leader) {
            cluster.cut(leader, b);
          }
        }
        detail = "one-way: leader " + leader + " cannot send";
      }
      default -> {
        for (final long b : cluster.ids()) {
          if (b != leader) {
            cluster.cut(b, leader);
          }
        }
        detail = "one-way: leader " + leader + " cannot receive";
      }
    }
    result.bump("partition");
    result.bump("partition_alone");
    result.bump("partition_" + List.of("halves", "isolate_leader", "leader_cannot_send", "leader_cannot_receive")
        .get(kind));
    pace(millis(1200, 2500));
    cluster.healNetwork();
    result.faults.add(new FaultWindow("partition", detail, start, System.nanoTime()));
    result.rejoins.add(new Rejoin("heal", detail, System.nanoTime(), maxTerm.get()));
  }

  /**
   * {@code kill -9} of a majority at once (a power cut), restarted 0.5–1.5 s later: what they
   * acknowledged was synced, so nothing may be lost.
   */
  private void killMajority() throws Exception {
    final List<Long> ids = new ArrayList<>(cluster.ids());
    Collections.shuffle(ids, random);
    final List<Long> victims = new ArrayList<>(ids.subList(0, ids.size() / 2 + 1));
    victims.sort(null);
    final long start = System.nanoTime();
    for (final long v : victims) {
      final Process p = cluster.process(v);
      if (p != null) {
        p.destroyForcibly(); // all first, then wait for each
      }
    }
    for (final long v : victims) {
      cluster.kill(v);
    }
    result.bump("kill");
    result.bump("kill_majority");
    pace(millis(500, 1500));
    final long commit = latest.values().stream().filter(m -> !victims.contains(m.node()))
        .mapToLong(NodeMetrics::committed).max().orElse(0);
    final List<Restart> restarts = new ArrayList<>();
    for (final long v : victims) {
      final Restart restart = new Restart(v, System.nanoTime(), commit);
      result.restarts.add(restart);
      restarts.add(restart);
      cluster.start(v, false);
    }
    final String detail = "kill -9 of a majority at once: " + victims;
    result.faults.add(new FaultWindow("kill", detail, start, System.nanoTime()));
    await("nodes " + victims + " to answer after their restart", TimeUnit.SECONDS.toNanos(90),
        () -> restarts.stream().allMatch(r -> r.httpUpNanos != 0) ? Boolean.TRUE : null);
    // Not counted as a rejoin: with a majority down the cluster must elect again once it is back.
  }

  /**
   * Overlapping faults: a random 2 | 3 split, then a random node killed and restarted while the
   * partition lasts (it comes back on whatever side it was), then the heal.
   */
  private void killDuringPartition() throws Exception {
    final List<Long> ids = new ArrayList<>(cluster.ids());
    Collections.shuffle(ids, random);
    final Set<Long> minority = new TreeSet<>(ids.subList(0, ids.size() / 2));
    for (final long a : cluster.ids()) {
      for (final long b : cluster.ids()) {
        if (a != b && minority.contains(a) != minority.contains(b)) {
          cluster.cut(a, b);
        }
      }
    }
    final long start = System.nanoTime();
    pace(millis(400, 800));
    final long victim = ids.get(random.nextInt(ids.size()));
    cluster.kill(victim);
    pace(millis(500, 1000));
    final long commit = latest.values().stream().filter(m -> m.node() != victim)
        .mapToLong(NodeMetrics::committed).max().orElse(0);
    final Restart restart = new Restart(victim, System.nanoTime(), commit);
    result.restarts.add(restart);
    cluster.start(victim, false);
    pace(millis(500, 1000));
    cluster.healNetwork();
    result.bump("kill");
    result.bump("partition");
    result.bump("kill_during_partition");
    final Set<Long> majority = new TreeSet<>(cluster.ids());
    majority.removeAll(minority);
    final String detail = "halves " + minority + " | " + majority + ", node " + victim + " killed and restarted";
    result.faults.add(new FaultWindow("partition", detail, start, System.nanoTime()));
    await("node " + victim + " to answer after its restart", TimeUnit.SECONDS.toNanos(60),
        () -> restart.httpUpNanos != 0 ? Boolean.TRUE : null);
    result.rejoins.add(new Rejoin("heal", detail, System.nanoTime(), maxTerm.get()));
  }

  /**
   * Removes a random voter, then adds it back a few seconds later (through the leader); every
   * other time it is removed from the cluster altogether ({@code retain:false}), and comes back as
   * a learner ({@code POST /admin/learners}) before it is a voter again.
   *
   * <p>Only a full cluster loses a voter: before each removal every missing voter is restored
   * ({@link #restoreVoters}), and if that does not succeed, or the leader's configuration is joint
   * or lacks a node, the round removes nothing. After a removal the voters are restored whatever
   * its answer was: a leader that steps down after appending the joint entry answers 307/503 (and
   * the retry at the next leader 400 "not a voter") although that leader may complete the change,
   * and a 504 or no answer leaves the outcome unknown. (Skipping the re-add on such answers let a
   * 30-minute run shrink to one voter.)
   */
  private void membershipLoop() {
    int changes = 0;
    while (paceUntilPhaseEnd(settings.membershipEvery().toNanos())) {
      if (!restoreVoters("before a removal", RESTORE_NANOS)) {
        result.bump("membership_remove_skipped");
        continue; // restoreVoters noted why, unless the fault phase ended
      }
      final NodeMetrics before = leaderNow();
      final long victim = removalVictim(before, cluster.ids(), membershipRandom);
      if (victim == 0) {
        result.bump("membership_remove_skipped");
        result.note("no removal: the leader's configuration is not full or joint: "
            + (before == null ? "no leader" : "voters " + before.voterSets() + " at leader " + before.node()));
        continue;
      }
      final boolean retain = changes++ % 2 == 0;
      final long start = System.nanoTime();
      final ChaosHttp.Response removed = admin("POST", "/admin/membership",
          "{\"op\":\"remove_voters\",\"ids\":[" + victim + "],\"retain\":" + retain + "}",
          TimeUnit.SECONDS.toNanos(15));
      result.bump("membership_remove_" + (retain ? "to_learner_" : "from_cluster_") + status(removed));
      if (removed == null || removed.status() != 200) {
        result.note("remove voter " + victim + ": " + answer(removed) + " (restoring the voters anyway)");
      }
      final boolean restored = paceUntilPhaseEnd(TimeUnit.MILLISECONDS.toNanos(2000 + membershipRandom.nextInt(2000)))
          && restoreVoters("after removing voter " + victim, RESTORE_NANOS);
      result.faults.add(new FaultWindow("membership", "voter " + victim + " removed"
          + (retain ? " (kept as a learner)" : " from the cluster") + " (answer " + status(removed) + "), then "
          + (restored ? "every voter restored" : "restore pending: done at the heal"), start, System.nanoTime()));
    }
  }

  /**
   * The voter to remove, or 0 if none may go: only a non-joint configuration in which every node of
   * the cluster is a voter loses one, so a removal never leaves fewer than {@code cluster.size() - 1}
   * voters (4 of 5).
   */
  static long removalVictim(final NodeMetrics leader, final Set<Long> cluster, final Random random) {
    if (leader == null || leader.voterSets().size() != 1 || !leader.voters().containsAll(cluster)
        || leader.voters().size() - 1 < cluster.size() - 1) {
      return 0;
    }
    final List<Long> ids = new ArrayList<>(leader.voters());
    return ids.get(random.nextInt(ids.size()));
  }

  /**
   * Makes every node of the cluster a voter again, through the leader: {@code POST /admin/learners}
   * for a node that is not a member, then {@code add_voters} for the learners; retried every 300 ms
   * until the leader's configuration (not joint) has every node a voter, the timeout, or the end of
   * the fault phase (the heal restores the rest). Every refused or unanswered request, and giving
   * up, is noted.
   *
   * @return whether every node is a voter
   */
  private boolean restoreVoters(final String why, final long timeoutNanos) {
    final long deadline = System.nanoTime() + timeoutNanos;
    String state = "no leader";
    while (faultPhaseOver.getCount() > 0) {
      final NodeMetrics lead = leaderNow();
      if (lead != null && lead.voterSets().size() == 1) {
        final Set<Long> missing = new TreeSet<>(cluster.ids());
        missing.removeAll(lead.voters());
        if (missing.isEmpty()) {
          return true;
        }
        state = "voters " + lead.voters() + ", learners " + lead.learners() + " at leader " + lead.node();
        final Set<Long> learners = new TreeSet<>(missing);
        learners.retainAll(lead.learners());
        for (final long id : missing) {
          if (!lead.learners().contains(id) && faultPhaseOver.getCount() > 0) {
            final ChaosCluster.Node n = cluster.node(id);
            final ChaosHttp.Response r = admin("POST", "/admin/learners", "{\"id\":" + id + ",\"raft\":\""
                + n.raftAddress() + "\",\"http\":\"" + n.httpAddress() + "\"}", TimeUnit.SECONDS.toNanos(15));
            result.bump("membership_learner_" + status(r));
            if (r != null && r.status() == 200) {
              learners.add(id);
            } else {
              result.note("restore voter " + id + " (" + why + "): learner add: " + answer(r));
            }
          }
        }
        if (!learners.isEmpty() && faultPhaseOver.getCount() > 0) {
          final ChaosHttp.Response r = admin("POST", "/admin/membership",
              "{\"op\":\"add_voters\",\"ids\":" + learners.toString().replace(" ", "") + "}",
              TimeUnit.SECONDS.toNanos(15));
          result.bump("membership_add_" + status(r));
          if (r == null || r.status() != 200) {
            result.note("restore voters " + learners + " (" + why + "): add_voters: " + answer(r));
          }
        }
      } else if (lead != null) {
        state = "joint configuration " + lead.voterSets() + " at leader " + lead.node();
      }
      if (System.nanoTime() - deadline > 0) {
        result.bump("membership_restore_gave_up");
        result.note("restore voters (" + why + "): gave up after " + Duration.ofNanos(timeoutNanos).toSeconds()
            + " s; last seen: " + state);
        return false;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(300)); // pacing the retries
    }
    return false;
  }

  private static String answer(final ChaosHttp.Response r) {
    return r == null ? "no answer (outcome unknown)" : r.status() + " " + r.body().trim();
  }

  /**
   * Asks a random running node for a snapshot (which purges its log behind it): 200, 503 from a
   * node that is closing, or 400 from one that has applied nothing since its restart; every answer
   * is counted, any other is a problem.
   */
  private void snapshotLoop() {
    while (paceUntilPhaseEnd(settings.snapshotEvery().toNanos())) {
      final List<Long> ids = new ArrayList<>(cluster.ids());
      final long node = ids.get(snapshotRandom.nextInt(ids.size()));
      ChaosHttp.Response r = null;
      try (ChaosHttp http = new ChaosHttp(cluster.node(node).httpAddress())) {
        r = http.send("POST", "/admin/snapshot", null, 10_000);
      } catch (final IOException e) {
        // down or paused: counted as status 0
      }
      final String status = status(r);
      result.snapshotAnswers.computeIfAbsent(status, k -> new AtomicInteger()).incrementAndGet();
      // 400 "has applied nothing yet" comes from a node just restarted (nothing to snapshot).
      if (r != null && r.status() != 200 && r.status() != 503
          && !(r.status() == 400 && r.body().contains("applied nothing"))) {
        result.problems.add("POST /admin/snapshot on node " + node + " answered " + r.status() + ": " + r.body());
      }
    }
  }

  // ------------------------------------------------------------------ healing and checks

  private void healAll() throws IOException, InterruptedException {
    cluster.healNetwork();
    for (final long id : cluster.ids()) {
      if (cluster.paused(id)) {
        cluster.resume(id);
      }
      if (!cluster.running(id)) {
        final Process p = cluster.process(id);
        if (p != null) {
          result.problems.add("node " + id + " had exited by itself with " + p.exitValue() + "; see "
              + cluster.node(id).log());
          cluster.kill(id);
        }
        cluster.start(id, false);
      }
    }
  }

  /** Until one leader, every node a voter (re-added if need be), not joint, every node answering. */
  private void awaitHealthy(final long timeoutNanos) {
    final long deadline = System.nanoTime() + timeoutNanos;
    await("a leader with every node a voter and every node answering", timeoutNanos, () -> {
      checkProcesses();
      final NodeMetrics lead = leaderNow();
      if (lead == null) {
        return null;
      }
      final Set<Long> missing = new TreeSet<>(cluster.ids());
      missing.removeAll(lead.voters());
      if (!missing.isEmpty() && lead.voterSets().size() == 1) {
        for (final long id : missing) {
          if (!lead.learners().contains(id)) {
            final ChaosCluster.Node n = cluster.node(id);
            admin("POST", "/admin/learners", "{\"id\":" + id + ",\"raft\":\"" + n.raftAddress() + "\",\"http\":\""
                + n.httpAddress() + "\"}", Math.min(deadline - System.nanoTime(), TimeUnit.SECONDS.toNanos(10)));
          }
        }
        admin("POST", "/admin/membership", "{\"op\":\"add_voters\",\"ids\":" + missing.toString().replace(" ", "")
            + "}", Math.min(deadline - System.nanoTime(), TimeUnit.SECONDS.toNanos(10)));
        return null;
      }
      if (!missing.isEmpty() || lead.voterSets().size() != 1) {
        return null;
      }
      for (final long id : cluster.ids()) {
        if (metricsNow(id) == null) {
          return null;
        }
      }
      return Boolean.TRUE;
    });
  }

  private void checkProcesses() {
    for (final long id : cluster.ids()) {
      final Process p = cluster.process(id);
      if (p != null && !p.isAlive()) {
        throw new IllegalStateException("node " + id + " exited by itself with " + p.exitValue() + "; see "
            + cluster.node(id).log());
      }
    }
  }

  /**
   * Reads every register key (into the history, so a lost write breaks linearizability) and every
   * write-once key (an acknowledged one must hold its value: else it is counted lost).
   */
  private void finalReads(final ChaosClients clients, final long timeoutNanos)
      throws InterruptedException {
    final ChaosClients reader = new ChaosClients(cluster, history, settings.seed(), 0, result.originNanos);
    final List<String> keys = new ArrayList<>(new TreeSet<>(clients.registerKeys));
    final Set<String> once = new TreeSet<>(clients.acknowledgedOnce.keySet());
    once.addAll(clients.unknownOnce);
    keys.addAll(once);
    result.uniqueWritesChecked = clients.acknowledgedOnce.size();
    final long deadline = System.nanoTime() + timeoutNanos;
    final int threads = 8;
    final List<Thread> workers = new ArrayList<>();
    final List<String> failures = new CopyOnWriteArrayList<>();
    for (int t = 0; t < threads; t++) {
      final int slot = t;
      workers.add(daemon("chaos-final-read-" + t, () -> {
        final Map<Long, ChaosHttp> connections = new HashMap<>();
        try {
          for (int i = slot; i < keys.size(); i += threads) {
            final String key = keys.get(i);
            History.Op op;
            do {
              op = reader.execute(-1 - slot, connections, Kind.GET, key, null, null, false);
              if (System.nanoTime() > deadline) {
                failures.add("no final read of " + key + " before the deadline: " + op.note());
                return;
              }
            } while (op.outcome() != Outcome.OK);
            if (key.startsWith("r")) {
              history.add(op);
            } else {
              final Long acked = clients.acknowledgedOnce.get(key);
              if (acked != null && !acked.equals(op.read())) {
                synchronized (result.lostWrites) {
                  result.lostWrites.add(key + " acknowledged " + acked + ", read " + op.read() + " from node "
                      + op.node());
                }
              }
              if (acked == null && op.read() != null && !clients.unknownOnce.contains(key)) {
                failures.add(key + " holds " + op.read() + " but no write of it is known");
              }
            }
          }
        } finally {
          connections.values().forEach(ChaosHttp::close);
        }
      }));
    }
    for (final Thread w : workers) {
      w.join();
    }
    result.problems.addAll(failures);
  }

  /** A marker write, every node applying it, then the digests of all at the same applied index. */
  private void compareDigests(final long timeoutNanos) {
    final long deadline = System.nanoTime() + timeoutNanos;
    final ChaosHttp.Response marker = admin("PUT", "/kv/chaos-final-marker", "{\"value\":\"1\"}", timeoutNanos);
    if (marker == null || marker.status() != 200) {
      result.problems.add("the final marker write failed: " + (marker == null ? "no answer" : marker.body()));
      return;
    }
    final Matcher m = LOG_INDEX.matcher(marker.body());
    final long index = m.find() ? Long.parseLong(m.group(1)) : 0;
    await("every node to apply the marker at index " + index + " and agree on one applied index",
        deadline - System.nanoTime(), () -> {
          checkProcesses();
          final Map<Long, String[]> digests = new TreeMap<>();
          for (final long id : cluster.ids()) {
            final ChaosHttp.Response r = get(id, "/admin/digest", 1000);
            if (r == null || r.status() != 200) {
              return null;
            }
            final Matcher d = DIGEST.matcher(r.body());
            if (!d.find() || Long.parseLong(d.group(1)) < index) {
              return null;
            }
            digests.put(id, new String[] {d.group(1), d.group(2), d.group(3)});
          }
          if (digests.values().stream().map(d -> d[0]).distinct().count() != 1) {
            return null; // a new leader's blank entry still applying somewhere
          }
          digests.forEach((id, d) -> result.digests.put(id, "index=" + d[0] + " keys=" + d[1] + " sha256=" + d[2]));
          result.convergedIndex = Long.parseLong(digests.values().iterator().next()[0]);
          result.digestsEqual = digests.values().stream().map(d -> d[2]).distinct().count() == 1;
          return Boolean.TRUE;
        });
  }

  // ------------------------------------------------------------------ observation

  /** Polls one node's metrics every 100 ms while the run lasts; resolves restarts and leader kills. */
  private void poll(final long id) {
    while (!stopped) {
      if (cluster.running(id) && !cluster.paused(id)) {
        final NodeMetrics m = metricsNow(id);
        final long now = System.nanoTime();
        if (m != null) {
          for (final Restart r : result.restarts) {
            if (r.node == id && r.httpUpNanos == 0 && r.startNanos < now) {
              r.httpUpNanos = now;
            }
            if (r.node == id && r.caughtUpNanos == 0 && r.startNanos < now && m.applied() >= r.targetCommit) {
              r.caughtUpNanos = now;
            }
          }
          if (m.isLeader()) {
            for (final LeaderKill k : result.leaderKills) {
              if (k.electedNanos == 0 && m.node() != k.node && m.term() > k.term && k.killNanos < now) {
                k.electedNanos = now;
              }
            }
          }
          final long before = maxTerm.getAndAccumulate(m.term(), Math::max);
          if (m.term() > before) {
            result.termTimeline.add(new long[] {now, m.term()});
          }
        }
      }
      LockSupport.parkNanos(POLL_NANOS); // the poll period
    }
  }

  /**
   * Records the voter count of the leader's configuration (the leader of the highest term among the
   * latest polls) whenever it changes, every 100 ms while the run lasts.
   */
  private void sampleVoters() {
    long last = -1;
    while (!stopped) {
      NodeMetrics lead = null;
      for (final NodeMetrics m : latest.values()) {
        if (m.isLeader() && (lead == null || m.term() > lead.term())) {
          lead = m;
        }
      }
      if (lead != null && voterCount(lead) != last) {
        last = voterCount(lead);
        result.voterTimeline.add(new long[] {System.nanoTime(), last});
      }
      LockSupport.parkNanos(POLL_NANOS); // the sampling period
    }
  }

  /** The voters of a configuration: the smaller voter set while it is joint (both majorities count). */
  static int voterCount(final NodeMetrics m) {
    return m.voterSets().stream().mapToInt(Set::size).min().orElse(0);
  }

  /**
   * The voter counts between {@code from} and {@code to}, from a timeline of {nanos, voters} at each
   * change (a count holds until the next change).
   */
  static VoterTime voterTime(final List<long[]> changes, final long from, final long to, final int full) {
    int min = Integer.MAX_VALUE;
    long belowFull = 0;
    long belowFew = 0;
    for (int i = 0; i < changes.size(); i++) {
      final long start = Math.max(from, changes.get(i)[0]);
      final long end = Math.min(to, i + 1 < changes.size() ? changes.get(i + 1)[0] : to);
      if (end <= start) {
        continue;
      }
      final int count = (int) changes.get(i)[1];
      min = Math.min(min, count);
      if (count < full) {
        belowFull += end - start;
      }
      if (count < FEW_VOTERS) {
        belowFew += end - start;
      }
    }
    return new VoterTime(min == Integer.MAX_VALUE ? -1 : min, belowFull, belowFew);
  }

  /**
   * The verdict on the voter counts: a problem if the fault phase spent more than {@link
   * #MAX_TIME_BELOW_FEW_VOTERS} in total with fewer than {@link #FEW_VOTERS} voters (the heal, which
   * restores every voter, is not counted); else {@code null}.
   */
  static String voterProblem(final VoterTime t) {
    if (t == null || t.nanosBelowFew() <= MAX_TIME_BELOW_FEW_VOTERS.toNanos()) {
      return null;
    }
    return String.format(java.util.Locale.ROOT,
        "the cluster had fewer than %d voters for %.1f s of the fault phase (at most %d s allowed; fewest %d):"
            + " the membership nemesis did not restore the voters it removed",
        FEW_VOTERS, t.nanosBelowFew() / 1e9, MAX_TIME_BELOW_FEW_VOTERS.toSeconds(), t.min());
  }

  /** Node {@code id}'s metrics now (and remembered as the latest), or {@code null} if it does not answer. */
  private NodeMetrics metricsNow(final long id) {
    final ChaosHttp.Response r = get(id, "/admin/metrics", 500);
    if (r == null || r.status() != 200) {
      return null;
    }
    final NodeMetrics m = NodeMetrics.parse(r.body());
    latest.put(id, m);
    return m;
  }

  /** The leader of the highest term among the nodes that answer now, or {@code null}. */
  private NodeMetrics leaderNow() {
    NodeMetrics best = null;
    for (final long id : cluster.ids()) {
      if (cluster.running(id) && !cluster.paused(id)) {
        final NodeMetrics m = metricsNow(id);
        if (m != null && m.isLeader() && (best == null || m.term() > best.term())) {
          best = m;
        }
      }
    }
    return best;
  }

  private long randomRunning() {
    final List<Long> running = new ArrayList<>();
    for (final long id : cluster.ids()) {
      if (cluster.running(id)) {
        running.add(id);
      }
    }
    return running.get(random.nextInt(running.size()));
  }

  private void closeRejoins() {
    for (final Rejoin r : result.rejoins) {
      if (r.termAfter < 0) {
        r.termAfter = maxTerm.get();
      }
    }
  }

  // ------------------------------------------------------------------ HTTP helpers

  private ChaosHttp.Response get(final long id, final String path, final int timeoutMillis) {
    try (ChaosHttp http = new ChaosHttp(cluster.node(id).httpAddress())) {
      return http.send("GET", path, null, timeoutMillis);
    } catch (final IOException e) {
      return null;
    }
  }

  /**
   * Sends a request to the leader (following 307, retrying elsewhere while no node takes it) until
   * an answer other than 307/503 or the timeout; {@code null} if none came.
   */
  private ChaosHttp.Response admin(final String method, final String path, final String body, final long timeoutNanos) {
    final long deadline = System.nanoTime() + timeoutNanos;
    final NodeMetrics lead = leaderNow();
    final List<Long> ids = new ArrayList<>(cluster.ids());
    long target = lead != null ? lead.node() : ids.get(0);
    ChaosHttp.Response last = null;
    while (System.nanoTime() < deadline) {
      try (ChaosHttp http = new ChaosHttp(cluster.node(target).httpAddress())) {
        last = http.send(method, path, body, 10_000);
        if (last.status() == 307 && last.location() != null) {
          final String hostPort = last.location().substring(7, last.location().indexOf('/', 7));
          final long from = target;
          target = cluster.nodes().stream().filter(n -> n.httpAddress().equals(hostPort))
              .mapToLong(ChaosCluster.Node::id).findFirst().orElse(from);
          if (target != from) {
            continue;
          }
        } else if (last.status() != 503) {
          return last;
        }
      } catch (final ChaosHttp.MaybeSent e) {
        return null; // the outcome is unknown; the caller checks the state
      } catch (final ChaosHttp.NotSent e) {
        // try the next node
      }
      target = ids.get((ids.indexOf(target) + 1) % ids.size());
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // pacing the retries
    }
    return last;
  }

  private static String status(final ChaosHttp.Response r) {
    return r == null ? "0" : Integer.toString(r.status());
  }

  // ------------------------------------------------------------------ time

  /** Polls {@code probe} until it returns non-null; fails with {@code what} after the timeout. */
  static <T> T await(final String what, final long timeoutNanos, final Supplier<T> probe) {
    final long deadline = System.nanoTime() + timeoutNanos;
    while (true) {
      final T value = probe.get();
      if (value != null) {
        return value;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("gave up after " + Duration.ofNanos(timeoutNanos).toSeconds()
            + " s waiting for " + what);
      }
      LockSupport.parkNanos(POLL_NANOS); // the poll period of a wait bounded by the deadline
    }
  }

  /** Paces the fault schedule (not a wait for a condition). */
  private static void pace(final long nanos) throws InterruptedException {
    TimeUnit.NANOSECONDS.sleep(nanos);
  }

  /** Paces a background nemesis; {@code false} once the fault phase is over. */
  private boolean paceUntilPhaseEnd(final long nanos) {
    try {
      return !faultPhaseOver.await(nanos, TimeUnit.NANOSECONDS);
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private long millis(final int min, final int max) {
    return TimeUnit.MILLISECONDS.toNanos(min + random.nextInt(max - min + 1));
  }

  private static Thread daemon(final String name, final Runnable body) {
    final Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** Figures for the log line of a run. */
  static Map<String, Object> summary(final Result r) {
    final Map<String, Object> out = new LinkedHashMap<>();
    out.put("kills", r.count("kill"));
    out.put("partitions", r.count("partition"));
    out.put("pauses", r.count("pause"));
    out.put("ops", r.ops.size());
    out.put("linearizable", r.linearizability == null ? null : r.linearizability.ok());
    out.put("lost", r.lostWrites.size());
    out.put("digests_equal", r.digestsEqual);
    out.put("min_voters", r.voterTime == null ? null : r.voterTime.min());
    return out;
  }
}
