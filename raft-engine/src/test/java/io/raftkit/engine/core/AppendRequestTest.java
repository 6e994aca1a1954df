package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ELECTION_MAX;
import static io.raftkit.engine.core.Engines.ELECTION_MIN;
import static io.raftkit.engine.core.Engines.append;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static io.raftkit.engine.core.Engines.normal;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.api.message.AppendResponse;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link Engine#handleAppendRequest}: AppendEntries on the follower's side (§5.1, §5.3). */
class AppendRequestTest {
  private static final Membership THREE = members(1, 2, 3);
  private static final LogId FIRST = LogId.of(0, 1);

  @Test
  void shouldRejectAnAppendWithAStaleTerm() {
    // §5.1 / Figure 2 AppendEntries: "Reply false if term < currentTerm".
    final Engine engine = node(2, THREE).vote(new Vote(5, 0, false)).build();
    final long deadline = engine.nextDeadlineNanos();

    engine.handleAppendRequest(1, append(4, 1, FIRST, 0, normal(4, 2)), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", AppendResponse.conflict(5, 0), 0));
    assertThat(engine.lastLogId()).isEqualTo(FIRST);
    assertThat(engine.leaderId()).isZero();
    assertThat(engine.vote()).isEqualTo(new Vote(5, 0, false));
    // A stale leader does not hold off this node's election.
    assertThat(engine.nextDeadlineNanos()).isEqualTo(deadline);
  }

  @Test
  void shouldAdoptAHigherTermAndItsLeaderDurably() {
    // §5.1: a higher term is adopted and saved; the sender is the term's leader.
    final Engine engine = node(2, THREE).vote(new Vote(1, 3, false)).build();

    engine.handleAppendRequest(1, append(4, 1, FIRST, 0), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(4, 1, true), 1),
            new Command.Reply("r", AppendResponse.success(4, 1), 1));
    assertThat(engine.vote()).isEqualTo(new Vote(4, 1, true));
    assertThat(engine.leaderId()).isEqualTo(1);
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
  }

  @Test
  void shouldResetTheElectionTimerOnAnAppendFromTheLeader() {
    // §5.2: followers remain followers as long as they receive valid RPCs from a leader.
    final Engine engine = node(2, THREE).vote(new Vote(1, 1, true)).build();
    final long now = engine.nextDeadlineNanos() - 1;
    engine.tick(now);

    engine.handleAppendRequest(1, append(1, 1, FIRST, 0), "r");

    assertThat(engine.nextDeadlineNanos()).isBetween(now + ELECTION_MIN, now + ELECTION_MAX - 1);
  }

