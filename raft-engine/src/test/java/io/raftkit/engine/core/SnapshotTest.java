package io.raftkit.engine.core;

import static io.raftkit.engine.core.Engines.ack;
import static io.raftkit.engine.core.Engines.append;
import static io.raftkit.engine.core.Engines.completeIo;
import static io.raftkit.engine.core.Engines.drain;
import static io.raftkit.engine.core.Engines.members;
import static io.raftkit.engine.core.Engines.node;
import static io.raftkit.engine.core.Engines.normal;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkit.api.Config;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.SnapshotMeta;
import io.raftkit.api.SnapshotPolicy;
import io.raftkit.api.StoredMembership;
import io.raftkit.api.error.InvalidRequestException;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.InstallSnapshotRequest;
import io.raftkit.api.message.InstallSnapshotResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Snapshots and log compaction (§7): policy, purge, streaming to followers, install. */
class SnapshotTest {
  private static final Membership ONE = members(1);
  private static final Membership THREE = members(1, 2, 3);

  private static Config policy(final long every, final long keep) {
    return Engines.configBuilder()
        .snapshotPolicy(SnapshotPolicy.logsSinceLast(every))
        .maxInSnapshotLogToKeep(keep)
        .build();
  }

  private static SnapshotMeta meta(final LogId last, final Membership membership) {
    return new SnapshotMeta(last, new StoredMembership(LogId.of(0, 1), membership), "s-" + last.index());
  }

