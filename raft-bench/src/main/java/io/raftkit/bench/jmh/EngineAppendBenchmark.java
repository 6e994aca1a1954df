package io.raftkit.bench.jmh;

import io.raftkit.api.Config;
import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.Membership;
import io.raftkit.api.ServerState;
import io.raftkit.api.Vote;
import io.raftkit.api.message.AppendResponse;
import io.raftkit.api.message.VoteResponse;
import io.raftkit.engine.core.Command;
import io.raftkit.engine.core.Engine;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The engine's hot path without threads or IO: one append round through the pure core of a
 * 3-node leader. Each invocation does 1 or 64 × {@link Engine#handleClientWrite}, one
 * {@link Engine#endBatch()}, drains the commands, reports the leader's log write durable ({@link
 * Engine#handleIoDone}), acknowledges the append from both followers ({@link
 * Engine#handleAppendResponse}) and the resulting apply ({@link Engine#handleApplied}). Scores
 * are client writes per second.
 *
 * <p>A fresh leader per iteration keeps the log tracker (4 bytes an entry) from growing across
 * iterations.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
public class EngineAppendBenchmark {

  private static final long TERM = 2;

  private Engine leader;
  private byte[] payload;
  private final List<Command> commands = new ArrayList<>();
  private final long[] sentTo = new long[4];
  private final long[] epochOf = new long[4];

  /** Builds a fresh leader of term 2 with followers 2 and 3 in pipeline mode. */
  @Setup(Level.Iteration)
  public void setUp() {
    payload = new byte[128];
    new SplittableRandom(7).nextBytes(payload);
    final Membership members =
        Membership.ofVoters(Map.of(1L, "node1", 2L, "node2", 3L, "node3"));
    final Config config = Config.builder().maxInflightAppends(8).build();
    leader = new Engine(1, config, new SplittableRandom(1), new Vote(TERM - 1, 0, false), LogId.ZERO, LogId.ZERO,
        LogId.ZERO);
    leader.recoverEntry(Entry.membership(LogId.of(0, 1), members));
    leader.start(0);
    leader.tick(leader.nextDeadlineNanos());
    leader.handleVoteResponse(2, new VoteResponse(TERM - 1, true, true));
    leader.handleVoteResponse(3, new VoteResponse(TERM - 1, true, true));
    leader.handleVoteResponse(2, new VoteResponse(TERM, true, false));
    leader.handleVoteResponse(3, new VoteResponse(TERM, true, false));
    leader.handleIoDone(leader.ioSeq());
    if (leader.state() != ServerState.LEADER) {
      throw new IllegalStateException("setup did not make node 1 leader: " + leader.state());
    }
    // Acknowledge the blank entry so both followers switch to pipeline mode.
    commands.clear();
    leader.drainCommands(commands);
    ackAll(null);
  }

  /** Checks that the rounds really committed: otherwise the score would measure a stalled leader. */
  @TearDown(Level.Iteration)
  public void checkCommitted() {
    if (leader.committed().index() != leader.lastLogId().index()
        || leader.lastApplied().index() != leader.lastLogId().index()) {
      throw new IllegalStateException("leader stalled: last=" + leader.lastLogId() + " committed="
          + leader.committed() + " applied=" + leader.lastApplied() + " replication=" + leader.replication());
    }
  }

  /**
   * One append round of a single write (the 1-client case).
   *
   * @param bh sink for the results
   */
  @Benchmark
  public void appendRound1(final Blackhole bh) {
    appendRound(1, bh);
  }

  /**
   * One append round of 64 writes (what one engine-thread pass drains under load); the score is
   * per write.
   *
   * @param bh sink for the results
   */
  @Benchmark
  @OperationsPerInvocation(64)
  public void appendRound64(final Blackhole bh) {
    appendRound(64, bh);
  }

  private void appendRound(final int batch, final Blackhole bh) {
    for (int i = 0; i < batch; i++) {
      bh.consume(leader.handleClientWrite(payload));
    }
    leader.endBatch();
    leader.drainCommands(commands);
    ackAll(bh);
  }

  /** Completes the IO, acknowledges every append sent, applies what committed; drains. */
  private void ackAll(final Blackhole bh) {
    long ioSeq = 0;
    LogId applyTo = null;
    sentTo[2] = -1;
    sentTo[3] = -1;
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < commands.size(); i++) {
        final Command c = commands.get(i);
        if (c instanceof Command.AppendEntries a) {
          ioSeq = Math.max(ioSeq, a.ioSeq());
        } else if (c instanceof Command.SendAppend s && s.toIndex() > s.fromIndex()) {
          final int t = (int) s.target();
          sentTo[t] = Math.max(sentTo[t], s.toIndex() - 1);
          epochOf[t] = s.epoch();
        } else if (c instanceof Command.Apply ap) {
          applyTo = ap.upTo();
        }
      }
      commands.clear();
      if (round == 0) {
        if (ioSeq > 0) {
          leader.handleIoDone(ioSeq);
        }
        for (int t = 2; t <= 3; t++) {
          if (sentTo[t] >= 0) {
            leader.handleAppendResponse(t, AppendResponse.success(TERM, sentTo[t]), epochOf[t]);
          }
        }
        leader.drainCommands(commands);
      }
    }
    if (applyTo != null) {
      leader.handleApplied(applyTo);
    }
    if (bh != null) {
      bh.consume(applyTo);
    }
  }
}
