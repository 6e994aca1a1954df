package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ELECTION_MAX;
import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ReadPolicy;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import io.raftkit.api.error.InvalidRequestException;
import io.raftkit.api.error.LeadershipTransferException;
import io.raftkit.api.error.LeaseExpiredException;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.TimeoutNowRequest;
import io.raftkit.api.message.TimeoutNowResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Leadership transfer (thesis §3.10): catch the target up, TimeoutNow, the target wins at once. */
class LeadershipTransferTest {
  private static final Membership THREE = members(1, 2, 3);

  private static Engine leader() {
    final Engine engine = node(1, THREE).buildLeader(1);
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.endBatch();
    drain(engine);
    return engine;
  }

  @Test
  void shouldStopTakingWritesAndSendTimeoutNowOnceTheTargetIsUpToDate() {
    final Engine engine = leader();
    engine.handleTransferLeader(3, "t");
    // Node 3 has not matched the blank yet: no TimeoutNow.
    assertThat(drain(engine)).noneMatch(c -> c instanceof Command.SendTimeoutNow);
    assertThatThrownBy(() -> engine.handleClientWrite(new byte[] {1}))
        .isInstanceOfSatisfying(NotLeaderException.class, e -> assertThat(e.leaderId()).isEqualTo(3));

    engine.handleAppendResponse(3, ack(1, 2), 0);

    assertThat(drain(engine)).contains(new Command.SendTimeoutNow(3, new TimeoutNowRequest(1, 1)));
  }

  @Test
  void shouldCampaignAtOnceOnTimeoutNowWithTheTransferFlagThatVotersLetThroughTheirLease() {
    final Engine follower = node(3, THREE).vote(new Vote(1, 1, true)).build();
    follower.handleAppendRequest(1, Engines.append(1, 1, LogId.of(0, 1), 1), "a");
    drain(follower);

    follower.handleTimeoutNow(1, new TimeoutNowRequest(1, 1), "tn");

    final List<Command> out = drain(follower);
    assertThat(out).contains(new Command.Reply("tn", new TimeoutNowResponse(1, true), 0));
    assertThat(follower.state()).isEqualTo(ServerState.CANDIDATE);
    assertThat(follower.vote()).isEqualTo(new Vote(2, 3, false));
    assertThat(out).anyMatch(c -> c instanceof Command.SendVote v && v.request().leadershipTransfer()
        && !v.request().preVote() && v.request().term() == 2);

    // A voter that just heard from the leader refuses an ordinary candidate but not a transfer.
    final Engine voter = node(2, THREE).vote(new Vote(1, 1, true)).build();
    voter.handleAppendRequest(1, Engines.append(1, 1, LogId.of(0, 1), 1), "a");
    drain(voter);
    voter.handleVoteRequest(3, new VoteRequest(2, 3, LogId.of(0, 1), false), "plain");
    assertThat(drain(voter)).containsExactly(new Command.Reply("plain", new VoteResponse(1, false, false), 0));
    voter.handleVoteRequest(3, new VoteRequest(2, 3, LogId.of(0, 1), false, true), "transfer");
    assertThat(drain(voter)).contains(new Command.Reply("transfer", new VoteResponse(2, true, false), voter.ioSeq()));
  }

  @Test
  void shouldCompleteWhenTheTargetLeadsAndFailAndResumeWhenItDoesNot() {
    final Engine engine = leader();
    engine.handleTransferLeader(3, "t");
    engine.handleAppendResponse(3, ack(1, 2), 0);
    drain(engine);
    // The target won term 2: its append makes the old leader follow it.
    engine.handleAppendRequest(3, Engines.append(2, 3, LogId.of(1, 2), 2), "a");
    assertThat(drain(engine)).contains(new Command.Complete("t", null));

    final Engine stuck = leader();
    final long start = stuck.nextDeadlineNanos() - Engines.HEARTBEAT;
    stuck.tick(start);
    stuck.handleTransferLeader(3, "t2");
    drain(stuck);
    stuck.tick(start + 2 * ELECTION_MAX);
    final List<Command> out = drain(stuck);
    assertThat(out).anyMatch(c -> c instanceof Command.Fail f && f.replyTo().equals("t2")
        && f.error() instanceof LeadershipTransferException);
    // Node 3 never answered: with check-quorum the leader may have stepped down; if it leads, it
    // takes writes again.
    if (stuck.state() == ServerState.LEADER) {
      assertThat(stuck.handleClientWrite(new byte[] {1}).term()).isEqualTo(1);
    }
  }

  /**
   * A transfer target campaigns with the transfer flag, which voters let through their lease
   * (thesis §3.10): once the transfer starts another leader may be elected and commit at once, so
   * the old leader's lease (thesis §6.4.1) no longer proves that its commit index is the latest.
   */
  @Test
  void shouldRefuseLeaseReadsOnceATransferStarts() {
    final Engine engine = leader();
    engine.handleApplied(engine.committed());
    final long t0 = engine.nextDeadlineNanos() - Engines.HEARTBEAT;
    engine.tick(t0);
    engine.handleTriggerHeartbeat();
    drain(engine);
    engine.handleAppendResponse(2, AppendResponse.success(1, 2), -2);
    drain(engine);
    engine.handleRead(ReadPolicy.LEASE, "before");
    assertThat(drain(engine)).containsExactly(new Command.ReadReady("before", LogId.of(1, 2)));

    engine.handleTransferLeader(2, "t");
    drain(engine);
    engine.handleRead(ReadPolicy.LEASE, "during");

    assertThat(drain(engine)).singleElement().isInstanceOfSatisfying(Command.ReadFailed.class,
        f -> assertThat(f.error()).isInstanceOf(LeaseExpiredException.class).hasMessageContaining("transfer"));
  }

  @Test
  void shouldRefuseATransferToANonVoterOrDuringAnother() {
    final Engine engine = leader();
    assertThatThrownBy(() -> engine.handleTransferLeader(9, "x"))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("node 9 is not a voter");
    engine.handleTransferLeader(2, "t");
    assertThatThrownBy(() -> engine.handleTransferLeader(3, "x"))
        .isInstanceOf(InvalidRequestException.class).hasMessageContaining("in progress");
    final Engine follower = node(2, THREE).build();
    assertThatThrownBy(() -> follower.handleTransferLeader(1, "x")).isInstanceOf(NotLeaderException.class);
  }
}
