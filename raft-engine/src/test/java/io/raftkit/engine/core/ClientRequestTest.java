package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.address;
import static io.raftkit.engine.core.Engines.append;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.fresh;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.membershipEntry;
import static io.raftkit.engine.core.Engines.node;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.Vote;
import io.raftkit.api.error.AlreadyInitializedException;
import io.raftkit.api.error.NotAMemberException;
import io.raftkit.api.error.NotLeaderException;
import io.raftkit.api.message.VoteRequest;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link Engine#handleClientWrite}, {@link Engine#endBatch} and {@link Engine#handleInitialize}. */
class ClientRequestTest {
  private static final Membership THREE = members(1, 2, 3);
  private static final byte[] A = {'a'};
  private static final byte[] B = {'b'};
  private static final byte[] C = {'c'};

  private static Engine uninitialized(final long id) {
    final Engine engine =
        new Engine(id, Engines.config(), new SplittableRandom(7), Vote.NONE, LogId.ZERO, LogId.ZERO, LogId.ZERO);
    engine.start(0);
    return engine;
  }

  @Test
  void shouldRefuseAWriteOnAFollowerNamingTheLeaderAndItsAddress() {
    // §5.1: "If a client contacts a follower, the follower redirects it to the leader."
    final Engine engine = node(2, THREE).vote(new Vote(1, 3, true)).build();
    engine.handleAppendRequest(3, append(1, 3, LogId.of(0, 1), 0), "hb");
    drain(engine);

    assertThatThrownBy(() -> engine.handleClientWrite(A))
        .isInstanceOfSatisfying(
            NotLeaderException.class,
            e -> {
              assertThat(e.nodeId()).isEqualTo(2);
              assertThat(e.leaderId()).isEqualTo(3);
              assertThat(e.leaderAddress()).isEqualTo(address(3));
            });
    assertThat(drain(engine)).isEmpty();
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(0, 1));
  }

  @Test
  void shouldRefuseAWriteWithoutAKnownLeader() {
    final Engine engine = fresh(2, THREE);

    assertThatThrownBy(() -> engine.handleClientWrite(A))
        .isInstanceOfSatisfying(
            NotLeaderException.class,
            e -> {
              assertThat(e.leaderId()).isZero();
              assertThat(e.leaderAddress()).isNull();
            });
  }

  @Test
  void shouldRefuseAWriteOnACandidate() {
    final Engine engine = fresh(2, THREE);
    engine.tick(engine.nextDeadlineNanos());

    assertThatThrownBy(() -> engine.handleClientWrite(A)).isInstanceOf(NotLeaderException.class);
  }

  @Test
  void shouldMergeTheWritesOfABatchIntoOneAppendAndOneRequestPerFollower() {
    final Engine engine = node(1, THREE).buildLeader(1);
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.handleAppendResponse(3, ack(1, 2), 0);
    drain(engine);

    assertThat(engine.handleClientWrite(A)).isEqualTo(LogId.of(1, 3));
    assertThat(engine.handleClientWrite(B)).isEqualTo(LogId.of(1, 4));
    assertThat(engine.handleClientWrite(C)).isEqualTo(LogId.of(1, 5));

    final List<Entry> written =
        List.of(Entry.normal(LogId.of(1, 3), A), Entry.normal(LogId.of(1, 4), B), Entry.normal(LogId.of(1, 5), C));
    assertThat(engine.pendingCommands()).containsExactly(new Command.AppendEntries(written, 3));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(1, 5));

    engine.endBatch();

    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(written, 3),
            new Command.SendAppend(2, 1, LogId.of(1, 2), 3, 6, 2, 0),
            new Command.SendAppend(3, 1, LogId.of(1, 2), 3, 6, 2, 0));
    assertThat(engine.ioSeq()).isEqualTo(3);
  }

  @Test
  void shouldStartANewAppendAfterTheCommandsWereDrained() {
    final Engine engine = node(1, members(1)).buildLeader(1);
    engine.handleClientWrite(A);
    final List<Command> first = drain(engine);

    engine.handleClientWrite(B);

    assertThat(first).containsExactly(new Command.AppendEntries(List.of(Entry.normal(LogId.of(1, 3), A)), 3));
    assertThat(drain(engine))
        .containsExactly(new Command.AppendEntries(List.of(Entry.normal(LogId.of(1, 4), B)), 4));
  }

  @Test
  void shouldSendNothingAtTheEndOfABatchWithoutWrites() {
    final Engine engine = node(1, THREE).buildLeader(1);

    engine.endBatch();

    assertThat(drain(engine)).isEmpty();
  }

  @Test
  void shouldInitializeWithTheMembershipAsTheFirstEntryAndReplyOnceItIsDurable() {
    final Engine engine = uninitialized(1);
    assertThat(engine.state()).isEqualTo(ServerState.LEARNER);

    engine.handleInitialize(THREE, "init");

    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(List.of(membershipEntry(THREE)), 1), new Command.Reply("init", null, 1));
    assertThat(engine.state()).isEqualTo(ServerState.FOLLOWER);
    assertThat(engine.effectiveMembership()).isEqualTo(new StoredMembership(LogId.of(0, 1), THREE));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(0, 1));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.ZERO);
    // It campaigns at once.
    assertThat(engine.nextDeadlineNanos()).isZero();
    engine.tick(0);
    final VoteRequest pre = new VoteRequest(1, 1, LogId.of(0, 1), true);
    assertThat(drain(engine)).containsExactly(new Command.SendVote(2, pre, 0), new Command.SendVote(3, pre, 0));
  }

  @Test
  void shouldInitializeASingleNodeClusterAndElectItself() {
    final Engine engine = uninitialized(1);
    engine.handleInitialize(members(1), "init");
    drain(engine);

    engine.tick(0);
    assertThat(drain(engine)).containsExactly(new Command.SaveVote(new Vote(1, 1, false), 2));
    engine.handleIoDone(2);
    assertThat(drain(engine)).containsExactly(new Command.AppendEntries(List.of(Engines.blank(1, 2)), 3));
    engine.handleIoDone(3);

    assertThat(drain(engine))
        .containsExactly(new Command.SaveCommitted(LogId.of(1, 2)), new Command.Apply(LogId.of(1, 2)));
    assertThat(engine.state()).isEqualTo(ServerState.LEADER);
  }

  @Test
  void shouldRefuseToInitializeTwice() {
    final Engine engine = uninitialized(1);
    engine.handleInitialize(THREE, "init");
    drain(engine);

    assertThatThrownBy(() -> engine.handleInitialize(THREE, "again"))
        .isInstanceOf(AlreadyInitializedException.class);
    assertThat(drain(engine)).isEmpty();
  }

  @Test
  void shouldRefuseToInitializeANodeWithARecoveredLog() {
    final Engine engine = fresh(1, THREE);

    assertThatThrownBy(() -> engine.handleInitialize(THREE, "init"))
        .isInstanceOf(AlreadyInitializedException.class);
    assertThat(drain(engine)).isEmpty();
  }

  @Test
  void shouldRefuseToInitializeANodeThatIsNotAVoter() {
    final Engine engine = uninitialized(1);

    assertThatThrownBy(() -> engine.handleInitialize(members(2, 3), "init"))
        .isInstanceOf(NotAMemberException.class);
    assertThat(drain(engine)).isEmpty();
    assertThat(engine.state()).isEqualTo(ServerState.LEARNER);
    assertThat(engine.lastLogId()).isEqualTo(LogId.ZERO);
  }
}
