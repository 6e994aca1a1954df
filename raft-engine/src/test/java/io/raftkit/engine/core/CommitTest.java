package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.address;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static io.raftkit.engine.core.Engines.normal;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Config;
import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.Vote;
import io.raftkit.api.message.AppendResponse;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** When the leader commits (§5.3, §5.4.2) and applies. */
class CommitTest {
  private static final Membership THREE = members(1, 2, 3);

  /** Leader 1 of term 1 whose followers acked the blank (1,2): committed 2, pipeline mode. */
  private static Engine leaderWithCommittedBlank() {
    final Engine engine = node(1, THREE).buildLeader(1);
    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.handleAppendResponse(3, ack(1, 2), 0);
    drain(engine);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
    return engine;
  }

  @Test
  void shouldNotCommitAnEntryOfAnEarlierTermByCountingReplicas() {
    // §5.4.2 / Figure 8: "Raft never commits log entries from previous terms by counting
    // replicas. Only log entries from the leader's current term are committed by counting
    // replicas; once an entry from the current term has been committed in this way, then all
    // prior entries are committed indirectly".
    final Config oneEntry = Engines.configBuilder().maxEntriesPerAppend(1).build();
    final Engine engine =
        node(1, THREE).config(oneEntry).log(normal(2, 2)).buildLeader(4); // blank (4,3), durable
    engine.handleAppendResponse(2, AppendResponse.conflict(4, 2), 0);
    assertThat(drain(engine)).containsExactly(new Command.SendAppend(2, 4, LogId.of(0, 1), 2, 3, 0, 1));

    // Index 2 (term 2) is now on a majority (leader + node 2) — and must not be committed.
    engine.handleAppendResponse(2, ack(4, 2), 1);

    assertThat(drain(engine)).containsExactly(new Command.SendAppend(2, 4, LogId.of(2, 2), 3, 4, 0, 1));
    assertThat(engine.replication()).isEqualTo(Map.of(2L, 2L, 3L, 0L));
    assertThat(engine.committed()).isEqualTo(LogId.ZERO);

    // The term-4 blank reaches the majority: it commits, and index 2 with it.
    engine.handleAppendResponse(2, ack(4, 3), 1);

    assertThat(drain(engine))
        .containsExactly(
            new Command.SaveCommitted(LogId.of(4, 3)),
            new Command.Apply(LogId.of(4, 3)),
            new Command.SendAppend(2, 4, LogId.of(4, 3), 4, 4, 3, -1));
    assertThat(engine.committed()).isEqualTo(LogId.of(4, 3));
  }

  @Test
  void shouldCountItsOwnEntryOnlyOnceItIsDurable() {
    // §5.3/§5.4 with durability: "a majority of the servers" must have *stored* the entry; the
    // leader's own copy counts only once its append is synced.
    final Engine engine = leaderWithCommittedBlank();
    assertThat(engine.handleClientWrite(new byte[] {7})).isEqualTo(LogId.of(1, 3));
    final long seq = engine.ioSeq();
    engine.endBatch();
    drain(engine);

    engine.handleAppendResponse(2, ack(1, 3), 0);

    // Node 2 and the leader hold index 3, but the leader's copy is not durable yet.
    assertThat(drain(engine)).isEmpty();
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(1, 2));

    engine.handleIoDone(seq);

