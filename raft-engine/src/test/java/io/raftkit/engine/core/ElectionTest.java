package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ELECTION_MAX;
import static io.raftkit.engine.core.Engines.ELECTION_MIN;
import static io.raftkit.engine.core.Engines.blank;
import static io.raftkit.engine.core.Engines.completeIo;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.fresh;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static io.raftkit.engine.core.Engines.normal;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Elections driven by {@link Engine#tick} and {@link Engine#handleVoteResponse} (§5.2). */
class ElectionTest {
  private static final Membership THREE = members(1, 2, 3);
  private static final LogId FIRST = LogId.of(0, 1);

  @Test
  void shouldArmTheElectionTimerWithinTheConfiguredRangeOnStart() {
    // §5.2: "election timeouts are chosen randomly from a fixed interval".
    for (long seed = 0; seed < 50; seed++) {
      final Engine engine = node(1, THREE).seed(seed).startAt(1_000).build();
      assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
      assertThat(engine.nextDeadlineNanos()).isBetween(1_000 + ELECTION_MIN, 1_000 + ELECTION_MAX - 1);
    }
  }

  @Test
  void shouldDoNothingBeforeTheElectionTimeout() {
    final Engine engine = fresh(1, THREE);
    final long deadline = engine.nextDeadlineNanos();

    engine.tick(deadline - 1);

    assertThat(drain(engine)).isEmpty();
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.nextDeadlineNanos()).isEqualTo(deadline);
  }

  @Test
  void shouldSendPreVoteRequestsToEveryOtherVoterOnElectionTimeout() {
    // §5.2 with pre-vote (thesis §9.6): a timed-out follower first asks whether it could win,
    // without changing its term and so without saving anything.
    final Engine engine = fresh(1, THREE);
    final long deadline = engine.nextDeadlineNanos();

    engine.tick(deadline);

    final VoteRequest pre = new VoteRequest(1, 1, FIRST, true);
    assertThat(drain(engine))
        .containsExactly(new Command.SendVote(2, pre, 0), new Command.SendVote(3, pre, 0));
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);
    assertThat(engine.vote()).isEqualTo(Vote.NONE);
    assertThat(engine.leaderId()).isZero();
    assertThat(engine.ioSeq()).isZero();
    assertThat(engine.nextDeadlineNanos()).isBetween(deadline + ELECTION_MIN, deadline + ELECTION_MAX - 1);
  }

  @Test
  void shouldStartTheRealElectionOnAPreVoteQuorum() {
    // §5.2: "a follower increments its current term ... votes for itself and issues RequestVote
    // RPCs". The requests wait for the vote to be durable (awaitIo).
    final Engine engine = fresh(1, THREE);
    engine.tick(engine.nextDeadlineNanos());
    drain(engine);

    engine.handleVoteResponse(2, new VoteResponse(0, true, true));

    final VoteRequest request = new VoteRequest(1, 1, FIRST, false);
    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(1, 1, false), 1),
            new Command.SendVote(2, request, 1),
            new Command.SendVote(3, request, 1));
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);
    assertThat(engine.vote()).isEqualTo(new Vote(1, 1, false));
    assertThat(engine.ioSeq()).isEqualTo(1);
  }

  @Test
  void shouldIgnoreARefusedPreVote() {
    final Engine engine = fresh(1, THREE);
    engine.tick(engine.nextDeadlineNanos());
    drain(engine);

    engine.handleVoteResponse(2, new VoteResponse(0, false, true));

    assertThat(drain(engine)).isEmpty();
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);
    assertThat(engine.vote()).isEqualTo(Vote.NONE);
  }

  @Test
  void shouldNotCountALateRealVoteGrantWhilePreVoting() {
    // A grant from the timed-out election of term 1 arrives during the pre-vote for term 2.
    final Engine engine = candidateOfTerm1();
    engine.handleIoDone(1);
    engine.tick(engine.nextDeadlineNanos());
    drain(engine);

    engine.handleVoteResponse(2, new VoteResponse(1, true, false));

    assertThat(drain(engine)).isEmpty();
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);
    assertThat(engine.vote()).isEqualTo(new Vote(1, 1, false));
  }

  @Test
  void shouldStepDownOnARealVoteResponseWithAHigherTermWhilePreVoting() {
    // §5.1: any response with a higher term, even a grant of an election this node did not run.
    final Engine engine = fresh(1, THREE);
    engine.tick(engine.nextDeadlineNanos());
    drain(engine);

    engine.handleVoteResponse(2, new VoteResponse(1, true, false));

    assertThat(drain(engine)).containsExactly(new Command.SaveVote(new Vote(1, 0, false), 1));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
  }

  private static Engine candidateOfTerm1() {
    final Engine engine = fresh(1, THREE);
    engine.tick(engine.nextDeadlineNanos());
    engine.handleVoteResponse(2, new VoteResponse(0, true, true));
    drain(engine);
    return engine;
  }

  @Test
  void shouldWaitForItsOwnVoteToBeDurableBeforeBecomingLeader() {
    // §5.2 + thesis §3.8: the candidate's own vote counts only once it is saved.
    final Engine engine = candidateOfTerm1();

    engine.handleVoteResponse(2, new VoteResponse(1, true, false));

    assertThat(drain(engine)).isEmpty();
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);

    engine.handleIoDone(1);

    // §5.4.2: the new leader appends a blank entry of its term and replicates it (probe mode).
    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(List.of(blank(1, 2)), 2),
            new Command.SendAppend(2, 1, FIRST, 2, 3, 0, 0),
            new Command.SendAppend(3, 1, FIRST, 2, 3, 0, 0));
    assertThat(engine.state()).isEqualTo(ServerState.LEADER);
    assertThat(engine.leaderId()).isEqualTo(1);
    assertThat(engine.vote()).isEqualTo(new Vote(1, 1, true));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(1, 2));
    assertThat(engine.flushedLogId()).isEqualTo(FIRST);
    assertThat(engine.committed()).isEqualTo(LogId.ZERO);
    assertThat(engine.replication()).isEqualTo(Map.of(2L, 0L, 3L, 0L));
  }

  @Test
  void shouldBecomeLeaderOnTheQuorumGrantWhenItsVoteIsAlreadyDurable() {
    final Engine engine = candidateOfTerm1();
    engine.handleIoDone(1);
    assertThat(drain(engine)).isEmpty();
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);

    engine.handleVoteResponse(3, new VoteResponse(1, true, false));

    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(List.of(blank(1, 2)), 2),
            new Command.SendAppend(2, 1, FIRST, 2, 3, 0, 0),
            new Command.SendAppend(3, 1, FIRST, 2, 3, 0, 0));
    assertThat(engine.state()).isEqualTo(ServerState.LEADER);
    assertThat(engine.nextDeadlineNanos()).isLessThan(Long.MAX_VALUE);
  }

  @Test
  void shouldNotCountAGrantFromANonMember() {
    final Engine engine = candidateOfTerm1();
    engine.handleIoDone(1);

    engine.handleVoteResponse(9, new VoteResponse(1, true, false));

    assertThat(drain(engine)).isEmpty();
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);
  }

  @Test
  void shouldNotCountAGrantOfAnotherTerm() {
    final Engine engine = candidateOfTerm1();
    engine.handleIoDone(1);

    engine.handleVoteResponse(2, new VoteResponse(0, true, false));

    assertThat(drain(engine)).isEmpty();
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);
  }

  @Test
  void shouldElectItselfInASingleNodeCluster() {
    // §5.2: a candidate wins with votes from a majority — here just its own, once durable.
    final Engine engine = fresh(1, members(1));

    engine.tick(engine.nextDeadlineNanos());

    assertThat(drain(engine)).containsExactly(new Command.SaveVote(new Vote(1, 1, false), 1));
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);

    engine.handleIoDone(1);

    assertThat(drain(engine)).containsExactly(new Command.AppendEntries(List.of(blank(1, 2)), 2));
    assertThat(engine.state()).isEqualTo(ServerState.LEADER);
    assertThat(engine.committed()).isEqualTo(LogId.ZERO);
    assertThat(engine.replication()).isEmpty();

    engine.handleIoDone(2);

    assertThat(drain(engine))
        .containsExactly(new Command.SaveCommitted(LogId.of(1, 2)), new Command.Apply(LogId.of(1, 2)));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(1, 2));
  }

  @Test
  void shouldStartANewElectionWithAHigherTermAfterASplitVote() {
    // §5.2: "If many followers become candidates at the same time, votes could be split ... each
    // candidate will time out and start a new election by incrementing its term".
    final Config noPreVote = Engines.configBuilder().preVote(false).build();
    final Engine engine = node(1, THREE).config(noPreVote).build();
    engine.tick(engine.nextDeadlineNanos());
    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(1, 1, false), 1),
            new Command.SendVote(2, new VoteRequest(1, 1, FIRST, false), 1),
            new Command.SendVote(3, new VoteRequest(1, 1, FIRST, false), 1));
    engine.handleIoDone(1);
    engine.handleVoteResponse(2, new VoteResponse(1, false, false));
    engine.handleVoteResponse(3, new VoteResponse(1, false, false));
    assertThat(drain(engine)).isEmpty();
    final long deadline = engine.nextDeadlineNanos();

    engine.tick(deadline);

    final VoteRequest again = new VoteRequest(2, 1, FIRST, false);
    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(2, 1, false), 2),
            new Command.SendVote(2, again, 2),
            new Command.SendVote(3, again, 2));
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);
    assertThat(engine.vote()).isEqualTo(new Vote(2, 1, false));
    assertThat(engine.nextDeadlineNanos()).isBetween(deadline + ELECTION_MIN, deadline + ELECTION_MAX - 1);
  }

  @Test
  void shouldGoBackToPreVoteWhenAnElectionTimesOutWithPreVoteOn() {
    final Engine engine = candidateOfTerm1();
    engine.handleIoDone(1);

    engine.tick(engine.nextDeadlineNanos());

    // Pre-vote for term 2: no new term, no vote saved.
    final VoteRequest pre = new VoteRequest(2, 1, FIRST, true);
    assertThat(drain(engine))
        .containsExactly(new Command.SendVote(2, pre, 0), new Command.SendVote(3, pre, 0));
    assertThat(engine.vote()).isEqualTo(new Vote(1, 1, false));
    assertThat(engine.ioSeq()).isEqualTo(1);
  }

  @Test
  void shouldStepDownAndSaveTheTermOnAVoteResponseWithAHigherTerm() {
    // §5.1: "If a server discovers that its current term is out of date, it ... reverts to
    // follower state" and saves the new term.
    final Engine engine = candidateOfTerm1();

    engine.handleVoteResponse(2, new VoteResponse(5, false, false));

    assertThat(drain(engine)).containsExactly(new Command.SaveVote(new Vote(5, 0, false), 2));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.vote()).isEqualTo(new Vote(5, 0, false));
    assertThat(engine.leaderId()).isZero();
  }

  @Test
  void shouldStepDownOnARefusedPreVoteWithAHigherTerm() {
    final Engine engine = fresh(1, THREE);
    engine.tick(engine.nextDeadlineNanos());
    drain(engine);

    engine.handleVoteResponse(3, new VoteResponse(4, false, true));

    assertThat(drain(engine)).containsExactly(new Command.SaveVote(new Vote(4, 0, false), 1));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.vote()).isEqualTo(new Vote(4, 0, false));
  }

  @Test
  void shouldStepDownAsCandidateOnAnAppendFromALeaderOfTheSameTerm() {
    // §5.2: "If the AppendEntries RPC is from a leader whose term is at least as large as the
    // candidate's current term, then the candidate ... returns to follower state."
    final Engine engine = candidateOfTerm1();

    engine.handleAppendRequest(2, Engines.append(1, 2, FIRST, 0), "r");

    assertThat(drain(engine))
        .containsExactly(new Command.Reply("r", AppendResponse.success(1, 1), 1));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.leaderId()).isEqualTo(2);
    // Recording the known leader of the same term needs no IO.
    assertThat(engine.vote()).isEqualTo(new Vote(1, 2, true));
  }

  @Test
  void shouldElectALeaderWhoseLogHasEntriesOfEarlierTerms() {
    final Engine engine = node(1, THREE).log(normal(1, 2), normal(2, 3)).buildLeader(3, false);

    assertThat(engine.lastLogId()).isEqualTo(LogId.of(3, 4));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(2, 3));
    completeIo(engine);
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(3, 4));
    assertThat(drain(engine)).isEmpty();
  }
}
