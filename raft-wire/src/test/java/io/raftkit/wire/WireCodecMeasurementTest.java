package io.raftkit.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkit.api.Entry;
import io.raftkit.api.LogId;
import io.raftkit.api.message.AppendRequest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A measurement, not a test (a stand-in until the JMH benchmark exists): encode into a direct
 * buffer plus decode of an append with 64 entries of 128 B, one line per second so warm-up shows.
 * Runs only with {@code -Draftkit.measure=true}; asserts nothing about speed.
 */
@EnabledIfSystemProperty(named = "raftkit.measure", matches = "true")
class WireCodecMeasurementTest {

  @Test
  void measureAppendEncodeDecode() throws Exception {
    final List<Entry> entries = new ArrayList<>();
    for (int i = 1; i <= 64; i++) {
      entries.add(Entry.normal(LogId.of(3, 100 + i), new byte[128]));
    }
    final WireFrame frame = new WireFrame.Request(7, new AppendRequest(3, 1, LogId.of(3, 100), entries, 99));
    final ByteBuffer buffer = ByteBuffer.allocateDirect(64 << 10);
    final List<Long> perSecond = new ArrayList<>();
    long count = 0;
    long last = 0;
    long size = 0;
    long nextMark = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    while (perSecond.size() < 12) {
      buffer.clear();
      final EncodedFrame encoded = WireCodec.encode(frame);
      encoded.writeTo(buffer);
      buffer.flip();
      final WireFrame decoded = WireCodec.decode(buffer);
      size = encoded.size();
      if (decoded.correlationId() != 7) {
        throw new AssertionError("bad round trip");
      }
      count++;
      if ((count & 255) == 0 && System.nanoTime() - nextMark >= 0) {
        perSecond.add(count - last);
        last = count;
        nextMark += TimeUnit.SECONDS.toNanos(1);
      }
    }
    final double mean = perSecond.subList(6, 12).stream().mapToLong(Long::longValue).average().orElse(0);
    System.out.printf("codec append(64 x 128 B, frame=%d B) encode+decode per second: timeline=%s -> after 6 s"
        + " warm-up mean=%.0f/s (%.1f us each)%n", size, perSecond, mean, 1e6 / mean);
    assertThat(count).isPositive();
  }
}
