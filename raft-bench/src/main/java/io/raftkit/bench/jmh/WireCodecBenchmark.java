package io.raftkit.bench.jmh;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.message.AppendRequest;
import io.raftkit.wire.EncodedFrame;
import io.raftkit.wire.WireCodec;
import io.raftkit.wire.WireFormatException;
import io.raftkit.wire.WireFrame;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The wire codec on the replication hot path: an append request of 64 entries of 128 bytes,
 * encoded into a reused direct buffer (as a transport writes it) and decoded back. Scores are
 * per request (64 entries).
 *
 * <p>These run the codec as shipped, with raft-wire's hand-written append codec; {@link
 * WireCodecGeneratedBenchmark} runs the same methods through the generated protobuf classes, so
 * {@code jmh WireCodec} shows both.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class WireCodecBenchmark {

  private WireFrame frame;
  private byte[] encoded;
  private ByteBuffer direct;

  /** Builds the request and its encoding. */
  @Setup
  public void setUp() {
    final SplittableRandom random = new SplittableRandom(3);
    final List<Entry> entries = new ArrayList<>(64);
    for (int i = 0; i < 64; i++) {
      final byte[] payload = new byte[128];
      random.nextBytes(payload);
      entries.add(Entry.normal(LogId.of(5, 1_000_001 + i), payload));
    }
    frame = new WireFrame.Request(42, new AppendRequest(5, 1, LogId.of(5, 1_000_000), entries, 999_999));
    encoded = WireCodec.encodeToArray(frame);
    direct = ByteBuffer.allocateDirect(encoded.length * 2);
  }

  /**
   * Encodes the request into a reused direct buffer.
   *
   * @return the bytes written
   */
  @Benchmark
  public int encode() {
    direct.clear();
    final EncodedFrame e = WireCodec.encode(frame);
    e.writeTo(direct);
    return direct.position();
  }

  /**
   * Encodes the request into a reused direct buffer and decodes it from there, as the netty
   * transport does on the leader and on the follower.
   *
   * @return the frame
   * @throws WireFormatException never: the bytes are valid
   */
  @Benchmark
  public WireFrame encodeAndDecode() throws WireFormatException {
    direct.clear();
    WireCodec.encode(frame).writeTo(direct);
    direct.flip();
    return WireCodec.decode(direct);
  }

  /**
   * Decodes the request from an array.
   *
   * @return the frame
   * @throws WireFormatException never: the bytes are valid
   */
  @Benchmark
  public WireFrame decode() throws WireFormatException {
    return WireCodec.decode(encoded);
  }
}
