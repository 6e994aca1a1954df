package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.address;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.ChangeMembers;
import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.Vote;
import io.raftkit.api.error.InvalidRequestException;
import io.raftkit.api.message.VoteRequest;
import io.raftkit.api.message.VoteResponse;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Joint consensus (§6 of the Raft paper) and learners. */
class MembershipChangeTest {
  private static final Membership THREE = members(1, 2, 3);

  /** A leader of term 1 whose blank (index 2) is committed. */
  private static Engine leader() {
    final Engine engine = node(1, THREE).buildLeader(1);
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.handleAppendResponse(3, ack(1, 2), 0);
    engine.endBatch();
    drain(engine);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
    return engine;
  }

  private static Membership membershipIn(final List<Command> out) {
    for (final Command c : out) {
      if (c instanceof Command.AppendEntries a) {
        for (final Entry e : a.entries()) {
          if (e.kind() == io.raftkit.api.EntryKind.MEMBERSHIP) {
            return e.membership();
          }
        }
      }
    }
    throw new AssertionError("no membership entry in " + out);
  }

  @Test
  void shouldRefuseAChangeBeforeTheLeaderCommittedAnEntryOfItsTerm() {
    // Ongaro's single-server-change bug: no configuration entry before the term's first commit.
    final Engine engine = node(1, THREE).buildLeader(1);
    assertThatThrownBy(() -> engine.handleChangeMembership(
            new ChangeMembers.AddVoters(Map.of(4L, address(4))), true, "c"))
        .isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("has not yet committed an entry of its term 1");
  }

