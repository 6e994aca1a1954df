package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ELECTION_MAX;
import static io.raftkit.engine.core.Engines.ELECTION_MIN;
import static io.raftkit.engine.core.Engines.HEARTBEAT;
import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import org.junit.jupiter.api.Test;

/** The leader's check-quorum on {@link Engine#tick} (thesis §6.2). */
class CheckQuorumTest {
  private static final Membership THREE = members(1, 2, 3);

  @Test
  void shouldStepDownWhenNoFollowerAnsweredForTheMaximumElectionTimeout() {
    // Thesis §6.2: "a leader steps down if an election timeout elapses without a successful round
    // of heartbeats to a majority of its cluster".
    final Engine engine = node(1, THREE).buildLeader(1);
    final long elected = engine.nextDeadlineNanos() - HEARTBEAT;
    final long now = elected + ELECTION_MAX;

    engine.tick(now);

    // The heartbeats due at this tick still go out; no vote is saved (the term is unchanged).
    assertThat(drain(engine))
        .containsExactly(
            new Command.SendAppend(2, 1, LogId.ZERO, 1, 1, 0, -2),
            new Command.SendAppend(3, 1, LogId.ZERO, 1, 1, 0, -2));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.leaderId()).isZero();
    assertThat(engine.vote()).isEqualTo(new Vote(1, 1, true));
    assertThat(engine.replication()).isEmpty();
    assertThat(engine.nextDeadlineNanos()).isBetween(now + ELECTION_MIN, now + ELECTION_MAX - 1);
  }

  @Test
  void shouldStayLeaderWhileAQuorumAnswers() {
    final Engine engine = node(1, THREE).buildLeader(1);
    final long elected = engine.nextDeadlineNanos() - HEARTBEAT;
    engine.tick(elected + ELECTION_MAX / 2);
    engine.handleAppendResponse(2, ack(1, 0), -1);
    drain(engine);

    engine.tick(elected + ELECTION_MAX);

    assertThat(engine.state()).isEqualTo(ServerState.LEADER);
    assertThat(engine.nextDeadlineNanos()).isEqualTo(elected + ELECTION_MAX + HEARTBEAT);
  }

  @Test
  void shouldNotCheckBeforeTheMaximumElectionTimeout() {
    final Engine engine = node(1, THREE).buildLeader(1);
    final long elected = engine.nextDeadlineNanos() - HEARTBEAT;

    engine.tick(elected + ELECTION_MAX - 1);

    assertThat(engine.state()).isEqualTo(ServerState.LEADER);
  }

  @Test
  void shouldNeverStepDownWithCheckQuorumOff() {
    final Config config = Engines.configBuilder().checkQuorum(false).build();
    final Engine engine = node(1, THREE).config(config).buildLeader(1);
    final long elected = engine.nextDeadlineNanos() - HEARTBEAT;

    engine.tick(elected + 10 * ELECTION_MAX);

    assertThat(engine.state()).isEqualTo(ServerState.LEADER);
    assertThat(drain(engine)).hasSize(2);
  }
}