    assertThat(drain(engine))
        .containsExactly(new Command.SaveCommitted(LogId.of(1, 3)), new Command.Apply(LogId.of(1, 3)));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 3));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(1, 3));
  }

  @Test
  void shouldCommitOnAMajorityOfFollowersBeforeItsOwnSyncButApplyOnlyWhatItHasDurable() {
    // A majority of followers storing the entry is a majority: the leader need not have synced.
    // It applies only what its own log has durable, though.
    final Engine engine = leaderWithCommittedBlank();
    engine.handleClientWrite(new byte[] {7});
    final long seq = engine.ioSeq();
    engine.endBatch();
    drain(engine);
    engine.handleAppendResponse(2, ack(1, 3), 0);
    assertThat(drain(engine)).isEmpty();

    engine.handleAppendResponse(3, ack(1, 3), 0);

    // The commit hint is saved with the apply: only for what is durable here too.
    assertThat(drain(engine))
        .containsExactly(new Command.SendAppend(3, 1, LogId.of(1, 3), 4, 4, 3, -1));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 3));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(1, 2));

    engine.handleIoDone(seq);

    assertThat(drain(engine))
        .containsExactly(new Command.SaveCommitted(LogId.of(1, 3)), new Command.Apply(LogId.of(1, 3)));
  }

  @Test
  void shouldCommitAWriteInASingleNodeClusterOnlyOnceItIsDurable() {
    final Engine engine = node(1, members(1)).buildLeader(1);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));

    final LogId id = engine.handleClientWrite(new byte[] {1, 2});
    engine.endBatch();

    assertThat(id).isEqualTo(LogId.of(1, 3));
    assertThat(drain(engine))
        .containsExactly(
            new Command.AppendEntries(List.of(Entry.normal(id, new byte[] {1, 2})), 3));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));

    engine.handleIoDone(3);

    assertThat(drain(engine))
        .containsExactly(new Command.SaveCommitted(LogId.of(1, 3)), new Command.Apply(LogId.of(1, 3)));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 3));
  }

  @Test
  void shouldNeedAMajorityOfBothVoterSetsWhileJoint() {
    // §6: during joint consensus, "agreement (for elections and entry commitment) requires
    // separate majorities from both the old and new configurations".
    final TreeMap<Long, String> nodes = new TreeMap<>();
    for (long id = 1; id <= 5; id++) {
      nodes.put(id, address(id));
    }
    final Membership joint = new Membership(List.of(Set.of(1L, 2L, 3L), Set.of(1L, 4L, 5L)), nodes);
    final Engine engine = node(1, joint).buildLeader(1);

    engine.handleAppendResponse(2, ack(1, 2), 0);
    engine.handleAppendResponse(3, ack(1, 2), 0);

    // All of the old voter set, but only the leader of the new one.
    assertThat(drain(engine)).isEmpty();
    assertThat(engine.committed()).isEqualTo(LogId.ZERO);

    engine.handleAppendResponse(4, ack(1, 2), 0);

    final List<Command> out = drain(engine);
    assertThat(out)
        .startsWith(new Command.SaveCommitted(LogId.of(1, 2)), new Command.Apply(LogId.of(1, 2)));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
    // The joint config it inherited is committed now: the leader finishes the change with C(new).
    assertThat(engine.effectiveMembership().logId()).isEqualTo(LogId.of(1, 3));
    assertThat(engine.effectiveMembership().membership().configs()).containsExactly(Set.of(1L, 4L, 5L));
  }

  @Test
  void shouldApplyCommittedEntriesOnRestart() {
    // The commit hint saved with SaveCommitted lets a restarted node apply at once.
    final Engine engine = restarted(LogId.of(1, 3), LogId.of(0, 1), normal(1, 2), normal(1, 3), normal(1, 4));

    assertThat(drain(engine))
        .containsExactly(new Command.SaveCommitted(LogId.of(1, 3)), new Command.Apply(LogId.of(1, 3)));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 3));
    assertThat(engine.flushedLogId()).isEqualTo(LogId.of(1, 4));
  }

  private static Engine restarted(
      final LogId committedHint, final LogId lastApplied, final Entry... log) {
    final Engine engine =
        new Engine(
            1,
            Engines.config(),
            new SplittableRandom(1),
            Vote.NONE,
            LogId.ZERO,
            committedHint,
            lastApplied);
    engine.recoverEntry(Engines.membershipEntry(THREE));
    for (final Entry e : log) {
      engine.recoverEntry(e);
    }
    engine.start(0);
    return engine;
  }

  @Test
  void shouldNotTrustACommitHintBeyondTheRecoveredLog() {
    // The hint (1,9) was saved before entries up to 9 were durable. Whether (1,2) is the entry
    // that was committed at index 2 cannot be told: fall back to what was applied.
    final Engine engine = restarted(LogId.of(1, 9), LogId.of(0, 1), normal(1, 2));

    assertThat(engine.committed()).isEqualTo(LogId.of(0, 1));
    assertThat(drain(engine)).isEmpty();
  }

  @Test
  void shouldNotApplyAnUncommittedEntryLeftByACrashAfterTheCommitHintWasSaved() {
    // Found by RaftSimulationTest (seed 126 with -Draftkit.sim.crashRate=0.08
    // -Draftkit.sim.dropRate=0.3, before the fix in Engine.start): a follower holding (1,3) from an
    // old leader is told by the leader of term 2 to replace it with (2,3), and that index 3 is
    // committed. SaveCommitted(2-3) runs at once; the truncation and the append are
    // still being synced when the node crashes. On restart its log holds (1,3) again — an entry
    // that was never committed, and that must not be applied (§5.4.3 State Machine Safety).
    final Engine engine = restarted(LogId.of(2, 3), LogId.ZERO, normal(1, 2), normal(1, 3));

    assertThat(engine.committed()).isEqualTo(LogId.ZERO);
    assertThat(drain(engine)).isEmpty();
  }

  @Test
  void shouldTrustACommitHintForAnEntryTheLogHolds() {
    final Engine engine = restarted(LogId.of(2, 3), LogId.ZERO, normal(1, 2), normal(2, 3), normal(2, 4));

    assertThat(engine.committed()).isEqualTo(LogId.of(2, 3));
    assertThat(drain(engine))
        .containsExactly(new Command.SaveCommitted(LogId.of(2, 3)), new Command.Apply(LogId.of(2, 3)));
  }
}