  @Test
  void shouldCommitTheJointConfigWithAMajorityOfBothThenAppendAndCommitTheNewOne() {
    final Engine engine = leader();
    engine.handleChangeMembership(new ChangeMembers.AddVoters(Map.of(4L, address(4))), true, "c");
    engine.handleIoDone(engine.ioSeq());
    engine.endBatch();
    final List<Command> out = drain(engine);
    final Membership joint = membershipIn(out);
    assertThat(joint.configs()).containsExactly(Set.of(1L, 2L, 3L), Set.of(1L, 2L, 3L, 4L));
    assertThat(engine.effectiveMembership().logId()).isEqualTo(LogId.of(1, 3));
    assertThat(engine.replication()).containsKey(4L);

    // A majority of the old set (1, 2) is not enough: the new set {1,2,3,4} needs three.
    engine.handleAppendResponse(2, ack(1, 3), 0);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
    engine.handleAppendResponse(4, ack(1, 3), 0);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 3));
    // The joint config is committed: the leader appends C(new) at once.
    final StoredMembership next = engine.effectiveMembership();
    assertThat(next.logId()).isEqualTo(LogId.of(1, 4));
    assertThat(next.membership().isJoint()).isFalse();
    assertThat(next.membership().voterIds()).containsExactly(1L, 2L, 3L, 4L);
    drain(engine);

    engine.handleIoDone(engine.ioSeq());
    engine.handleAppendResponse(2, ack(1, 4), 1);
    assertThat(engine.committed()).as("2 of the 4 new voters").isEqualTo(LogId.of(1, 3));
    engine.handleAppendResponse(4, ack(1, 4), 1);
    final List<Command> done = drain(engine);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 4));
    assertThat(done).contains(new Command.Complete("c", LogId.of(1, 4)));
  }

  @Test
  void shouldFailAChangeWithOutcomeUnknownWhenTheLeaderStepsDownAfterAppendingIt() {
    // The next leader may commit the joint entry and finish the change (the chaos run saw it):
    // "not the leader" would invite a retry that removes a second voter or is refused.
    final Engine engine = leader();
    engine.handleChangeMembership(new ChangeMembers.RemoveVoters(Set.of(3L)), true, "c");
    engine.endBatch();
    drain(engine);

    engine.handleAppendRequest(2, Engines.append(2, 2, LogId.of(1, 2), 2), "r");

    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    final List<Command> out = drain(engine);
    assertThat(out).filteredOn(c -> c instanceof Command.Fail f && f.replyTo().equals("c"))
        .singleElement()
        .satisfies(c -> assertThat(((Command.Fail) c).error())
            .isInstanceOf(io.raftkit.api.error.OutcomeUnknownException.class)
            .hasMessageContaining("may still commit under the next leader"));
  }

  @Test
  void shouldRefuseASecondChangeWhileOneIsInProgressAndAChangeLeavingNoVoter() {
    final Engine engine = leader();
    assertThatThrownBy(() -> engine.handleChangeMembership(new ChangeMembers.ReplaceAllVoters(Set.of()), true, "x"))
        .isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("would leave no voter");
    assertThatThrownBy(() -> engine.handleChangeMembership(new ChangeMembers.AddVoterIds(Set.of(9L)), true, "x"))
        .isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("node 9 is not a member");

    engine.handleChangeMembership(new ChangeMembers.AddNodes(Map.of(4L, address(4))), true, "c1");
    assertThatThrownBy(() -> engine.handleChangeMembership(
            new ChangeMembers.AddNodes(Map.of(5L, address(5))), true, "c2"))
        .isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("a membership change is in progress");
  }

  @Test
  void shouldAddALearnerWithOneEntryAndReplicateToIt() {
    final Engine engine = leader();
    engine.handleChangeMembership(new ChangeMembers.AddNodes(Map.of(4L, address(4))), true, "c");
    engine.endBatch();
    final List<Command> out = drain(engine);
    final Membership m = membershipIn(out);
    assertThat(m.isJoint()).isFalse();
    assertThat(m.learnerIds()).containsExactly(4L);
    assertThat(out).anyMatch(c -> c instanceof Command.SendAppend s && s.target() == 4);

    engine.handleIoDone(engine.ioSeq());
    engine.handleAppendResponse(2, ack(1, 3), 0);
    assertThat(drain(engine)).contains(new Command.Complete("c", LogId.of(1, 3)));
  }

  @Test
  void shouldKeepLeadingWhileRemovingItselfThenStepDownOnceTheNewConfigCommits() {
    final Engine engine = leader();
    engine.handleChangeMembership(new ChangeMembers.RemoveVoters(Set.of(1L)), true, "c");
    engine.handleIoDone(engine.ioSeq());
    engine.handleAppendResponse(2, ack(1, 3), 0);
    engine.handleAppendResponse(3, ack(1, 3), 0);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 3));
    assertThat(engine.state()).as("still leading the joint config").isEqualTo(ServerState.LEADER);
    drain(engine);

    // C(new) = {2, 3}: committed by 2 and 3 alone; the leader no longer counts itself.
    engine.handleIoDone(engine.ioSeq());
    engine.handleAppendResponse(2, ack(1, 4), 1);
    assertThat(engine.committed()).as("one of two new voters is not a majority").isEqualTo(LogId.of(1, 3));
    drain(engine);
    engine.handleAppendResponse(3, ack(1, 4), 1);

    final List<Command> out = drain(engine);
    assertThat(out).contains(new Command.Complete("c", LogId.of(1, 4)));
    assertThat(out).as("nothing sent after stepping down in the same handler")
        .noneMatch(c -> c instanceof Command.SendAppend);
    assertThat(engine.state()).isEqualTo(ServerState.LEARNER);
    assertThat(engine.effectiveMembership().membership().learnerIds()).containsExactly(1L);
  }

  @Test
  void shouldStopReplicatingToARemovedNode() {
    final Engine engine = leader();
    engine.handleChangeMembership(new ChangeMembers.RemoveVoters(Set.of(3L)), false, "c");
    engine.handleIoDone(engine.ioSeq());
    engine.handleAppendResponse(2, ack(1, 3), 0);
    drain(engine);
    engine.handleIoDone(engine.ioSeq());
    engine.handleAppendResponse(2, ack(1, 4), 1);
    assertThat(drain(engine)).contains(new Command.Complete("c", LogId.of(1, 4)));
    assertThat(engine.replication()).containsOnlyKeys(2L);

    engine.handleClientWrite(new byte[] {1});
    engine.endBatch();
    assertThat(drain(engine)).noneMatch(c -> c instanceof Command.SendAppend s && s.target() == 3);
  }

  @Test
  void shouldLetALearnerPromotedWithoutKnowingItStillVote() {
    // Node 4 is a learner in its own log, but a new configuration it has not yet received makes
    // it a voter: it must still answer vote requests (votes are not restricted to known voters).
    final Membership withLearner = new Membership(List.of(Set.of(1L, 2L, 3L)),
        Map.of(1L, address(1), 2L, address(2), 3L, address(3), 4L, address(4)));
    final Engine learner = node(4, withLearner).build();
    assertThat(learner.state()).isEqualTo(ServerState.LEARNER);

    learner.handleVoteRequest(2, new VoteRequest(1, 2, LogId.of(0, 1), false), "v");

    assertThat(learner.vote()).isEqualTo(new Vote(1, 2, false));
    assertThat(drain(learner)).contains(new Command.Reply("v", new VoteResponse(1, true, false), learner.ioSeq()));
  }
  /** Node 2's log: voters {1,2,3,4}, the joint config to {1,3,4} (index 3), C(new) (index 4). */
  private static Engine leavingNode(final LogId committedHint) {
    final Membership four = members(1, 2, 3, 4);
    final Membership joint = new Membership(List.of(Set.of(1L, 2L, 3L, 4L), Set.of(1L, 3L, 4L)), four.nodes());
    final Membership next = members(1, 3, 4);
    return node(2, four)
        .vote(new Vote(1, 1, true))
        .committedHint(committedHint)
        .log(Engines.blank(1, 2), Entry.membership(LogId.of(1, 3), joint), Entry.membership(LogId.of(1, 4), next))
        .build();
  }

  @Test
  void shouldLetANodeLeavingWithTheMostUpToDateLogWinAndCommitCNewThenStepDown() {
    // Found by the simulator: C(new) = {1,3,4} reached node 2 (leaving) but not 3 and 4, and the
    // leader (1) was lost for good. 3 and 4 cannot win without node 2's vote, which their shorter
    // logs do not get: unless node 2 campaigns, no leader is ever elected although a majority of
    // both voter sets is up.
    final Engine engine = leavingNode(LogId.of(1, 3));
    assertThat(engine.state()).as("C(new) is not committed: node 2 still has its part").isEqualTo(ServerState.FOLLOWER);

    engine.tick(engine.nextDeadlineNanos());
    final List<Command> preVotes = drain(engine);
    assertThat(preVotes).filteredOn(c -> c instanceof Command.SendVote)
        .extracting(c -> ((Command.SendVote) c).target())
        .as("asks the voters of C(new)")
        .containsExactlyInAnyOrder(1L, 3L, 4L);
    engine.handleVoteResponse(3, new VoteResponse(1, true, true));
    engine.handleVoteResponse(4, new VoteResponse(1, true, true));
    assertThat(engine.state()).isEqualTo(ServerState.CANDIDATE);
    engine.handleVoteResponse(3, new VoteResponse(2, true, false));
    engine.handleVoteResponse(4, new VoteResponse(2, true, false));
    engine.handleIoDone(engine.ioSeq());
    assertThat(engine.state()).as("3 and 4 are a majority of C(new)").isEqualTo(ServerState.LEADER);
    drain(engine);

    // Its blank (2,5) commits with 3 and 4 alone, and with it C(new): then it steps down.
    engine.handleAppendResponse(3, ack(2, 5), 0);
    assertThat(engine.committed()).as("the leader does not count itself").isEqualTo(LogId.of(1, 3));
    engine.handleAppendResponse(4, ack(2, 5), 0);
    assertThat(engine.committed()).isEqualTo(LogId.of(2, 5));
    assertThat(engine.state()).isEqualTo(ServerState.LEARNER);
    engine.tick(Engines.ELECTION_MAX * 100);
    assertThat(drain(engine)).noneMatch(c -> c instanceof Command.SendVote);
  }

  @Test
  void shouldNotLetANodeCampaignOnceTheConfigWithoutItIsCommitted() {
    final Engine engine = leavingNode(LogId.of(1, 4));
    assertThat(engine.state()).isEqualTo(ServerState.LEARNER);
    engine.tick(Engines.ELECTION_MAX * 10);
    assertThat(drain(engine)).noneMatch(c -> c instanceof Command.SendVote);
  }

  @Test
  void shouldTurnALeavingFollowerIntoALearnerWhenItLearnsCNewCommitted() {
    final Engine engine = leavingNode(LogId.of(1, 3));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    engine.handleAppendRequest(3, Engines.append(2, 3, LogId.of(1, 4), 4), "r");
    engine.handleIoDone(engine.ioSeq());
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 4));
    assertThat(engine.state()).isEqualTo(ServerState.LEARNER);
  }
}
