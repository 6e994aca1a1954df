package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.HEARTBEAT;
import static io.raftkit.engine.core.Engines.append;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.fresh;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static io.raftkit.engine.core.Engines.normal;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import org.junit.jupiter.api.Test;

/** {@link Engine#handleVoteRequest}: RequestVote and pre-vote on the voter's side (§5.2, §5.4.1). */
class VoteRequestTest {
  private static final Membership THREE = members(1, 2, 3);
  private static final LogId FIRST = LogId.of(0, 1);

  /** Node 1 with log (0,1) (2,2) (3,3) and vote term 3, nobody. */
  private static Engine voterWithLogUpTo33() {
    return node(1, THREE).vote(new Vote(3, 0, false)).log(normal(2, 2), normal(3, 3)).build();
  }

  @Test
  void shouldRejectAVoteRequestWithAStaleTerm() {
    // §5.1 / Figure 2 RequestVote: "Reply false if term < currentTerm".
    final Engine engine = node(1, THREE).vote(new Vote(5, 0, false)).build();
    final long deadline = engine.nextDeadlineNanos();

    engine.handleVoteRequest(2, new VoteRequest(4, 2, LogId.of(4, 9), false), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(5, false, false), 0));
    assertThat(engine.vote()).isEqualTo(new Vote(5, 0, false));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.nextDeadlineNanos()).isEqualTo(deadline);
  }

  @Test
  void shouldGrantAVoteAndReplyOnlyOnceTheVoteIsDurable() {
    // §5.2: grant if votedFor is null; thesis §3.8: the reply waits for the vote to be saved.
    final Engine engine = fresh(1, THREE);

    engine.handleVoteRequest(2, new VoteRequest(1, 2, FIRST, false), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(1, 0, false), 1),
            new Command.SaveVote(new Vote(1, 2, false), 2),
            new Command.Reply("r", new VoteResponse(1, true, false), 2));
    assertThat(engine.vote()).isEqualTo(new Vote(1, 2, false));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
  }

  @Test
  void shouldGrantAtMostOneVotePerTerm() {
    // §5.2: "Each server will vote for at most one candidate in a given term".
    final Engine engine = fresh(1, THREE);
    engine.handleVoteRequest(2, new VoteRequest(1, 2, FIRST, false), "r2");
    drain(engine);

    engine.handleVoteRequest(3, new VoteRequest(1, 3, FIRST, false), "r3");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r3", new VoteResponse(1, false, false), 0));
    assertThat(engine.vote()).isEqualTo(new Vote(1, 2, false));
  }

  @Test
  void shouldGrantARepeatedRequestOfTheSameCandidateWithoutSavingAgain() {
    final Engine engine = fresh(1, THREE);
    engine.handleVoteRequest(2, new VoteRequest(1, 2, FIRST, false), "r1");
    drain(engine);

    engine.handleVoteRequest(2, new VoteRequest(1, 2, FIRST, false), "r2");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r2", new VoteResponse(1, true, false), 2));
    assertThat(engine.vote()).isEqualTo(new Vote(1, 2, false));
  }

  @Test
  void shouldRefuseAVoteAsACandidateOfTheSameTerm() {
    // §5.2: a candidate has voted for itself.
    final Engine engine = fresh(1, THREE);
    engine.tick(engine.nextDeadlineNanos());
    engine.handleVoteResponse(2, new VoteResponse(0, true, true));
    drain(engine);

    engine.handleVoteRequest(3, new VoteRequest(1, 3, FIRST, false), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(1, false, false), 0));
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);
    assertThat(engine.vote()).isEqualTo(new Vote(1, 1, false));
  }

  @Test
  void shouldStepDownAsCandidateAndGrantOnAHigherTermRequest() {
    // §5.1: a higher term makes a candidate revert to follower and adopt the term.
    final Engine engine = fresh(1, THREE);
    engine.tick(engine.nextDeadlineNanos());
    engine.handleVoteResponse(2, new VoteResponse(0, true, true));
    drain(engine);

    engine.handleVoteRequest(3, new VoteRequest(2, 3, FIRST, false), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(2, 0, false), 2),
            new Command.SaveVote(new Vote(2, 3, false), 3),
            new Command.Reply("r", new VoteResponse(2, true, false), 3));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.vote()).isEqualTo(new Vote(2, 3, false));
  }

  @Test
  void shouldRefuseACandidateWhoseLastTermIsLower() {
    // §5.4.1: "If the logs have last entries with different terms, then the log with the later
    // term is more up-to-date" — even if the other log is longer.
    final Engine engine = voterWithLogUpTo33();

    engine.handleVoteRequest(2, new VoteRequest(4, 2, LogId.of(2, 10), false), "r");

    // The higher term is adopted even though the vote is refused.
    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(4, 0, false), 1),
            new Command.Reply("r", new VoteResponse(4, false, false), 0));
    assertThat(engine.vote()).isEqualTo(new Vote(4, 0, false));
  }

  @Test
  void shouldRefuseACandidateWithTheSameLastTermAndAShorterLog() {
    // §5.4.1: "If the logs end with the same term, then whichever log is longer is more
    // up-to-date."
    final Engine engine = voterWithLogUpTo33();

    engine.handleVoteRequest(2, new VoteRequest(4, 2, LogId.of(3, 2), false), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(4, 0, false), 1),
            new Command.Reply("r", new VoteResponse(4, false, false), 0));
  }

  @Test
  void shouldGrantACandidateWhoseLogIsAtLeastAsUpToDate() {
    // §5.4.1: same last id, a longer log of the same term, or a higher last term are all fine.
    for (final LogId candidateLast : new LogId[] {LogId.of(3, 3), LogId.of(3, 7), LogId.of(4, 1)}) {
      final Engine engine = voterWithLogUpTo33();

      engine.handleVoteRequest(2, new VoteRequest(5, 2, candidateLast, false), "r");

      assertThat(drain(engine))
          .as("candidate last log id %s", candidateLast)
          .containsExactly(
              new Command.SaveVote(new Vote(5, 0, false), 1),
              new Command.SaveVote(new Vote(5, 2, false), 2),
              new Command.Reply("r", new VoteResponse(5, true, false), 2));
    }
  }

  @Test
  void shouldResetTheElectionTimerWhenGrantingAVote() {
    // §5.2: a follower that grants a vote does not time out right after.
    final Engine engine = fresh(1, THREE);
    engine.tick(engine.nextDeadlineNanos() - 1);
    final long now = engine.nextDeadlineNanos() - 1;

    engine.handleVoteRequest(2, new VoteRequest(1, 2, FIRST, false), "r");

    assertThat(engine.nextDeadlineNanos()).isGreaterThanOrEqualTo(now + Engines.ELECTION_MIN);
  }

  @Test
  void shouldGrantAPreVoteWithoutChangingTheTerm() {
    // Thesis §9.6: a pre-vote changes nobody's term, so it needs no IO.
    final Engine engine = node(1, THREE).vote(new Vote(3, 0, false)).build();
    final long deadline = engine.nextDeadlineNanos();

    engine.handleVoteRequest(2, new VoteRequest(4, 2, FIRST, true), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(3, true, true), 0));
    assertThat(engine.vote()).isEqualTo(new Vote(3, 0, false));
    assertThat(engine.ioSeq()).isZero();
    assertThat(engine.nextDeadlineNanos()).isEqualTo(deadline);
  }

  @Test
  void shouldGrantAPreVoteEvenAfterVotingInTheCurrentTerm() {
    // A pre-vote asks about the next term, where this node has not voted yet.
    final Engine engine = node(1, THREE).vote(new Vote(3, 3, false)).build();

    engine.handleVoteRequest(2, new VoteRequest(4, 2, FIRST, true), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(3, true, true), 0));
  }

  @Test
  void shouldRefuseAPreVoteForATermNotAboveTheCurrentOne() {
    final Engine engine = node(1, THREE).vote(new Vote(3, 0, false)).build();

    engine.handleVoteRequest(2, new VoteRequest(3, 2, FIRST, true), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(3, false, true), 0));
  }

  @Test
  void shouldRefuseAPreVoteFromACandidateWhoseLogIsBehind() {
    // §5.4.1 applied to the pre-vote.
    final Engine engine = voterWithLogUpTo33();

    engine.handleVoteRequest(2, new VoteRequest(4, 2, LogId.of(2, 2), true), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(3, false, true), 0));
    assertThat(engine.vote()).isEqualTo(new Vote(3, 0, false));
  }

  /** Node 1 following leader 3 of term 3, last heard from at time {@code now}. */
  private static Engine followerInLease() {
    final Engine engine = node(1, THREE).vote(new Vote(3, 3, true)).build();
    engine.tick(HEARTBEAT);
    engine.handleAppendRequest(3, append(3, 3, FIRST, 0), "hb");
    engine.tick(2 * HEARTBEAT);
    drain(engine);
    return engine;
  }

  @Test
  void shouldRefuseAPreVoteWhileHearingFromALeader() {
    // Thesis §4.2.3 / §9.6: a node that hears from a leader does not help depose it.
    final Engine engine = followerInLease();

    engine.handleVoteRequest(2, new VoteRequest(4, 2, FIRST, true), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(3, false, true), 0));
    assertThat(engine.leaderId()).isEqualTo(3);
  }

  @Test
  void shouldRefuseAHigherTermVoteWhileHearingFromALeaderWithoutAdoptingTheTerm() {
    // Thesis §4.2.3: "if a server receives a RequestVote request within the minimum election
    // timeout of hearing from a current leader, it does not update its term or grant its vote".
    final Engine engine = followerInLease();

    engine.handleVoteRequest(2, new VoteRequest(4, 2, LogId.of(9, 9), false), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(3, false, false), 0));
    assertThat(engine.vote()).isEqualTo(new Vote(3, 3, true));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.leaderId()).isEqualTo(3);
  }

  @Test
  void shouldRefuseAVoteInTheTermOfAnEstablishedLeader() {
    // The vote is committed to the known leader: no other candidate can win this term.
    final Engine engine = followerInLease();

    engine.handleVoteRequest(2, new VoteRequest(3, 2, LogId.of(9, 9), false), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(3, false, false), 0));
  }

  @Test
  void shouldRefuseAPreVoteAsLeaderWithCheckQuorum() {
    final Engine engine = node(1, THREE).buildLeader(2);

    engine.handleVoteRequest(2, new VoteRequest(3, 2, LogId.of(9, 9), true), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", new VoteResponse(2, false, true), 0));
    assertThat(engine.state()).isEqualTo(ServerState.LEADER);
  }
}