  /** A single-node leader of term 1 (log: membership, blank) that wrote and applied 4 commands. */
  private static Engine soleLeaderWithFourWrites(final Config config) {
    final Engine engine = node(1, ONE).config(config).buildLeader(1);
    for (int i = 0; i < 4; i++) {
      engine.handleClientWrite(new byte[] {(byte) i});
    }
    engine.endBatch();
    completeIo(engine);
    drain(engine);
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 6));
    return engine;
  }

  @Test
  void shouldBuildASnapshotByPolicyAndPurgeBehindItKeepingTheConfiguredEntries() {
    final Engine engine = soleLeaderWithFourWrites(policy(5, 2));

    engine.handleApplied(LogId.of(1, 4));
    assertThat(drain(engine)).as("4 applied < 5").isEmpty();
    engine.handleApplied(LogId.of(1, 6));
    assertThat(drain(engine)).containsExactly(new Command.BuildSnapshot());
    engine.handleClientWrite(new byte[] {9});
    engine.handleApplied(LogId.of(1, 6));
    assertThat(drain(engine)).as("no second build while one runs").noneMatch(c -> c instanceof Command.BuildSnapshot);

    engine.handleSnapshotBuilt(meta(LogId.of(1, 6), ONE));

    assertThat(drain(engine)).containsExactly(new Command.PurgeLog(LogId.of(1, 4)));
    assertThat(engine.snapshotLogId()).isEqualTo(LogId.of(1, 6));
    assertThat(engine.purgedLogId()).isEqualTo(LogId.of(1, 4));
    assertThat(engine.effectiveMembership().membership()).isEqualTo(ONE);
  }

  @Test
  void shouldBuildOnTriggerAndBuildAgainForATriggerThatCameDuringABuild() {
    final Engine engine = soleLeaderWithFourWrites(Engines.configBuilder().snapshotPolicy(SnapshotPolicy.NEVER)
        .maxInSnapshotLogToKeep(0).build());
    engine.handleApplied(LogId.of(1, 5));
    assertThat(drain(engine)).as("policy never").isEmpty();

    engine.handleTriggerSnapshot("t1");
    assertThat(drain(engine)).containsExactly(new Command.BuildSnapshot());
    engine.handleApplied(LogId.of(1, 6));
    engine.handleTriggerSnapshot("t2");
    assertThat(drain(engine)).as("t2 waits for a build that sees index 6").isEmpty();

    final SnapshotMeta first = meta(LogId.of(1, 5), ONE);
    engine.handleSnapshotBuilt(first);
    assertThat(drain(engine)).containsExactly(
        new Command.Complete("t1", first), new Command.PurgeLog(LogId.of(1, 5)), new Command.BuildSnapshot());

    final SnapshotMeta second = meta(LogId.of(1, 6), ONE);
    engine.handleSnapshotBuilt(second);
    assertThat(drain(engine)).containsExactly(new Command.Complete("t2", second), new Command.PurgeLog(LogId.of(1, 6)));

    engine.handleTriggerSnapshot("t3");
    assertThat(drain(engine)).as("nothing new applied").containsExactly(new Command.Complete("t3", second));
  }

  @Test
  void shouldRefuseAPurgeBeyondTheLatestSnapshot() {
    final Engine engine = soleLeaderWithFourWrites(Engines.configBuilder().snapshotPolicy(SnapshotPolicy.NEVER)
        .maxInSnapshotLogToKeep(10).build());
    engine.handleApplied(LogId.of(1, 6));
    assertThatThrownBy(() -> engine.handlePurgeLog(1))
        .isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("purgeLog(upTo=1)")
        .hasMessageContaining("latest snapshot");
    engine.handleTriggerSnapshot("t");
    drain(engine);
    engine.handleSnapshotBuilt(meta(LogId.of(1, 6), ONE));
    assertThat(drain(engine)).as("keeps 10 > 6 entries").containsExactly(new Command.Complete("t", meta(LogId.of(1, 6), ONE)));

    engine.handlePurgeLog(3);

    assertThat(drain(engine)).containsExactly(new Command.PurgeLog(LogId.of(1, 3)));
    assertThatThrownBy(() -> engine.handlePurgeLog(7)).isInstanceOf(InvalidRequestException.class);
    assertThatThrownBy(() -> engine.handlePurgeLog(-1)).isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("upTo must be >= 0");
  }

  @Test
  void shouldStopTheSnapshotPolicyWhenTheStateMachineCannotBuildSnapshots() {
    final Engine engine = soleLeaderWithFourWrites(policy(2, 0));
    engine.handleApplied(LogId.of(1, 3));
    assertThat(drain(engine)).containsExactly(new Command.BuildSnapshot());

    engine.handleSnapshotFailed(new InvalidRequestException("no snapshots here"), true);
    engine.handleApplied(LogId.of(1, 6));

    assertThat(drain(engine)).isEmpty();
    engine.handleTriggerSnapshot("t");
    assertThat(((Command.Fail) drain(engine).get(0)).error()).hasMessageContaining("does not build snapshots");
  }

  /** Leader 1 of THREE in term 1, log 1..6 committed by node 2, snapshot at 6, purged up to 6. */
  private static Engine leaderWithPurgedLog() {
    final Engine engine = node(1, THREE).config(Engines.configBuilder().snapshotPolicy(SnapshotPolicy.NEVER)
        .maxInSnapshotLogToKeep(0).build()).buildLeader(1);
    for (int i = 0; i < 4; i++) {
      engine.handleClientWrite(new byte[] {(byte) i});
    }
    engine.endBatch();
    completeIo(engine);
    engine.handleAppendResponse(2, ack(1, 6), 0);
    engine.handleApplied(LogId.of(1, 6));
    engine.handleTriggerSnapshot("t");
    drain(engine);
    engine.handleSnapshotBuilt(meta(LogId.of(1, 6), THREE));
    drain(engine);
    assertThat(engine.purgedLogId()).isEqualTo(LogId.of(1, 6));
    return engine;
  }

  @Test
  void shouldStreamTheSnapshotToAFollowerThatNeedsPurgedEntriesThenResumeAppendsAfterIt() {
    final Engine engine = leaderWithPurgedLog();

    // Node 3 answers its first append: it has nothing after index 1.
    engine.handleAppendResponse(3, AppendResponse.conflict(1, 2), 0);
    assertThat(drain(engine)).containsExactly(new Command.SendSnapshot(3, 1));

    // Heartbeats go on (reads, quorum check), but no appends while the snapshot streams.
    engine.handleTriggerHeartbeat();
    drain(engine);
    engine.handleAppendResponse(3, AppendResponse.conflict(1, 2), -2);
    engine.endBatch();
    assertThat(drain(engine)).noneMatch(c -> c instanceof Command.SendAppend a && a.target() == 3 && a.epoch() >= 0);

    engine.handleSnapshotSent(3, 1, LogId.of(1, 6));

    assertThat(engine.replication()).containsEntry(3L, 6L);
    engine.handleClientWrite(new byte[] {7});
    engine.endBatch();
    assertThat(drain(engine)).anyMatch(c -> c instanceof Command.SendAppend a && a.target() == 3
        && a.prevLogId().equals(LogId.of(1, 6)) && a.fromIndex() == 7);
  }

  @Test
  void shouldRetryStreamingAfterAFailedAttemptOnceTheBackoffIsOver() {
    final Engine engine = leaderWithPurgedLog();
    engine.handleAppendResponse(3, AppendResponse.conflict(1, 2), 0);
    drain(engine);

    engine.handleSnapshotSendFailed(3, 1, 0);
    engine.endBatch();
    assertThat(drain(engine)).noneMatch(c -> c instanceof Command.SendSnapshot);

    engine.tick(engine.nextDeadlineNanos() + Engines.HEARTBEAT);
    assertThat(drain(engine)).contains(new Command.SendSnapshot(3, 1));
  }

  @Test
  void shouldStepDownWhenTheFollowerAnswersASnapshotWithAHigherTerm() {
    final Engine engine = leaderWithPurgedLog();
    engine.handleAppendResponse(3, AppendResponse.conflict(1, 2), 0);
    drain(engine);

    engine.handleSnapshotSendFailed(3, 1, 5);

    assertThat(engine.state()).isEqualTo(io.raftkit.api.ServerState.FOLLOWER);
    assertThat(engine.vote().term()).isEqualTo(5);
  }

  /** Follower 2 of leader 1, term 1: log 1..3 (entries 2 and 3 of term 1), committed 1. */
  private static Engine followerWithUncommittedTail() {
    final Engine engine = node(2, THREE).build();
    engine.handleAppendRequest(1, append(1, 1, LogId.of(0, 1), 1, normal(1, 2), normal(1, 3)), "a");
    completeIo(engine);
    drain(engine);
    return engine;
  }

  @Test
  void shouldInstallASnapshotThatConflictsWithTheLogDroppingTheUncommittedTail() {
    final Engine engine = followerWithUncommittedTail();
    final Membership newer = members(1, 2, 3, 4);
    final SnapshotMeta meta = new SnapshotMeta(LogId.of(2, 9), new StoredMembership(LogId.of(2, 7), newer), "s9");
    final InstallSnapshotRequest chunk = new InstallSnapshotRequest(2, 3, meta, 0, new byte[] {1}, true);

    engine.handleInstallSnapshotRequest(3, chunk, "c");
    assertThat(drain(engine)).contains(new Command.ReceiveSnapshotChunk(chunk, "c"));
    assertThat(engine.leaderId()).isEqualTo(3);

    engine.handleSnapshotReceived(meta, "c");

    final List<Command> out = drain(engine);
    assertThat(out).containsExactly(
        new Command.TruncateLog(2, engine.ioSeq() - 1),
        new Command.InstallSnapshot(meta, engine.ioSeq()),
        new Command.Reply("c", new InstallSnapshotResponse(2, 0, true), 0));
    assertThat(engine.committed()).isEqualTo(LogId.of(2, 9));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(2, 9));
    assertThat(engine.purgedLogId()).isEqualTo(LogId.of(2, 9));
    assertThat(engine.snapshotLogId()).isEqualTo(LogId.of(2, 9));
    assertThat(engine.effectiveMembership().membership()).isEqualTo(newer);

    // Replication goes on after the snapshot.
    completeIo(engine);
    engine.handleAppendRequest(3, append(2, 3, LogId.of(2, 9), 10, normal(2, 10)), "a2");
    assertThat(drain(engine)).anyMatch(c -> c instanceof Command.AppendEntries a && a.entries().get(0).index() == 10);
  }

  @Test
  void shouldKeepTheLogAfterTheSnapshotWhenTheLogHoldsItsLastEntry() {
    final Engine engine = followerWithUncommittedTail();
    final SnapshotMeta meta = new SnapshotMeta(LogId.of(1, 2), new StoredMembership(LogId.of(0, 1), THREE), "s2");
    engine.handleInstallSnapshotRequest(1, new InstallSnapshotRequest(1, 1, meta, 0, new byte[0], true), "c");
    drain(engine);

    engine.handleSnapshotReceived(meta, "c");

    assertThat(drain(engine)).noneMatch(c -> c instanceof Command.TruncateLog);
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(1, 3));
    assertThat(engine.purgedLogId()).isEqualTo(LogId.of(1, 2));
    assertThat(engine.committed()).isEqualTo(LogId.of(1, 2));
  }

  @Test
  void shouldNotInstallASnapshotItHasCommittedPastAlready() {
    final Engine engine = followerWithUncommittedTail();
    final SnapshotMeta meta = new SnapshotMeta(LogId.of(0, 1), new StoredMembership(LogId.of(0, 1), THREE), "s1");

    engine.handleSnapshotReceived(meta, "c");

    assertThat(drain(engine)).containsExactly(new Command.Reply("c", new InstallSnapshotResponse(1, 0, true), 0));
    assertThat(engine.lastLogId()).isEqualTo(LogId.of(1, 3));
  }

  @Test
  void shouldRefuseASnapshotChunkOfAnOlderTerm() {
    final Engine engine = followerWithUncommittedTail();
    final SnapshotMeta meta = new SnapshotMeta(LogId.of(0, 1), new StoredMembership(LogId.of(0, 1), THREE), "s1");
    engine.handleAppendRequest(3, append(4, 3, LogId.of(1, 3), 1), "a");
    drain(engine);

    engine.handleInstallSnapshotRequest(1, new InstallSnapshotRequest(1, 1, meta, 0, new byte[0], true), "c");

    assertThat(drain(engine)).containsExactly(new Command.Reply("c", new InstallSnapshotResponse(4, 0, false), 0));
  }
}