  @Test
  void shouldRejectAnAppendWhosePrevLogIdIsMissingWithTheNextIndexAsHint() {
    // §5.3: "Reply false if log doesn't contain an entry at prevLogIndex"; the hint is the
    // follower's last index + 1, so the leader jumps back at once.
    final Engine engine = node(2, THREE).vote(new Vote(1, 1, true)).log(normal(1, 2), normal(1, 3)).build();

    engine.handleAppendRequest(1, append(1, 1, LogId.of(1, 5), 0, normal(1, 6)), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", AppendResponse.conflict(1, 4), 0));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(1, 3));
    assertThat(engine.leaderId()).isEqualTo(1);
  }

  @Test
  void shouldRejectAPrevLogIdTermMismatchWithTheFirstIndexOfTheConflictingTerm() {
    // §5.3: "... whose term matches prevLogTerm"; fast back-off (end of §5.3): the follower
    // names the first index of its conflicting term, so the leader skips that term at once.
    final Engine engine =
        node(2, THREE)
            .vote(new Vote(3, 1, true))
            .log(normal(1, 2), normal(2, 3), normal(2, 4), normal(2, 5))
            .build();

    engine.handleAppendRequest(1, append(3, 1, LogId.of(3, 5), 0, normal(3, 6)), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", AppendResponse.conflict(3, 3), 0));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(2, 5));
  }

  @Test
  void shouldNeverHintBelowTheCommitIndex() {
    final Engine engine =
        node(2, THREE)
            .vote(new Vote(3, 1, true))
            .log(normal(2, 2), normal(2, 3), normal(2, 4))
            .committedHint(LogId.of(2, 3))
            .build();

    engine.handleAppendRequest(1, append(3, 1, LogId.of(3, 4), 0), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", AppendResponse.conflict(3, 4), 0));
  }

  @Test
  void shouldTruncateTheConflictingSuffixThenAppend() {
    // §5.3: "If an existing entry conflicts with a new one (same index but different terms),
    // delete the existing entry and all that follow it"; "Append any new entries not already in
    // the log". The success reply waits for the truncation and the append to be durable.
    final Engine engine =
        node(2, THREE).vote(new Vote(3, 1, true)).log(normal(1, 2), normal(2, 3), normal(2, 4)).build();

    final Entry e3 = normal(3, 3);
    final Entry e4 = normal(3, 4);
    final Entry e5 = normal(3, 5);
    engine.handleAppendRequest(1, append(3, 1, LogId.of(1, 2), 0, e3, e4, e5), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.TruncateLog(3, 1),
            new Command.AppendEntries(List.of(e3, e4, e5), 2),
            new Command.Reply("r", AppendResponse.success(3, 5), 2));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(3, 5));
    // Only the prefix the truncation kept is still known durable.
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(1, 2));

    engine.handleIoDone(1);
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(1, 2));
    engine.handleIoDone(2);
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(3, 5));
    assertThat(drain(engine)).isEmpty();
  }

  @Test
  void shouldKeepMatchingEntriesAndTruncateOnlyFromTheFirstConflict() {
    final Engine engine =
        node(2, THREE).vote(new Vote(3, 1, true)).log(normal(1, 2), normal(2, 3), normal(2, 4)).build();

    engine.handleAppendRequest(1, append(3, 1, FIRST, 0, normal(1, 2), normal(2, 3), normal(3, 4)), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.TruncateLog(4, 1),
            new Command.AppendEntries(List.of(normal(3, 4)), 2),
            new Command.Reply("r", AppendResponse.success(3, 4), 2));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(2, 3));
  }

  @Test
  void shouldNotTruncateEntriesBeyondAnOlderShorterRequest() {
    // §5.3: truncate only on a conflict: a delayed request holding a prefix of what the follower
    // already has changes nothing, and it acknowledges only what it carried.
    final Engine engine =
        node(2, THREE).vote(new Vote(1, 1, true)).log(normal(1, 2), normal(1, 3), normal(1, 4)).build();

    engine.handleAppendRequest(1, append(1, 1, FIRST, 0, normal(1, 2)), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", AppendResponse.success(1, 2), 0));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(1, 4));
  }

  @Test
  void shouldAcceptADuplicateAppendIdempotently() {
    // §5.3: AppendEntries is idempotent; a retransmission only gets its reply.
    final Engine engine = node(2, THREE).vote(new Vote(1, 1, true)).build();
    final AppendRequest req = append(1, 1, FIRST, 0, normal(1, 2), normal(1, 3));
    engine.handleAppendRequest(1, req, "r1");
    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(List.of(normal(1, 2), normal(1, 3)), 1),
            new Command.Reply("r1", AppendResponse.success(1, 3), 1));

    engine.handleAppendRequest(1, req, "r2");

    // Still awaits the append: the first copy may not be durable yet.
    assertThat(drain(engine)).containsExactly(new Command.Reply("r2", AppendResponse.success(1, 3), 1));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(1, 3));
  }

  @Test
  void shouldMakeTheSuccessReplyAwaitTheLatestIo() {
    final Engine engine = node(2, THREE).vote(new Vote(1, 1, true)).build();
    engine.handleAppendRequest(1, append(1, 1, FIRST, 0, normal(1, 2)), "r1");
    drain(engine);

    engine.handleAppendRequest(1, append(1, 1, LogId.of(1, 2), 0, normal(1, 3)), "r2");

    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(List.of(normal(1, 3)), 2),
            new Command.Reply("r2", AppendResponse.success(1, 3), 2));
  }

  @Test
  void shouldCommitUpToTheLastNewEntryAndApplyOnlyWhatIsDurable() {
    // §5.3 / Figure 2: "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index
    // of last new entry)". Entries are applied only once they are durable here too.
    final Engine engine = node(2, THREE).vote(new Vote(1, 1, true)).log(normal(1, 2)).build();

    engine.handleAppendRequest(1, append(1, 1, LogId.of(1, 2), 5, normal(1, 3)), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(List.of(normal(1, 3)), 1),
            new Command.SaveCommitted(LogId.of(1, 2)),
            new Command.Apply(LogId.of(1, 2)),
            new Command.Reply("r", AppendResponse.success(1, 3), 1));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 3));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(1, 2));

    engine.handleIoDone(1);

    assertThat(drain(engine))
        .containsExactly(new Command.SaveCommitted(LogId.of(1, 3)), new Command.Apply(LogId.of(1, 3)));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(1, 3));
  }

  @Test
  void shouldCommitOnAHeartbeatOnlyUpToItsPrevLogId() {
    // The entries after prevLogId are not known to match the leader's log.
    final Engine engine =
        node(2, THREE).vote(new Vote(2, 1, true)).log(normal(1, 2), normal(1, 3), normal(1, 4)).build();

    engine.handleAppendRequest(1, append(2, 1, LogId.of(1, 2), 9), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveCommitted(LogId.of(1, 2)),
            new Command.Apply(LogId.of(1, 2)),
            new Command.Reply("r", AppendResponse.success(2, 2), 0));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
  }

  @Test
  void shouldNotMoveTheCommitIndexBackwards() {
    final Engine engine =
        node(2, THREE)
            .vote(new Vote(1, 1, true))
            .log(normal(1, 2), normal(1, 3))
            .committedHint(LogId.of(1, 3))
            .build();

    engine.handleAppendRequest(1, append(1, 1, LogId.of(1, 2), 2), "r");

    assertThat(drain(engine)).containsExactly(new Command.Reply("r", AppendResponse.success(1, 2), 0));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 3));
  }

  @Test
  void shouldFailWhenAnAppendWouldTruncateACommittedEntry() {
    // §5.4 (Leader Completeness / State Machine Safety): a committed entry is never replaced; a
    // leader asking for that is a safety violation and the node must stop.
    final Engine engine =
        node(2, THREE)
            .vote(new Vote(2, 1, true))
            .log(normal(1, 2), normal(2, 3), normal(2, 4))
            .committedHint(LogId.of(2, 3))
            .build();

    assertThatThrownBy(() -> engine.handleAppendRequest(1, append(3, 1, LogId.of(1, 2), 0, normal(3, 3)), "r"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("committed");
  }

  @Test
  void shouldFailOnAnAppendFromAnotherLeaderOfItsOwnTerm() {
    // §5.2 Election Safety: at most one leader per term.
    final Engine engine = node(1, THREE).buildLeader(2);

    assertThatThrownBy(() -> engine.handleAppendRequest(2, append(2, 2, FIRST, 0), "r"))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void shouldStepDownAsLeaderOnAnAppendWithAHigherTerm() {
    // §5.1: a leader that sees a higher term reverts to follower and saves the term.
    final Engine engine = node(1, THREE).buildLeader(2);
    final long seq = engine.ioSeq();

    engine.handleAppendRequest(3, append(3, 3, LogId.of(2, 2), 0), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(3, 3, true), seq + 1),
            new Command.Reply("r", AppendResponse.success(3, 2), seq + 1));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.leaderId()).isEqualTo(3);
    assertThat(engine.replication()).isEmpty();
  }

  @Test
  void shouldLearnItsMembershipFromTheLeaderWhenUninitialized() {
    final Engine engine =
        new Engine(
            2,
            Engines.config(),
            new SplittableRandom(1),
            Vote.NONE,
            LogId.ZERO,
            LogId.ZERO,
            LogId.ZERO);
    engine.start(0);
    assertThat(engine.state()).isEqualTo(ServerState.LEARNER);
    assertThat(engine.nextDeadlineNanos()).isEqualTo(Long.MAX_VALUE);

    final Entry membership = Engines.membershipEntry(THREE);
    engine.handleAppendRequest(1, append(1, 1, LogId.ZERO, 0, membership), "r");

    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveVote(new Vote(1, 1, true), 1),
            new Command.AppendEntries(List.of(membership), 2),
            new Command.Reply("r", AppendResponse.success(1, 1), 2));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.effectiveMembership().membership()).isEqualTo(THREE);
    assertThat(engine.nextDeadlineNanos()).isLessThan(Long.MAX_VALUE);
  }
}
