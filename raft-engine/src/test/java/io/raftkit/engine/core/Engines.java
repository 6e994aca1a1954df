package io.raftkit.engine.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.VoteResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Builds engines in a known state for the engine tests: no threads, no clock, no mocks. Every
 * builder returns an engine whose command queue is drained, so a test sees only what its one
 * handler call emits.
 */
final class Engines {
  static final long MS = 1_000_000L;
  static final long ELECTION_MIN = 100 * MS;
  static final long ELECTION_MAX = 200 * MS;
  static final long HEARTBEAT = 20 * MS;

  private Engines() {}

  /**
   * The test config: election timeout [100 ms, 200 ms), heartbeat 20 ms, 3 appends in flight,
   * commit-only appends without linger.
   */
  static Config.Builder configBuilder() {
    return Config.builder()
        .electionTimeout(Duration.ofNanos(ELECTION_MIN), Duration.ofNanos(ELECTION_MAX))
        .heartbeatInterval(Duration.ofNanos(HEARTBEAT))
        .maxInflightAppends(3)
        .maxEntriesPerAppend(64)
        .commitLinger(Duration.ZERO); // commit-only appends at once, as most tests expect; CommitLingerTest sets it
  }

  static Config config() {
    return configBuilder().build();
  }

  /** A uniform membership of voters {@code ids}; node {@code n} is at {@code "node-n:700n"}. */
  static Membership members(final long... ids) {
    final TreeMap<Long, String> nodes = new TreeMap<>();
    for (final long id : ids) {
      nodes.put(id, address(id));
    }
    return Membership.ofVoters(nodes);
  }

  static String address(final long id) {
    return "node-" + id + ":" + (7000 + id);
  }

  /** The membership entry every test log starts with: {@code (0,1)}. */
  static Entry membershipEntry(final Membership membership) {
    return Entry.membership(LogId.of(0, 1), membership);
  }

  /** A command entry whose payload names its id, e.g. "2-5". */
  static Entry normal(final long term, final long index) {
    return Entry.normal(LogId.of(term, index), (term + "-" + index).getBytes(StandardCharsets.UTF_8));
  }

  static Entry sized(final long term, final long index, final int payloadBytes) {
    return Entry.normal(LogId.of(term, index), new byte[payloadBytes]);
  }

  static Entry blank(final long term, final long index) {
    return Entry.blank(LogId.of(term, index));
  }

  static Builder node(final long id, final Membership membership) {
    return new Builder(id, membership);
  }

  /** A started follower of a fresh cluster: log = the membership entry, vote none, at time 0. */
  static Engine fresh(final long id, final Membership membership) {
    return node(id, membership).build();
  }

  /** Moves the commands emitted so far into a new list. */
  static List<Command> drain(final Engine engine) {
    final List<Command> out = new ArrayList<>();
    engine.drainCommands(out);
    return out;
  }

  /** The log writer reports every IO issued so far done. */
  static void completeIo(final Engine engine) {
    if (engine.ioSeq() > 0) {
      engine.handleIoDone(engine.ioSeq());
    }
  }

  /** A heartbeat-free append request from {@code leader} of {@code term}. */
  static AppendRequest append(
      final long term, final long leader, final LogId prev, final long leaderCommit, final Entry... entries) {
    return new AppendRequest(term, leader, prev, List.of(entries), leaderCommit);
  }

  /** Builds one engine. */
  static final class Builder {
    private final long id;
    private final Membership membership;
    private Config config = Engines.config();
    private long seed = 42;
    private Vote vote = Vote.NONE;
    private LogId committedHint = LogId.ZERO;
    private final List<Entry> entries = new ArrayList<>();
    private long startNanos;

    Builder(final long id, final Membership membership) {
      this.id = id;
      this.membership = membership;
      entries.add(membershipEntry(membership));
    }

    Builder config(final Config c) {
      this.config = c;
      return this;
    }

    Builder seed(final long s) {
      this.seed = s;
      return this;
    }

    Builder vote(final Vote v) {
      this.vote = v;
      return this;
    }

    Builder committedHint(final LogId c) {
      this.committedHint = c;
      return this;
    }

    /** Entries recovered after the membership entry at index 1. */
    Builder log(final Entry... more) {
      entries.addAll(Arrays.asList(more));
      return this;
    }

    Builder startAt(final long nanos) {
      this.startNanos = nanos;
      return this;
    }

    /** The started engine, commands drained. */
    Engine build() {
      final Engine engine =
          new Engine(id, config, new SplittableRandom(seed), vote, LogId.ZERO, committedHint, LogId.ZERO);
      for (final Entry e : entries) {
        engine.recoverEntry(e);
      }
      engine.start(startNanos);
      drain(engine);
      return engine;
    }

    /**
     * A leader of {@code term}: recovers with vote {@code (term - 1)}, times out, wins the pre-vote
     * and the vote from every peer, saves its vote, and becomes leader at time {@link
     * Engine#nextDeadlineNanos()} of the started node. The blank entry it appends is durable when
     * {@code syncBlank}; each follower then has that blank append in flight (epoch 0, probe mode).
     */
    Engine buildLeader(final long term, final boolean syncBlank) {
      vote = new Vote(term - 1, 0, false);
      final Engine engine = build();
      engine.tick(engine.nextDeadlineNanos());
      for (final long peer : membership.voterIds()) {
        if (peer != id) {
          engine.handleVoteResponse(peer, new VoteResponse(term - 1, true, true));
        }
      }
      for (final long peer : membership.voterIds()) {
        if (peer != id) {
          engine.handleVoteResponse(peer, new VoteResponse(term, true, false));
        }
      }
      engine.handleIoDone(engine.ioSeq());
      assertThat(engine.state()).isEqualTo(ServerState.LEADER);
      assertThat(engine.vote()).isEqualTo(new Vote(term, id, true));
      if (syncBlank) {
        completeIo(engine);
      }
      drain(engine);
      return engine;
    }

    Engine buildLeader(final long term) {
      return buildLeader(term, true);
    }
  }

  /** A success response of {@code term} acknowledging {@code matchIndex}. */
  static AppendResponse ack(final long term, final long matchIndex) {
    return AppendResponse.success(term, matchIndex);
  }
}
